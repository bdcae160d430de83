"""The load test: N simulated students against one nnviz server, no browser (a benchmark, not a unit test).

    python -m tests.load --users 30 100 200       # one fresh server per figure, pinned to core 0
    python -m tests.load --users 10 --url http://127.0.0.1:8080   # an app already running (a load balancer)

For each N it starts ``streamlit run app.py`` on a free port with the server (every thread) on core 0
and Locust on core 1, opens the Train page once so that TensorFlow is loaded, then runs Locust
headless (``tests/load/locustfile.py``: users arrive over 10 s, each walks home → Data → Build →
(every fifth) Train 20 epochs → Inspect once, over Streamlit's websocket protocol). Locust's CSV and
HTML reports, the raw timings and the server's log go to ``test-artifacts/load/``; the summary table
(failures, non-training interactions p50/p95, training click → Done p50/p95/max, queue wait p50/max,
server RSS peak and CPU) is printed and kept as ``summary.md`` and ``summary.json`` there.

The small real-browser run beside it is ``python tests/load/browser.py`` (Chromium via Playwright).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from nnviz.bench import cpu_s, free_port, launch_app, rss_mb, wait_until_healthy  # noqa: E402
from tests.load import QUEUE_WAIT, TRAINING  # noqa: E402
from tests.load.protocol import StreamlitClient  # noqa: E402

OUT = REPO / "test-artifacts" / "load"
COLUMNS = (
    "users",
    "completed",
    "failures",
    "interactions",
    "non-training p50 / p95 s",
    "training click→Done p50 / p95 / max s",
    "queue wait p50 / max s",
    "server RSS peak MB",
    "server CPU (cores)",
    "Locust CPU (cores)",
    "wall s",
)


def _q(values: list[float], fraction: float) -> float | None:
    return round(float(np.quantile(values, fraction)), 2) if values else None


def summarise(
    users: int, samples: dict, peak_mb: float, cores: float, client_cores: float, wall_s: float
) -> dict:
    timings = samples["samples"]
    plain = [s for name, values in timings.items() if name not in (TRAINING, QUEUE_WAIT) for s in values]
    trainings, waits = timings.get(TRAINING, []), timings.get(QUEUE_WAIT, [])
    return {
        "users": users,
        "completed": len(samples["completed"]),
        "failures": len(samples["failures"]),
        "interactions": len(plain),
        "non_training_p50_s": _q(plain, 0.5),
        "non_training_p95_s": _q(plain, 0.95),
        "trainings": len(trainings),
        "training_p50_s": _q(trainings, 0.5),
        "training_p95_s": _q(trainings, 0.95),
        "training_max_s": _q(trainings, 1.0),
        "queue_wait_p50_s": _q(waits, 0.5),
        "queue_wait_max_s": _q(waits, 1.0),
        "server_rss_peak_mb": round(peak_mb),
        "server_cores_used": round(cores, 2),
        "locust_cores_used": round(client_cores, 2),
        "wall_s": round(wall_s, 1),
        "first_failures": samples["failures"][:5],
    }


def table_row(s: dict) -> str:
    cells = (
        s["users"],
        s["completed"],
        s["failures"],
        s["interactions"],
        f"{s['non_training_p50_s']} / {s['non_training_p95_s']}",
        f"{s['training_p50_s']} / {s['training_p95_s']} / {s['training_max_s']} ({s['trainings']} runs)",
        f"{s['queue_wait_p50_s']} / {s['queue_wait_max_s']}",
        s["server_rss_peak_mb"],
        s["server_cores_used"],
        s.get("locust_cores_used"),
        s["wall_s"],
    )
    return "| " + " | ".join(str(c) for c in cells) + " |"


def warm_up(url: str) -> None:
    """Open the Train page once: TensorFlow is imported by the first visit, as after any restart."""
    with StreamlitClient(url) as client:
        client.connect(timeout_s=120)
        client.goto("3 · Train", timeout_s=180)


def run_locust(url: str, users: int, args, label: str, pid: int | None) -> dict:
    """Locust headless with ``users`` users; the server's memory and CPU sampled meanwhile."""
    OUT.mkdir(parents=True, exist_ok=True)
    samples_file = OUT / f"{label}-samples.json"
    samples_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "locust",
        "-f", str(REPO / "tests" / "load" / "locustfile.py"),
        "--headless", "--only-summary",
        "-u", str(users), "-r", str(max(users / args.arrival_s, 0.1)),
        "-t", f"{args.max_minutes}m", "--stop-timeout", "10",
        "--host", url,
        "--csv", str(OUT / label), "--html", str(OUT / f"{label}.html"),
        "--samples-file", str(samples_file),
        "--trainer-every", str(args.trainer_every), "--epochs", str(args.epochs),
        *(["--distinct-networks"] if args.distinct_networks else []),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peak, stop = [rss_mb(pid) if pid else 0.0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak.append(rss_mb(pid))

    if pid:
        threading.Thread(target=sample, daemon=True).start()
    started, cpu_before = time.perf_counter(), cpu_s(pid) if pid else 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(OUT / f"{label}-locust.log", "w") as log:
        subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # Locust's CPU (the server is not waited for yet)
    client_cores = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / wall
    cores = (cpu_s(pid) - cpu_before) / wall if pid else float("nan")
    stop.set()
    if not samples_file.exists():
        raise RuntimeError(f"Locust wrote no samples; see {OUT / f'{label}-locust.log'}")
    return summarise(users, json.loads(samples_file.read_text()), max(peak), cores, client_cores, wall)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[30], help="simulated users, one run each")
    parser.add_argument("--url", help="an app that is already running (not started, not pinned, no RSS)")
    parser.add_argument("--no-pin", action="store_true", help="let the server and Locust share every core")
    parser.add_argument("--trainer-every", type=int, default=5, help="every k-th user trains")
    parser.add_argument(
        "--distinct-networks",
        action="store_true",
        help="every user sets its own number of units (no two train the same architecture)",
    )
    parser.add_argument("--epochs", type=int, default=20, help="epochs a training user runs")
    parser.add_argument("--arrival-s", type=float, default=10.0, help="users arrive over this many seconds")
    parser.add_argument("--max-minutes", type=int, default=20, help="a run is stopped after this long")
    parser.add_argument("--label", default="", help="file name prefix for the reports (default: users-N)")
    args = parser.parse_args(argv)
    pin = not args.no_pin and not args.url and len(os.sched_getaffinity(0)) >= 2
    results = []
    print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS), flush=True)
    for users in args.users:
        label = f"{args.label or 'users'}-{users}"
        server = None
        try:
            if args.url:
                url = args.url.rstrip("/")
            else:
                port = free_port()
                OUT.mkdir(parents=True, exist_ok=True)
                log = open(OUT / f"{label}-server.log", "w")  # noqa: SIM115 - closed with the server
                server, url = launch_app(port, log=log, cpus={0} if pin else None), f"http://127.0.0.1:{port}"
                wait_until_healthy(server, url, timeout_s=120)
                if pin:
                    os.sched_setaffinity(0, {1})  # this process and Locust, which inherits it
                warm_up(url)
            summary = run_locust(url, users, args, label, server.pid if server else None)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
                log.close()
        summary["pinned"] = pin
        results.append(summary)
        print(table_row(summary), flush=True)
        for failure in summary["first_failures"]:
            print(f"    {failure}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.label or 'summary'}.json").write_text(json.dumps(results, indent=1))
    (OUT / f"{args.label or 'summary'}.md").write_text(
        "| "
        + " | ".join(COLUMNS)
        + " |\n|"
        + "---|" * len(COLUMNS)
        + "\n"
        + "\n".join(map(table_row, results))
        + "\n"
    )
    return results


if __name__ == "__main__":
    main()
