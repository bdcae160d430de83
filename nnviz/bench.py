"""``python -m nnviz.bench``: how fast nnviz trains and responds, as ratios against plain ``model.fit``.

A benchmark, not a test: it prints a table and, with ``--json``, one JSON object on the last line.
For each case, in this one process and with the same seed, it times a plain ``model.fit`` and then
the app's engine (:class:`nnviz.training.engine.TrainingJob`) while a poller does what the Train page does
ten times a second (minus the websocket): build the loss chart and the boundary whenever they
changed and serialise them as ``st.vega_lite_chart`` does. A ratio is engine wall time / plain
``model.fit`` wall time, so below 1 is faster.

Per case it also times what the look back's "what training does inside" costs: gradient sizes, dead
ReLU units and spreads measured after every weight snapshot of the run on the probe batch
(``<case>_diagnostics_s``, and as a share of the run, ``<case>_diagnostics_share``). They are
computed from the snapshots when asked for, so the run itself is not slowed at all.

Also measured: a 150×150 decision-boundary grid for moons (``boundary_ms``), the server time of a
widget change on the Build page (``rerun_ms_p95``, AppTest after warm-up) and the time from
``streamlit run`` to the home page drawn in headless Chromium (``cold_start_s``), and the live view
as a person sees it (:mod:`nnviz.livebench`: share of 100 ms frames with both charts drawn and fresh,
curve updates per second, click → new state for Pause, Resume, Stop and Step), once on a quiet
machine (``live_*``) and once with two processes spinning on the CPU (``loaded_live_*``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nnviz.data.datasets import Dataset, load_iris_data, load_mnist, load_two_moons
from nnviz.explain.boundary import BoundaryGrid, decision_boundary, outcome_rendering
from nnviz.model.spec import LayerSpec, ModelSpec, metric_name
from nnviz.training.snapshots import WeightHistory
from nnviz.views import livecharts

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download does not work offline
# Without the networking switches Chromium keeps trying to reach Google's hosts from a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POLL_S = 0.1  # the Train page redraws at most ten times a second


@dataclass(frozen=True)
class Case:
    """One benchmark case: a dataset, a network and fit settings."""

    name: str
    dataset: Dataset
    spec: ModelSpec
    epochs: int
    batch_size: int
    validation_split: float = 0.1
    features: tuple[int, int] | None = (0, 1)
    note: str = ""


def _iris_all() -> Dataset:
    """All 150 iris flowers in one shuffled block, as the course example trains on them."""
    split = load_iris_data(test_size=0.2, random_state=0)
    X = np.concatenate([split.X_train, split.X_test])
    y = np.concatenate([split.y_train, split.y_test])
    order = np.random.default_rng(0).permutation(len(X))
    # The held-out rows stay as they are; the benchmark trains on all 150 with its own split.
    return replace(split, X_train=X[order], y_train=y[order])


def cases(*, quick: bool) -> list[Case]:
    """The three cases of the issue: the iris course example, moons with batch 1, an MNIST MLP."""
    mnist = load_mnist()
    if quick:  # a slice keeps --quick under three minutes even with the full download
        mnist = replace(mnist, X_train=mnist.X_train[:3000], y_train=mnist.y_train[:3000])
    return [
        Case(
            "iris",
            _iris_all(),
            ModelSpec(
                (4,),
                (LayerSpec("Dense", 8, "relu"), LayerSpec("Dense", 3, "softmax")),
                "sparse_categorical_crossentropy",
                "adam",
                0.001,
            ),
            epochs=60 if quick else 300,
            batch_size=32,
        ),
        Case(
            "moons",
            load_two_moons(300, noise=0.15, random_state=0),
            ModelSpec(
                (2,),
                (
                    LayerSpec("Dense", 20, "tanh"),
                    LayerSpec("Dense", 50, "relu"),
                    LayerSpec("Dense", 1, "sigmoid"),
                ),
                "binary_crossentropy",
                "adam",
                0.01,
            ),
            epochs=4 if quick else 30,
            batch_size=1,
        ),
        Case(
            "mnist",
            mnist,
            ModelSpec(
                (28, 28),
                (
                    LayerSpec("Rescaling"),
                    LayerSpec("Flatten"),
                    LayerSpec("Dense", 128, "relu"),
                    LayerSpec("Dense", 10, "softmax"),
                ),
                "sparse_categorical_crossentropy",
                "adam",
                0.001,
            ),
            epochs=2 if quick or mnist.fallback_reason is None else 10,
            batch_size=32,
            features=None,
            note=mnist.fallback_reason or mnist.source,
        ),
    ]


def _X_y(case: Case) -> tuple[np.ndarray, np.ndarray]:
    # The moons case trains on all 300 points, as the issue describes it.
    data = case.dataset
    if case.name == "moons":
        return np.concatenate([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])
    return data.X_train, data.y_train


def plain_fit(case: Case) -> tuple[float, dict[str, float]]:
    """Seconds for ``model.fit`` with the case's settings, and its last epoch's metrics."""
    from nnviz.model.build import build_model

    X, y = _X_y(case)
    model = build_model(case.spec, seed=0)
    started = time.perf_counter()
    history = model.fit(
        X,
        y,
        epochs=case.epochs,
        batch_size=case.batch_size,
        validation_split=case.validation_split,
        verbose=0,
    ).history
    return time.perf_counter() - started, {name: values[-1] for name, values in history.items()}


def engine_with_live_view(case: Case) -> tuple[float, dict[str, float], int, WeightHistory]:
    """Seconds for the engine while a poller redraws as the Train page does; also the number of
    redraws, and the weight snapshots the run kept (as the app keeps them for the look back)."""
    from nnviz.model.build import build_model
    from nnviz.training.engine import Trainer, TrainingJob

    X, y = _X_y(case)
    model = build_model(case.spec, seed=0)
    started = time.perf_counter()
    history: list[dict[str, float]] = []
    trainer = Trainer(model, X, y, batch_size=case.batch_size, validation_split=case.validation_split, seed=0)
    renderer = None
    if case.features is not None:

        def renderer(m):
            return outcome_rendering(m, dataset=case.dataset, loss=case.spec.loss, features=case.features)

    snapshots = WeightHistory()
    snapshots.add(0, model.get_weights())
    job = TrainingJob(trainer, history, renderer=renderer, snapshots=snapshots)
    job.start(case.epochs)
    redraws = _follow_like_the_page(job, case)
    return time.perf_counter() - started, history[-1], redraws, snapshots


def diagnostics_s(case: Case, snapshots: WeightHistory) -> float:
    """Seconds to measure what training did inside (gradient sizes, dead ReLUs, spreads) after every
    snapshot of a run, on the probe batch, as the look back does; the run itself does none of it."""
    from nnviz.explain.diagnostics import health_over_epochs, probe_rows
    from nnviz.model.build import build_model

    X, y = _X_y(case)
    rows = probe_rows(len(X), seed=0)
    model = build_model(case.spec)
    started = time.perf_counter()
    health_over_epochs(model, snapshots.at, snapshots.epochs, X[rows], y[rows])
    return time.perf_counter() - started


def _follow_like_the_page(job, case: Case) -> int:
    """What the Train page's live view does, minus Streamlit: redraw what changed, ten times a second
    at most, as the Vega specs and Arrow datasets ``st.vega_lite_chart`` sends."""
    drawn_epochs = drawn_rendering = -1
    redraws = 0
    metric = metric_name(case.spec.loss)
    while True:
        running = job.running
        progress = job.progress()
        if len(job.history) != drawn_epochs:
            drawn_epochs = len(job.history)
            for name in ("loss", metric):
                _as_sent(livecharts.history_panel(list(job.history), name, title=name))
            redraws += 1
        if progress.rendering_epoch != drawn_rendering and progress.rendering is not None:
            drawn_rendering = progress.rendering_epoch
            _as_sent(_outcome_chart(progress.rendering, case.dataset))
            redraws += 1
        if not running:
            return redraws
        time.sleep(POLL_S)


def _outcome_chart(rendering, dataset: Dataset) -> dict:
    if isinstance(rendering, BoundaryGrid):
        return livecharts.boundary_chart(
            rendering,
            dataset.X_train,
            dataset.y_train,
            feature_names=dataset.feature_names,
            class_names=dataset.class_names,
        )
    actual, predicted = rendering
    return livecharts.regression_chart(actual, predicted, target_name=dataset.target_name)


def _as_sent(spec: dict) -> int:
    """Bytes of ``spec`` as Streamlit sends a Vega chart: the spec as JSON, each dataset as Arrow."""
    import pyarrow as pa

    size = len(json.dumps({key: value for key, value in spec.items() if key != "datasets"}))
    for frame in spec["datasets"].values():
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(frame)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        size += sink.getvalue().size
    return size


def live_view(*, sample_s: float) -> dict[str, object]:
    """:func:`nnviz.livebench.live_view_figures` on a fresh server, quiet and then under load.

    Keys ``live_<figure>`` and ``loaded_live_<figure>``; none where Chromium is missing.
    """
    from nnviz.livebench import busy_cpu, live_view_figures

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = launch_app(port)
    results: dict[str, object] = {}
    try:
        wait_until_healthy(server, url)
        with _chromium_browser() as browser:
            if browser is None:
                return {"live_view": "not measured: no Chromium here"}
            for prefix, load in (("live_", contextlib.nullcontext()), ("loaded_live_", busy_cpu(2))):
                with load:
                    figures = live_view_figures(url, browser, sample_s=sample_s)
                results |= {prefix + key: value for key, value in figures.items()}
                print(prefix.rstrip("_"), " ".join(f"{key}={value}" for key, value in figures.items()))
    finally:
        server.terminate()
        server.wait(timeout=20)
    return results


def boundary_ms(*, repeats: int = 20) -> dict[str, float]:
    """Median milliseconds for a 150×150 moons boundary grid, and for its chart as sent to the browser."""
    from nnviz.model.build import build_model
    from nnviz.model.spec import starter_spec

    data = load_two_moons(300, noise=0.15)
    spec = starter_spec(data.input_shape, data.target)
    model = build_model(spec)
    decision_boundary(model, data.X_train, spec.loss, resolution=150)  # warm-up
    grid_times, figure_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        grid = decision_boundary(model, data.X_train, spec.loss, resolution=150)
        grid_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        _as_sent(_outcome_chart(grid, data))
        figure_times.append(time.perf_counter() - started)
    return {
        "boundary_ms": 1000 * statistics.median(grid_times),
        "boundary_figure_ms": 1000 * statistics.median(figure_times),
    }


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(
    port: int,
    *,
    log=subprocess.DEVNULL,
    cpus: set[int] | None = None,
    script: str = "app.py",
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """``streamlit run app.py`` on ``127.0.0.1:port`` (served as configured in .streamlit/config.toml).

    Args:
        cpus: run the server (every thread of it) on these CPU cores only; None for all.
        script: another Streamlit script to serve instead (a test's probe page).
        env: the server's environment; None for this process's.
    """
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        f"--server.port={port}",
        "--server.address=127.0.0.1",
    ]
    pin = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin, env=env)


def wait_until_healthy(server: subprocess.Popen, url: str, *, timeout_s: float = 60) -> None:
    """Return once ``url`` answers its health check; RuntimeError if the server exits or times out."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode} before it was healthy")
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not answer its health check within {timeout_s:.0f} s"
                ) from None
            time.sleep(0.02)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (100 per second)


def cold_start_s() -> tuple[float, str]:
    """Seconds from ``streamlit run app.py`` to the home page's title drawn in headless Chromium.

    Without Chromium, the time until the server answers its health check and serves the page.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _chromium_page() as page:  # started before the clock: the browser is the user's, not ours
        started = time.perf_counter()
        server = launch_app(port)
        try:
            wait_until_healthy(server, url)
            if page is None:
                urllib.request.urlopen(url, timeout=10).read()
                return time.perf_counter() - started, "health check and page served (no Chromium here)"
            page.goto(url)
            page.get_by_role("heading", name="nnviz").wait_for(timeout=60_000)
            return time.perf_counter() - started, "home page drawn in headless Chromium"
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def _chromium_browser():
    """A headless Chromium, or None where Debian's chromium or playwright is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        yield None
        return
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def _chromium_page():
    """A headless Chromium tab, or None where Debian's chromium or playwright is missing."""
    with _chromium_browser() as browser:
        yield None if browser is None else browser.new_page()


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="python -m nnviz.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and an MNIST slice (< 3 minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras

    results: dict[str, object] = {
        "quick": args.quick,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
    }
    results["cold_start_s"], results["cold_start_measure"] = cold_start_s()
    print(
        f"{'case':<7}{'epochs':>7}{'batch':>6}{'model.fit s':>13}{'engine s':>10}{'ratio':>7}"
        f"{'fit loss':>10}{'engine loss':>12}{'redraws':>9}{'diagnostics afterwards':>24}"
    )
    for case in cases(quick=args.quick):
        fit_s, fit_logs = plain_fit(case)
        engine_s, engine_logs, redraws, snapshots = engine_with_live_view(case)
        ratio = engine_s / fit_s
        inside_s = diagnostics_s(case, snapshots)
        results |= {
            f"{case.name}_diagnostics_s": round(inside_s, 2),
            f"{case.name}_diagnostics_share": round(inside_s / engine_s, 3),
            f"{case.name}_ratio": round(ratio, 3),
            f"{case.name}_fit_s": round(fit_s, 2),
            f"{case.name}_engine_s": round(engine_s, 2),
            f"{case.name}_epochs": case.epochs,
            f"{case.name}_fit_val_loss": round(fit_logs["val_loss"], 4),
            f"{case.name}_engine_val_loss": round(engine_logs["val_loss"], 4),
        }
        print(
            f"{case.name:<7}{case.epochs:>7}{case.batch_size:>6}{fit_s:>13.2f}{engine_s:>10.2f}{ratio:>7.3f}"
            f"{fit_logs['loss']:>10.4f}{engine_logs['loss']:>12.4f}{redraws:>9}"
            f"{inside_s:>8.2f} s inside ({len(snapshots.epochs)} snapshots)"
        )
        if case.note:
            print(f"       {case.name} data: {case.note}")
            results[f"{case.name}_data"] = case.note
    results |= {key: round(value, 1) for key, value in boundary_ms().items()}
    from nnviz.ui.timing import build_page_rerun_ms  # the one measurement that needs Streamlit itself

    results["rerun_ms_p95"] = round(build_page_rerun_ms(), 1)
    results |= live_view(sample_s=6 if args.quick else 15)
    for key in ("boundary_ms", "boundary_figure_ms", "rerun_ms_p95", "cold_start_s"):
        print(f"{key}: {results[key]:.2f}" if isinstance(results[key], float) else f"{key}: {results[key]}")
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
