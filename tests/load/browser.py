"""Proof under load: many real browser sessions against one nnviz server (a benchmark, not a unit test).

    python tests/load/browser.py --sessions 10 30          # concurrent users: each opens the app, picks a
                                                   # dataset and builds a model; 20% also train
    python tests/load/browser.py --soak 200                # connect → train briefly → disconnect, N times
    python tests/load/browser.py --pin --sessions 30       # the server on a core of its own, browsers on the other

It starts its own ``streamlit run app.py`` on a free local port and drives Debian's Chromium with
Playwright (one browser, one context per user). Reported: failed sessions, p50/p95 seconds from a
click to the updated page (non-training interactions), training times and queue waits, and the
server's resident memory. Only localhost is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from playwright.async_api import async_playwright, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from nnviz.bench import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    cpu_s,
    free_port,
    launch_app,
    rss_mb,
    wait_until_healthy,
)

TIMEOUT_MS = 120_000
expect.set_options(timeout=60_000)  # a loaded 2-core machine renders slowly; a miss after 60 s is a failure


def start_server(*, pin: bool) -> tuple[subprocess.Popen, str]:
    """The server; with ``pin``, it gets core 0 to itself and this script and its browsers core 1, so
    that the server is measured as if the browsers ran on other machines (with one core, not two)."""
    port = free_port()
    server, url = launch_app(port, cpus={0} if pin else None), f"http://127.0.0.1:{port}"
    if pin:
        os.sched_setaffinity(0, {1})  # inherited by Playwright's driver and every Chromium process
    wait_until_healthy(server, url)
    return server, url


class ServerTimes:
    """Times each script run as seen on the wire: from the browser sending ``rerun_script`` to the
    server's ``script_finished``.

    This leaves out the browser's own rendering, which on this machine competes with the server
    for the same two cores. Only runs inside :meth:`watch` windows are kept.
    """

    def __init__(self, page):
        self.seconds: list[float] = []
        self._sent = self._finished = None
        self._watching = False
        page.on("websocket", self._attach)

    def _attach(self, websocket) -> None:
        websocket.on("framesent", self._sent_frame)
        websocket.on("framereceived", self._received_frame)

    def _sent_frame(self, payload) -> None:
        if self._watching and self._sent is None and isinstance(payload, bytes):
            message = BackMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "rerun_script":
                self._sent = time.perf_counter()

    def _received_frame(self, payload) -> None:
        if self._watching and self._sent is not None and isinstance(payload, bytes):
            message = ForwardMsg()
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "script_finished":
                self._finished = time.perf_counter()

    def watch(self) -> None:
        self._sent = self._finished = None
        self._watching = True

    def record(self) -> None:
        """End the window: keep the time from its first rerun sent to its last run finished."""
        self._watching = False
        if self._sent is not None and self._finished is not None:
            self.seconds.append(self._finished - self._sent)


async def _timed(step_times: list[float], server_times: ServerTimes, action, expectation) -> None:
    """Run ``action`` (a click or key press) and wait for ``expectation``; record the seconds between."""
    started = time.perf_counter()
    server_times.watch()
    await action()
    await expectation()
    step_times.append(time.perf_counter() - started)
    server_times.record()


async def one_user(browser, url: str, user: int, trains: bool, result: dict) -> None:
    """Open the app, pick a dataset, build a model and maybe train, as a new user would."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    steps: list[float] = []
    server_times = ServerTimes(page)
    try:
        await page.goto(url)
        await expect(page.get_by_role("heading", name="nnviz")).to_be_visible(timeout=TIMEOUT_MS)
        nav = page.locator('[data-testid="stSidebarNav"]')
        main = page.locator('[data-testid="stMain"]')
        await _timed(
            steps,
            server_times,
            lambda: nav.get_by_role("link", name="1 · Data").click(),
            lambda: expect(page.get_by_role("heading", name="Data")).to_be_visible(),
        )
        dataset, classes = (
            ("Iris flowers (4 features, three classes)", "3 classes")
            if user % 2
            else ("Two moons (2-D, two classes)", "2 classes")
        )
        await page.get_by_role("combobox", name="Dataset", exact=True).click()
        await _timed(
            steps,
            server_times,
            lambda: page.get_by_role("listbox").get_by_role("option", name=dataset).click(),
            lambda: expect(main.get_by_text(classes, exact=True)).to_be_visible(),
        )
        await _timed(
            steps,
            server_times,
            lambda: nav.get_by_role("link", name="2 · Build").click(),
            lambda: expect(main.get_by_text("Ready to train.")).to_be_visible(),
        )
        units = page.get_by_label("Units", exact=True).first
        await units.fill("12")
        await _timed(
            steps,
            server_times,
            lambda: units.press("Enter"),
            lambda: expect(main.locator('[data-testid="stCode"]')).to_contain_text("units=12"),
        )
        if trains:
            await nav.get_by_role("link", name="3 · Train").click()
            epochs = page.get_by_label("Epochs", exact=True)
            await epochs.fill("20")
            await epochs.press("Enter")
            await expect(epochs).to_have_value("20")
            await page.wait_for_timeout(500)
            started = time.perf_counter()
            await main.get_by_role("button", name="Train", exact=True).click()
            queued = main.get_by_text(re.compile("Waiting for a free training slot"))
            done = main.get_by_text(re.compile(r"^Done: 20 epochs in"))
            saw_queue = False
            while not await done.is_visible():
                saw_queue = saw_queue or await queued.is_visible()
                await page.wait_for_timeout(100)
                if time.perf_counter() - started > TIMEOUT_MS / 1000:
                    raise TimeoutError("training did not finish")
            result["train_s"] = time.perf_counter() - started
            result["queued"] = saw_queue
        result["steps"], result["server_steps"] = steps, server_times.seconds
    except Exception as err:  # noqa: BLE001 - a failed session is a result to report
        result["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    finally:
        await context.close()


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[int(fraction * (len(sorted_values) - 1))], 2)


async def concurrent(url: str, server: subprocess.Popen, sessions: int) -> dict:
    peak = [rss_mb(server.pid)]

    async def sample_memory():
        while True:
            peak.append(rss_mb(server.pid))
            await asyncio.sleep(0.5)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        results = [{} for _ in range(sessions)]
        sampler = asyncio.create_task(sample_memory())
        started, cpu_before = time.perf_counter(), cpu_s(server.pid)
        await asyncio.gather(*(one_user(browser, url, k, k % 5 == 0, results[k]) for k in range(sessions)))
        wall, server_cpu = time.perf_counter() - started, cpu_s(server.pid) - cpu_before
        sampler.cancel()
        await browser.close()
    steps = sorted(s for r in results for s in r.get("steps", []))
    server_steps = sorted(s for r in results for s in r.get("server_steps", []))
    trainings = [r["train_s"] for r in results if "train_s" in r]
    return {
        "sessions": sessions,
        "failed": sum("error" in r for r in results),
        "errors": sorted({r["error"] for r in results if "error" in r})[:5],
        "interactions": len(steps),
        "click_to_update_p50_s": _percentile(steps, 0.5),
        "click_to_update_p95_s": _percentile(steps, 0.95),
        "server_run_p50_s": _percentile(server_steps, 0.5),
        "server_run_p95_s": _percentile(server_steps, 0.95),
        "trainings": len(trainings),
        "training_s_max": round(max(trainings), 1) if trainings else None,
        "trainings_that_queued": sum(bool(r.get("queued")) for r in results),
        "server_rss_peak_mb": round(max(peak)),
        "wall_s": round(wall, 1),
        # CPU the server used, in cores (1.0 = one core busy all the time): how much of the machine's
        # time went to nnviz rather than to the browsers.
        "server_cores_used": round(server_cpu / wall, 2),
    }


async def soak(url: str, server: subprocess.Popen, cycles: int, settle_s: float) -> dict:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )

        async def cycle() -> None:
            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(f"{url}/train")
            main = page.locator('[data-testid="stMain"]')
            epochs = page.get_by_label("Epochs", exact=True)
            await epochs.fill("3")
            await epochs.press("Enter")
            await expect(epochs).to_have_value("3")
            await page.wait_for_timeout(300)
            await main.get_by_role("button", name="Train", exact=True).click()
            await expect(main.get_by_text(re.compile(r"^Done: 3 epochs in"))).to_be_visible()
            await context.close()

        for _ in range(5):  # warm-up: TensorFlow and the page code are loaded once per process
            await cycle()
        await asyncio.sleep(settle_s)
        start_mb = rss_mb(server.pid)
        failures = 0
        started = time.perf_counter()
        for _ in range(cycles):
            try:
                await cycle()
            except Exception:  # noqa: BLE001 - counted and reported
                failures += 1
        wall = time.perf_counter() - started
        await asyncio.sleep(settle_s)  # disconnected sessions are dropped after server.disconnectedSessionTTL
        end_mb = rss_mb(server.pid)
        await browser.close()
    return {
        "cycles": cycles,
        "failed": failures,
        "wall_s": round(wall, 1),
        "rss_start_mb": round(start_mb, 1),
        "rss_end_mb": round(end_mb, 1),
        "growth_per_cycle_mb": round((end_mb - start_mb) / cycles, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[], help="concurrent users, one run each")
    parser.add_argument("--soak", type=int, default=0, help="connect → train → disconnect cycles")
    parser.add_argument(
        "--settle",
        type=float,
        default=150.0,
        help="seconds to wait before measuring memory in the soak (beyond the 120 s session TTL)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="server on core 0 alone, browsers on core 1 (a 2-core stand-in for browsers on other machines)",
    )
    args = parser.parse_args()
    server, url = start_server(pin=args.pin)
    try:
        for sessions in args.sessions:
            print(json.dumps(asyncio.run(concurrent(url, server, sessions))), flush=True)
        if args.soak:
            print(json.dumps(asyncio.run(soak(url, server, args.soak, args.settle))), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
