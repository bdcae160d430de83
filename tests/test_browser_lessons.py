"""The Lessons page in headless Chromium, as a student uses it: start the first iris lesson, answer,
train from the lesson's link to the Train page, come back by the sidebar, and take the trained network
to a notebook that prints what Inspect showed; then the Dutch neuron lesson. Screenshots of each step
go to ``test-artifacts/browser/lessons/``.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from browsing import (
    STEP_MS,
    full_page_screenshot,
    go,
    no_exceptions,
    playwright_api,
    served_app,
    wait_idle,
)

pytestmark = pytest.mark.browser

sync_api = playwright_api()
expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser" / "lessons"
TRAIN_MS = 90_000  # the first Train visit imports TensorFlow
CLICK_TO_VISIBLE_S = 5.0  # a lesson step is a plain rerun; generous for a loaded 2-core machine


@pytest.fixture(scope="module")
def app_url():
    with served_app(ARTIFACTS) as (_, url):
        yield url


def _answer(tab, value: str) -> None:
    main = tab.locator('[data-testid="stMain"]')
    field = main.get_by_label("Your answer", exact=True)
    field.fill(value)
    field.press("Enter")
    wait_idle(tab)
    main.get_by_role("button", name="Check", exact=True).click()


def _timed(tab, click, visible) -> float:
    """Seconds from a click to ``visible`` being on screen."""
    started = time.monotonic()
    click()
    expect(visible).to_be_visible()
    return time.monotonic() - started


def test_a_student_walks_the_first_iris_lesson_and_takes_it_to_a_notebook(app_url, browser, tmp_path):
    tab = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    tab.set_default_timeout(STEP_MS)
    main = tab.locator('[data-testid="stMain"]')
    step = "list"
    try:
        tab.goto(f"{app_url}/lessons")
        expect(main.get_by_text("Iris 4-5-3: your first network")).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "01-lessons.png")

        step = "start"
        seconds = _timed(
            tab,
            lambda: main.locator(".st-key-lessons-start-01-iris").get_by_role("button").click(),
            main.get_by_text("How many parameters does the whole network have?"),
        )
        assert seconds < CLICK_TO_VISIBLE_S, f"Start → the first step took {seconds:.1f} s"
        expect(main.get_by_text("The app is set up for this step.")).to_be_visible()
        assert "lesson=01-iris" in tab.url and "dataset=iris" in tab.url

        step = "wrong then right"
        _answer(tab, "42")
        expect(main.get_by_text("Not quite.")).to_be_visible()
        _answer(tab, "43")
        expect(main.get_by_text("Right! 25 + 18 = 43.")).to_be_visible()
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "02-step-1-right.png")

        step = "softmax"
        main.get_by_role("button", name="Next step").click()
        expect(main.get_by_text(re.compile(r"^max \|numpy − Keras\| over 1 comparison"))).to_be_visible()
        assert "step=2" in tab.url
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "03-step-2-softmax.png")

        step = "train from the lesson"
        main.get_by_role("button", name="Next step").click()
        main.get_by_role("link", name=re.compile("Go to 3 · Train")).click()
        train = main.get_by_role("button", name="Train", exact=True)
        expect(train).to_be_visible(timeout=TRAIN_MS)
        expect(tab.get_by_label("Epochs", exact=True)).to_have_value("20")  # the course's settings
        wait_idle(tab, TRAIN_MS)
        train.click()
        expect(main.get_by_text(re.compile(r"^Done: 20 epochs"))).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab)
        tab.locator('[data-testid="stSidebar"]').get_by_role(
            "link", name="Back to the lesson, step 3"
        ).click()
        expect(main.get_by_text("Did the training loss go down")).to_be_visible()
        main.get_by_text("yes", exact=True).click()
        wait_idle(tab)
        main.get_by_role("button", name="Check", exact=True).click()
        expect(main.get_by_text("Right!")).to_be_visible()
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "04-step-3-trained.png")

        step = "notebook"
        go(tab, "5 · Inspect")
        prediction = main.get_by_role("heading", name=re.compile(r"^Prediction: "))
        expect(prediction).to_be_visible(timeout=TRAIN_MS)
        shown = prediction.inner_text().strip()
        button = main.get_by_role("button", name="Download the notebook and the weights (.zip)")
        wait_idle(tab)
        with tab.expect_download() as download:
            button.click()
        bundle = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert sorted(bundle.namelist()) == ["nnviz_iris.ipynb", "nnviz_iris.npz"]
        bundle.extractall(tmp_path)
        printed = _run_notebook(tmp_path / "nnviz_iris.ipynb")
        # Inspect's heading, e.g. "Prediction: setosa with probability 0.826 (correct)".
        said = re.match(r"Prediction: (\S+) with probability (\d\.\d{3})", shown)
        assert said, shown
        assert f"prediction: {said.group(1)} with probability {said.group(2)}" in printed
        assert "x = X_test[0]" in (tmp_path / "nnviz_iris.ipynb").read_text()
        assert "epoch 20/20:" in printed  # it trained the 20 epochs trained here

        step = "build notebook"
        go(tab, "2 · Build")
        main.get_by_text("Jupyter notebook", exact=True).click()
        wait_idle(tab)
        with tab.expect_download() as download:
            main.get_by_role("button", name="Download the notebook (.ipynb)").click()
        setup = nbformat.reads(Path(download.value.path()).read_text(), as_version=4)
        nbformat.validate(setup)
        sources = "\n".join(cell.source for cell in setup.cells)
        assert "load_iris()" in sources and "x = X_test[0]" in sources and "np.load" not in sources
        assert "EPOCHS, BATCH_SIZE, VALIDATION_SPLIT, SEED = 20, 8, 0.0, 0" in sources
        assert "keras.Sequential" in sources

        step = "functional"  # the API chosen on Build is the one both downloads write
        main.get_by_text("Functional (layer calls)", exact=True).click()
        wait_idle(tab)
        with tab.expect_download() as download:
            main.get_by_role("button", name="Download the notebook (.ipynb)").click()
        assert "keras.Model(inputs=inputs, outputs=x)" in Path(download.value.path()).read_text()
        go(tab, "5 · Inspect")
        button = main.get_by_role("button", name="Download the notebook and the weights (.zip)")
        expect(button).to_be_visible(timeout=TRAIN_MS)
        wait_idle(tab)
        with tab.expect_download() as download:
            button.click()
        bundle = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert "keras.Model(inputs=inputs, outputs=x)" in bundle.read("nnviz_iris.ipynb").decode()
    except BaseException:
        full_page_screenshot(tab, ARTIFACTS / f"failure-{step.replace(' ', '-')}.png")
        raise
    finally:
        tab.close()


def _run_notebook(path: Path) -> str:
    """Run the notebook in a fresh kernel beside its .npz; what it printed."""
    import nbclient

    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )


def test_the_dutch_neuron_lesson(app_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # another student's browser
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    main = tab.locator('[data-testid="stMain"]')
    try:
        tab.goto(f"{app_url}/lessons")
        main.get_by_text("Nederlands", exact=True).click()
        expect(main.get_by_text("Wat is een neuron?")).to_be_visible()
        expect(main.get_by_role("button", name="Open het cursusvoorbeeld")).to_be_visible()
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "05a-dutch-list.png")
        main.locator(".st-key-lessons-start-00-neuron-nl").get_by_role("button").click()
        expect(main.get_by_role("button", name="Controleer")).to_be_visible()
        weights = main.get_by_label("w1", exact=True)
        weights.fill("0.5")
        weights.press("Enter")
        expect(main.get_by_text(re.compile(r"^Keras Dense\(1, relu\): 2"))).to_be_visible()
        wait_idle(tab)
        no_exceptions(tab)
        full_page_screenshot(tab, ARTIFACTS / "05b-dutch-neuron.png")
    except BaseException:
        full_page_screenshot(tab, ARTIFACTS / "failure-dutch.png")
        raise
    finally:
        context.close()
