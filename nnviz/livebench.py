"""The live Train view as a person sees it: sampled in headless Chromium every 100 ms.

:func:`live_view_figures` opens the Train page of a running nnviz, starts a batch-1 moons run and,
while it trains, samples the page from inside the browser (a timer in the page, so the samples are
not delayed by the test's round trips): is the loss chart drawn (a plotly plot with its curves), is
the decision boundary drawn (its image and points), is either marked stale or faded, did the browser
replace a chart's element instead of updating it, and how often the curve changed. Then it times
each control from the click to the new state on screen: Pause → "Paused", Resume → "… so far",
Stop → "Stopped", Step → "Done: 1 epoch". :func:`busy_cpu` loads the machine as a student's laptop
or a shared server would be. Used by ``python -m nnviz.bench`` and the browser tests.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CHARTS = {"history": ".st-key-train-live-history", "outcome": ".st-key-train-live-outcome"}

# One sample per chart: present, drawn (Vega views of real size with their marks), stale (Streamlit's
# data-stale on the chart or anything in it), faded (the opacity a person sees, through every
# ancestor), the identity of the views' elements (a remount gives new ones) and a signature of what
# is drawn (changes when a curve or the boundary's colours do).
_SAMPLER = """
([charts, intervalMs]) => {
  window.__nnvizSamples = [];
  window.__nnvizNodes = 0;
  const opacity = (element) => {
    let value = 1;
    for (let e = element; e && e !== document.body; e = e.parentElement) {
      value *= parseFloat(getComputedStyle(e).opacity);
    }
    return value;
  };
  const sampleChart = (selector) => {
    const box = document.querySelector(selector);
    if (!box) return {present: false, drawn: false, stale: false, faded: false, node: "", shape: ""};
    const views = [...box.querySelectorAll(".vega-embed svg.marks")];
    const sizes = views.map((v) => v.getBoundingClientRect());
    const lines = [...box.querySelectorAll(".mark-line path")].map((p) => p.getAttribute("d") || "");
    const cells = [...box.querySelectorAll(".mark-rect path")];
    const symbols = box.querySelectorAll(".mark-symbol path").length;
    const marks = lines.filter((d) => d.length > 2).length + cells.length + symbols;
    views.forEach((v) => { if (!v.__nnvizNode) v.__nnvizNode = ++window.__nnvizNodes; });
    const fills = cells.filter((c, k) => k % 97 === 0).map((c) => c.getAttribute("fill")).join("");
    const containers = [...box.querySelectorAll('[data-testid="stElementContainer"]')];
    return {
      present: true,
      drawn: views.length > 0 && sizes.every((r) => r.width > 50 && r.height > 50) && marks > 0,
      stale: box.dataset.stale === "true" || containers.some((c) => c.dataset.stale === "true"),
      faded: opacity(box) < 0.9 || containers.some((c) => opacity(c) < 0.9),
      node: views.map((v) => v.__nnvizNode).join(","),
      shape: lines.join("|").length + ":" + lines.join("|").slice(-60) + "/" + fills,
    };
  };
  window.__nnvizTimer = setInterval(() => {
    const sample = {t: performance.now()};
    for (const [name, selector] of Object.entries(charts)) sample[name] = sampleChart(selector);
    window.__nnvizSamples.push(sample);
  }, intervalMs);
}
"""


def start_sampling(page, *, interval_ms: int = 100) -> None:
    """Begin sampling the live charts of the Train page open in ``page`` (a Playwright page)."""
    page.evaluate(_SAMPLER, [CHARTS, interval_ms])


def stop_sampling(page) -> list[dict]:
    """End sampling; the samples taken, oldest first."""
    return page.evaluate("() => { clearInterval(window.__nnvizTimer); return window.__nnvizSamples; }")


def summarise(samples: list[dict]) -> dict[str, float]:
    """Figures from the samples of :func:`start_sampling`.

    Returns:
        ``samples``; ``seconds`` sampled; ``drawn_share``: share of samples in which both charts are
        drawn, not stale and not faded; ``stale_share`` and ``faded_share`` (either chart);
        ``remounts``: charts replaced by a new element; ``curve_changes_per_s``: how often the loss
        chart's curves changed; ``outcome_changes_per_s`` likewise for the boundary;
        ``longest_gap_s``: the longest spell in which a chart was not drawn-and-fresh.
    """
    if len(samples) < 2:
        raise ValueError(f"{len(samples)} samples: sample for at least a second (10 samples).")
    seconds = (samples[-1]["t"] - samples[0]["t"]) / 1000
    good = [all(s[c]["drawn"] and not s[c]["stale"] and not s[c]["faded"] for c in CHARTS) for s in samples]
    longest = gap_start = 0.0
    for sample, ok in zip(samples, good):
        if ok:
            gap_start = 0.0
        else:
            gap_start = gap_start or sample["t"]
            longest = max(longest, (sample["t"] - gap_start) / 1000 + 0.1)

    def changes(chart: str) -> int:
        shapes = [s[chart]["shape"] for s in samples if s[chart]["drawn"]]
        return sum(a != b for a, b in zip(shapes, shapes[1:]))

    nodes = {chart: {s[chart]["node"] for s in samples if s[chart]["node"]} for chart in CHARTS}  # id sets
    return {
        "samples": len(samples),
        "seconds": round(seconds, 2),
        "drawn_share": round(sum(good) / len(samples), 4),
        "stale_share": round(sum(any(s[c]["stale"] for c in CHARTS) for s in samples) / len(samples), 4),
        "faded_share": round(sum(any(s[c]["faded"] for c in CHARTS) for s in samples) / len(samples), 4),
        "remounts": sum(max(len(ids) - 1, 0) for ids in nodes.values()),
        "curve_changes_per_s": round(changes("history") / seconds, 2),
        "outcome_changes_per_s": round(changes("outcome") / seconds, 2),
        "longest_gap_s": round(longest, 2),
    }


def _seconds_until(page, click, pattern: str, *, timeout_s: float = 30) -> float:
    """Seconds from ``click()`` to a text matching ``pattern`` visible on the page."""
    target = page.locator('[data-testid="stMain"]').get_by_text(re.compile(pattern)).first
    started = time.perf_counter()
    click()
    target.wait_for(state="visible", timeout=timeout_s * 1000)
    return time.perf_counter() - started


def live_view_figures(
    url: str, browser, *, epochs: int = 1000, sample_s: float = 15.0, screenshot: Path | None = None
) -> dict[str, float]:
    """Train two moons (1,000 points, batch 1) on the Train page at ``url`` in a new context of ``browser`` and
    measure the live view and the controls.

    Args:
        url: the app's base URL.
        browser: a Playwright browser (headless Chromium).
        epochs: epochs of the run; long enough that it is still running after ``sample_s`` and the
            Pause, Resume and Stop clicks (the most a link allows; 1,000 batch-1 epochs of 800
            training points take over a minute on one idle core, so the run is stopped, not done).
        sample_s: seconds of sampling while it trains.
        screenshot: where to save a screenshot taken halfway through the sampling, if anywhere.

    Returns:
        :func:`summarise`'s figures, plus ``pause_s``, ``resume_s``, ``stop_s`` and ``step_s``: seconds
        from each click to its new state on screen.
    """
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        main = page.locator('[data-testid="stMain"]')
        page.goto(f"{url}/train?dataset=moons&points=1000&epochs={epochs}&batch=1")
        train = main.get_by_role("button", name="Train", exact=True)
        train.wait_for()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
        train.click()
        main.get_by_text(re.compile(rf"^Epoch [1-9]\d* of {epochs}\b")).first.wait_for()
        start_sampling(page)
        time.sleep(sample_s / 2)
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        time.sleep(sample_s / 2)
        figures = summarise(stop_sampling(page))
        button = lambda name: main.get_by_role("button", name=name, exact=True)  # noqa: E731
        figures["pause_s"] = _seconds_until(page, button("Pause").click, r"^Paused (after|during) epoch")
        resume = main.get_by_role("button", name=re.compile(r"^Resume \("))
        figures["resume_s"] = _seconds_until(page, resume.click, r"so far( · about .* left)?$")
        figures["stop_s"] = _seconds_until(page, button("Stop").click, r"^Stopped (after|during) epoch")
        figures["step_s"] = _seconds_until(page, button("Step").click, r"^Done: 1 epoch in")
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
    finally:
        context.close()


@contextlib.contextmanager
def busy_cpu(processes: int = 2, *, seconds: float = 600) -> Iterator[None]:
    """Keep ``processes`` Python processes spinning on the CPU for the block (at most ``seconds``)."""
    spin = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    busy = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(processes)]
    try:
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()
