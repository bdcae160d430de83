"""End-to-end: click through the running app in headless Chromium, as a new user would.

Starts ``streamlit run app.py`` on a free port, then walks Start → Data (two moons) → Build (first
layer to 12 units) → Train (5 epochs) → Inspect, checking what each page must show. Full-page
screenshots of every step (and of a failure) go to ``test-artifacts/browser/``, with the server log.

Run only this with ``pytest -m browser``; deselect it with ``-m "not browser"``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from browsing import (
    SERVER_START_S,
    STEP_MS,
    full_page_screenshot,
    go,
    no_exceptions,
    playwright_api,
    served_app,
    wait_idle,
)

from nnviz.bench import cpu_s, free_port, launch_app, wait_until_healthy
from nnviz.livebench import live_view_figures

pytestmark = pytest.mark.browser


sync_api = playwright_api()
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
TRAIN_MS = 90_000  # the first Train visit imports TensorFlow, then 5 epochs
MOONS = "Two moons (2-D, two classes)"
IRIS = "Iris flowers (4 features, three classes)"
MOONS_DENSE_LAYERS = 3  # the starter network for two moons: Dense 8, Dense 8, Dense 1


@pytest.fixture(scope="module")
def app_server():
    """A fresh ``streamlit run app.py`` and its base URL; stopped when the module's tests are done."""
    with served_app(ARTIFACTS) as served:
        yield served


@pytest.fixture(scope="module")
def app_url(app_server):
    return app_server[1]


@pytest.fixture(scope="module")
def page(browser):
    """One Chromium tab, 1600 × 1000, shared by the ordered steps below."""
    tab = browser.new_page(viewport={"width": 1600, "height": 1000})
    tab.set_default_timeout(STEP_MS)
    yield tab
    tab.close()


def _screenshot(page, name: str) -> None:
    full_page_screenshot(page, ARTIFACTS / name)


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``: open it, click the option in the list."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()


def _type_number(page, label: str, value: int, *, nth: int = 0) -> None:
    field = page.get_by_label(label, exact=True).nth(nth)
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def _start_a_long_run(page) -> None:
    """On the Train page, start a run long enough to click in between (1,000 epochs of one-row
    steps) and wait until its first epoch is done."""
    main = page.locator('[data-testid="stMain"]')
    _type_number(page, "Epochs", 1000)
    _choose(page, "Batch size", "1")
    wait_idle(page)
    main.get_by_role("button", name="Train", exact=True).click()
    expect(main.get_by_text(re.compile(r"^Epoch [1-9]\d* of 1000\b.* so far"))).to_be_visible(
        timeout=TRAIN_MS
    )


def test_click_through_the_app(app_url, page):
    step = ["start"]  # the step in progress, named in the failure screenshot
    try:
        _click_through(app_url, page, step)
    except BaseException:
        _screenshot(page, f"failure-during-{step[0]}.png")
        raise


def _click_through(app_url: str, page, step: list[str]) -> None:
    main = page.locator('[data-testid="stMain"]')

    # Start page: the title and a link to each of the four steps.
    page.goto(app_url)
    expect(page.get_by_role("heading", name="nnviz")).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_text("See a real Keras neural network learn")).to_be_visible()
    for title in ("1 · Data", "2 · Build", "3 · Train", "4 · Evaluate", "5 · Inspect"):
        expect(main.get_by_role("link", name=title)).to_be_visible()
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "01-home.png")

    # 1 · Data: switch to iris and back to two moons (the default), as a curious user would.
    step[0] = "data"
    go(page, "1 · Data")
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    _choose(page, "Dataset", IRIS)
    expect(main.get_by_text("3 classes", exact=True)).to_be_visible()
    _choose(page, "Dataset", MOONS)
    expect(main.get_by_text("2 classes", exact=True)).to_be_visible()
    expect(page.get_by_label("Number of points")).to_have_count(1)  # the moons-only sliders are back
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value(MOONS)
    expect(page.get_by_role("heading", name="Two features against each other")).to_be_visible()
    scatter = main.locator('[data-testid="stPlotlyChart"]').first
    expect(scatter).to_be_visible()
    expect(scatter.locator(".scatterlayer .point").first).to_be_attached()  # points are drawn
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "02-data-moons.png")

    # 2 · Build: widen the first hidden layer to 12 units.
    step[0] = "build"
    go(page, "2 · Build")
    expect(page.get_by_role("heading", name="Build")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"Dataset: {MOONS}")).to_be_visible()
    expect(page.get_by_label("Units", exact=True)).to_have_count(MOONS_DENSE_LAYERS)
    _type_number(page, "Units", 12)
    code = main.locator('[data-testid="stCode"]').filter(has_text="keras.Sequential")
    expect(code).to_contain_text("layers.Dense(units=12", timeout=STEP_MS)
    expect(page.get_by_role("heading", name="Keras code")).to_be_visible()
    expect(main.get_by_text("Ready to train.")).to_be_visible()
    # 2 inputs × 12 + 12, then 12 × 8 + 8, then 8 + 1: 36 + 104 + 9 parameters.
    expect(main.get_by_text("Total: 149 parameters")).to_be_visible()
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "03-build.png")

    # 3 · Train: 5 epochs.
    step[0] = "train"
    go(page, "3 · Train")
    train_button = page.get_by_role("button", name="Train", exact=True)
    expect(train_button).to_be_visible(timeout=TRAIN_MS)  # after "Starting Keras…"
    expect(main.get_by_text("Not trained yet.")).to_be_visible()
    expect(main.get_by_text(re.compile(r"Dense\(12, relu\) → Dense\(8, relu\) → Dense\(1, "))).to_be_visible()
    wait_idle(page, TRAIN_MS)
    _type_number(page, "Epochs", 5)
    wait_idle(page)
    train_button.click()
    done = main.get_by_text(re.compile(r"^Done: 5 epochs in .* \(5 in total\)"))
    expect(done).to_be_visible(timeout=TRAIN_MS)
    expect(main.get_by_text(re.compile(r"Epoch 5 of 5"))).to_be_visible()
    expect(main.get_by_text("5 epochs trained so far.", exact=True)).to_be_visible()  # the status, updated
    expect(page.get_by_role("heading", name="Decision boundary")).to_be_visible()
    charts = main.locator(".vega-embed")
    expect(charts.nth(2)).to_be_visible()  # loss, accuracy and the boundary
    assert charts.count() >= 3
    expect(main.get_by_role("link", name="Inspect the trained network")).to_be_visible()
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "04-train-done.png")
    main.get_by_text("Show what training does inside", exact=False).click()  # the look back's diagnostics
    for title in (
        "Gradient size ‖∂L/∂W‖ per layer",
        "Dead ReLU units per layer",
        "Spread of each layer's outputs",
    ):
        expect(main.locator(".js-plotly-plot").filter(has_text=title)).to_be_visible(timeout=TRAIN_MS)
    expect(main.get_by_text(re.compile(r"^Healthy: every layer's gradient"))).to_be_visible()
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "04b-train-inside.png")

    # 4 · Evaluate: test accuracy, the confusion matrix and per-class scores.
    step[0] = "evaluate"
    go(page, "4 · Evaluate")
    expect(page.get_by_role("heading", name="Confusion matrix")).to_be_visible(timeout=TRAIN_MS)
    expect(main.locator('[data-testid="stMetric"]').filter(has_text="Accuracy")).to_contain_text("%")
    expect(main.get_by_text("has not been trained yet")).to_have_count(0)
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "05-evaluate.png")

    # 5 · Inspect: numpy and Keras agree at every layer, and there is a prediction.
    step[0] = "inspect"
    go(page, "5 · Inspect")
    expect(page.get_by_role("heading", name=re.compile(r"^Prediction: "))).to_be_visible(timeout=TRAIN_MS)
    expect(main.get_by_text("has not been trained yet")).to_have_count(0)
    forward = main.get_by_text(re.compile(r"^max \|numpy − Keras\| = .*they agree$"))
    expect(forward).to_have_count(MOONS_DENSE_LAYERS)
    expect(main.get_by_text(re.compile(r"^max \|numpy − GradientTape\| = .*they agree$"))).to_have_count(
        MOONS_DENSE_LAYERS
    )
    expect(main.get_by_role("heading", name=re.compile(r"^Then the update: Adam, step \d+$"))).to_be_visible()
    expect(main.get_by_text("they differ")).to_have_count(0)
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "06-inspect.png")


# After the walk-through: Stop interrupts a long run and keeps every finished epoch.


def test_pause_resume_step_and_stop_keep_every_finished_epoch(app_url, page):
    main = page.locator('[data-testid="stMain"]')
    go(page, "3 · Train")
    wait_idle(page, TRAIN_MS)
    status = main.get_by_text(re.compile(r"^\d+ epochs trained so far\.$"))
    expect(status).to_be_visible(timeout=TRAIN_MS)
    before = int(status.inner_text().split()[0])
    _start_a_long_run(page)
    main.get_by_role("button", name="Pause", exact=True).click()
    expect(main.get_by_text(re.compile(r"^Paused (after|during) epoch \d+ of 1000"))).to_be_visible()
    resume = main.get_by_role("button", name=re.compile(r"^Resume \(\d+ left\)$"))
    expect(resume).to_be_visible()
    left = int(re.search(r"\((\d+) left", resume.inner_text()).group(1))  # an epoch half done counts
    assert 0 < left < 1000
    expect(main.get_by_text(f"{before + 1000 - left} epochs trained so far.", exact=True)).to_be_visible()
    _screenshot(page, "07-train-paused.png")

    resume.click()
    expect(main.get_by_text(re.compile(rf"^Epoch \d+ of {left}\b.* so far"))).to_be_visible()
    main.get_by_role("button", name="Stop", exact=True).click()
    expect(main.get_by_text(re.compile(rf"^Stopped (after|during) epoch \d+ of {left}"))).to_be_visible()
    expect(main.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    status = main.get_by_text(re.compile(r"^\d+ epochs trained so far\.$"))
    total = int(status.inner_text().split()[0])
    assert total > before + 1000 - left

    main.get_by_role("button", name="Step", exact=True).click()
    expect(main.get_by_text(f"{total + 1} epochs trained so far.", exact=True)).to_be_visible(
        timeout=TRAIN_MS
    )
    wait_idle(page)
    no_exceptions(page)
    _screenshot(page, "08-train-stepped.png")


def test_the_live_view_stays_drawn_moves_and_answers_the_controls_at_once(app_server, browser):
    """Sampled every 100 ms while a batch-1 moons run trains, as a projector would show it."""
    _, url = app_server
    figures = live_view_figures(url, browser, sample_s=10, screenshot=ARTIFACTS / "12-live-view.png")
    (ARTIFACTS / "live-view.json").write_text(json.dumps(figures, indent=1))
    # enough samples for the shares below to mean something (a loaded machine's browser throttles
    # its timers: 56 of 100 were seen with a load test beside it)
    assert figures["samples"] >= 40, figures
    assert figures["drawn_share"] >= 0.95, figures  # both charts drawn, not stale, not faded
    # Updated in place, not replaced per update: ~30 curve updates here, and a Vega view is rebuilt
    # a few times at most (0–5 seen, more on a loaded machine), the charts drawn throughout.
    updates = figures["curve_changes_per_s"] * figures["seconds"]
    assert figures["remounts"] <= updates / 5, figures
    assert figures["curve_changes_per_s"] >= 2, figures
    assert figures["outcome_changes_per_s"] >= 0.5, figures
    # Click → the new state visible in Chromium. The server's part is ≤ 0.13 s (the run ends within a
    # chunk, measured in the server); the rest is Playwright's click waiting for a busy browser that
    # shares this 2-core machine with the server and the run: 0.3–2.6 s seen here, so 3 s is the bound.
    assert max(figures["pause_s"], figures["stop_s"]) <= 3, figures
    assert figures["step_s"] <= 3, figures


# After the walk-through: the sidebar follows a dataset change in the same rerun.


def test_sidebar_names_the_dataset_just_chosen(app_url, page):
    go(page, "1 · Data")
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value(MOONS, timeout=STEP_MS)
    _choose(page, "Dataset", IRIS)
    expect(page.locator('[data-testid="stMain"]').get_by_text("3 classes", exact=True)).to_be_visible()
    wait_idle(page)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"Dataset: {IRIS}")).to_be_visible(
        timeout=2_000
    )


def _server_cpu_share(server, seconds: float) -> float:
    """The share of one core the server used over the next ``seconds``."""
    used = cpu_s(server.pid)
    time.sleep(seconds)
    return (cpu_s(server.pid) - used) / seconds


def test_closing_the_tab_stops_its_training(app_server, browser):
    """A student who closes the tab mid-run leaves nothing burning the shared server's CPU."""
    server, url = app_server
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    tab.goto(f"{url}/train")
    main = tab.locator('[data-testid="stMain"]')
    expect(main.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=TRAIN_MS)
    _start_a_long_run(tab)
    training = _server_cpu_share(server, 3)
    context.close()
    # The run pauses itself once nobody has asked for its progress for 5 s, at the next epoch end.
    time.sleep(10)
    after = _server_cpu_share(server, 3)
    assert training > 0.3, f"the server should have been busy training ({training:.0%} of a core)"
    assert after < 0.1, f"{after:.0%} of a core still busy 10 s after the tab was closed"


def test_a_digit_drawn_on_the_canvas_steps_through_a_convolutional_network(app_server, browser):
    """MNIST, the starter CNN, one epoch, then a "1" drawn with the mouse is classified layer by layer."""
    _, url = app_server
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    main = tab.locator('[data-testid="stMain"]')
    try:
        tab.goto(url)
        go(tab, "1 · Data")
        _choose(tab, "Dataset", "MNIST digits (28×28 images, ten classes)")
        expect(main.get_by_text("10 classes", exact=True)).to_be_visible(timeout=STEP_MS)
        go(tab, "2 · Build")
        main.get_by_role("button", name="Convolutional starter").click()
        expect(main.get_by_text("Ready to train.")).to_be_visible()
        expect(main.locator('[data-testid="stCode"]').first).to_contain_text("layers.Conv2D(filters=8")
        wait_idle(tab)
        _screenshot(tab, "09-build-cnn.png")
        go(tab, "3 · Train")
        expect(main.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=TRAIN_MS)
        _type_number(tab, "Epochs", 1)
        wait_idle(tab)
        main.get_by_role("button", name="Train", exact=True).click()
        expect(main.get_by_text(re.compile(r"^Done: 1 epochs? in"))).to_be_visible(timeout=TRAIN_MS)
        go(tab, "5 · Inspect")
        expect(tab.get_by_role("heading", name=re.compile(r"^Prediction: "))).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab, TRAIN_MS)  # the page goes on to the backward pass after the prediction
        tab.get_by_text("Draw a digit", exact=True).click()
        expect(main.get_by_text("Draw a digit in the box")).to_be_visible(timeout=STEP_MS)
        canvas = main.locator("canvas").last
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        x, top = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
        tab.mouse.move(x, top)
        tab.mouse.down()
        for k in range(1, 21):  # a "1": one stroke down the middle
            tab.mouse.move(x, top + k * box["height"] * 0.035)
        tab.mouse.up()
        expect(main.get_by_text("Your drawing, fitted into 28×28 pixels")).to_be_visible(timeout=STEP_MS)
        prediction = tab.get_by_role("heading", name=re.compile(r"^Prediction: \d with probability"))
        expect(prediction).to_be_visible(timeout=STEP_MS)
        layers = 8  # the starter CNN: Reshape, Rescaling, 2 × (Conv2D, MaxPooling2D), Flatten, Dense
        forward = main.get_by_text(re.compile(r"^max \|numpy − Keras\| = .*they agree$"))
        expect(forward).to_have_count(layers, timeout=STEP_MS)
        backward = main.get_by_text(re.compile(r"^max \|numpy − GradientTape\| = .*they agree$"))
        expect(backward).to_have_count(layers, timeout=STEP_MS)
        expect(main.get_by_text("which pixels pushed the loss up")).to_be_visible()  # the saliency map
        expect(main.get_by_text("they differ")).to_have_count(0)
        wait_idle(tab)
        no_exceptions(tab)
        _screenshot(tab, "10-inspect-drawn-digit.png")
    except BaseException:
        _screenshot(tab, "failure-drawn-digit.png")
        raise
    finally:
        context.close()


def test_a_link_with_present_opens_a_projector_view(app_server, browser):
    """?present=1 on a shared link: no sidebar, larger type, and a switch at the top to leave."""
    _, url = app_server
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    try:
        tab.goto(f"{url}/build?present=1&dataset=iris&layers=Dense_6_relu~Dense_3_softmax")
        main = tab.locator('[data-testid="stMain"]')
        expect(main.get_by_text("Ready to train.")).to_be_visible(timeout=STEP_MS)
        expect(tab.locator('[data-testid="stSidebar"]')).to_be_hidden()
        root_px = tab.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert root_px >= 22, root_px
        expect(main.get_by_text("Save or import")).to_have_count(0)  # advanced controls are hidden
        expect(main.locator('[data-testid="stCode"]').first).to_contain_text("layers.Dense(units=6")
        wait_idle(tab)
        no_exceptions(tab)
        _screenshot(tab, "11-presentation-build.png")
        tab.get_by_text("Presentation mode").click()
        expect(tab.locator('[data-testid="stSidebar"]')).to_be_visible()
        expect(main.get_by_text("Save or import")).to_be_visible()
    except BaseException:
        _screenshot(tab, "failure-presentation.png")
        raise
    finally:
        context.close()


def test_a_deep_link_as_the_first_visit_after_a_restart_goes_through_the_router(browser):
    """Streamlit runs a pages/ file on its own until some run has called st.navigation: the very
    first visit of a fresh server must still get the app's frame, navigation and link settings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = launch_app(port)
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        wait_until_healthy(server, url, timeout_s=SERVER_START_S)
        tab = context.new_page()
        tab.set_default_timeout(STEP_MS)
        tab.goto(f"{url}/build?dataset=iris&layers=Dense_6_relu~Dense_3_softmax")
        main = tab.locator('[data-testid="stMain"]')
        expect(main.get_by_text("Ready to train.")).to_be_visible(timeout=STEP_MS)
        expect(main.get_by_text("A network for Iris flowers")).to_be_visible()
        nav = tab.locator('[data-testid="stSidebarNav"]')
        expect(nav.get_by_role("link", name="2 · Build")).to_be_visible()  # the app's menu, not file names
        expect(nav.get_by_role("link", name="build", exact=True)).to_have_count(0)
        no_exceptions(tab)
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)


def test_nothing_is_cut_short_on_a_laptop_screen(app_server, browser):
    """At 1280 × 720 (a laptop, a projector) every page of a trained iris network and the Build page
    of a convolutional network show their words whole and their tables without sideways scrolling."""
    url = app_server[1]
    tab = browser.new_page(viewport={"width": 1280, "height": 720})
    tab.set_default_timeout(STEP_MS)
    main = tab.locator('[data-testid="stMain"]')
    try:
        tab.goto(
            f"{url}/build?dataset=mnist&layers=Rescaling_0.00392_0~Reshape_28,28,1~Conv2D_8_3_1_same_relu~"
            "MaxPooling2D_2~BatchNormalization~Flatten~Dense_10_softmax"
        )
        expect(tab.get_by_role("heading", name="Summary")).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab)
        no_exceptions(tab)
        tab.goto(f"{url}/train?dataset=iris&epochs=30")
        train_button = main.get_by_role("button", name="Train", exact=True)
        expect(train_button).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab, TRAIN_MS)
        train_button.click()
        expect(main.get_by_text(re.compile(r"^Done: 30 epochs"))).to_be_visible(timeout=TRAIN_MS)
        for title, heading in (
            ("3 · Train", "Train"),
            ("1 · Data", "Data"),
            ("2 · Build", "Summary"),
            ("4 · Evaluate", "Per class"),
            ("5 · Inspect", "From the output to the loss"),
        ):
            go(tab, title)
            expect(tab.get_by_role("heading", name=heading)).to_be_visible(timeout=TRAIN_MS)
            wait_idle(tab, TRAIN_MS)
            no_exceptions(tab)
            _screenshot(tab, f"laptop-{title[0]}-{heading.split()[0].lower()}.png")
    except BaseException:
        _screenshot(tab, "failure-laptop-screen.png")
        raise
    finally:
        tab.close()
