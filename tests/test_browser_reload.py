"""A reload loses nothing, in headless Chromium: the address holds the setup, a cookie the browser's
token, and the server the trained model under it. Another browser (its own cookies) sees none of it.

Screenshots go to ``test-artifacts/browser/reload/``, with the server log. Run only the browser tests
with ``pytest -m browser``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from browsing import playwright_api, served_app

pytestmark = pytest.mark.browser


sync_api = playwright_api()
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser" / "reload"
STEP_MS = 30_000
TRAIN_MS = 90_000  # the first Train visit imports TensorFlow
IRIS = "Iris flowers (4 features, three classes)"
TRAINED = re.compile(r"^(\d+) epochs? trained so far\.?$")


@pytest.fixture(scope="module")
def app_url():
    with served_app(ARTIFACTS) as (_, url):
        yield url


def _new_tab(browser):
    """A tab in a browser context of its own: its own cookie jar, as another person's browser."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    return context, tab


def _screenshot(tab, name: str) -> None:
    tab.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _wait_idle(tab, timeout: int = STEP_MS) -> None:
    """Wait until Streamlit has no script run in progress."""
    tab.wait_for_timeout(300)
    tab.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 || !/running|stop/i.test(document.querySelector('[data-testid="stStatusWidget"]').innerText)""",
        timeout=timeout,
    )


def _go(tab, title: str) -> None:
    tab.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    _wait_idle(tab)


def _main(tab):
    return tab.locator('[data-testid="stMain"]')


def _trained_epochs(tab) -> int:
    status = _main(tab).get_by_text(TRAINED)
    expect(status).to_be_visible(timeout=TRAIN_MS)
    return int(TRAINED.match(status.inner_text().strip()).group(1))


def _train(tab, epochs: int) -> None:
    """On the Train page: train ``epochs`` epochs and wait for the run to finish."""
    main = _main(tab)
    train = main.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_visible(timeout=TRAIN_MS)  # after "Starting Keras…"
    _wait_idle(tab, TRAIN_MS)
    field = tab.get_by_label("Epochs", exact=True)
    field.fill(str(epochs))
    field.press("Enter")
    _wait_idle(tab)
    train.click()
    expect(main.get_by_text(re.compile(r"^Done:"))).to_be_visible(timeout=TRAIN_MS)
    _wait_idle(tab)


def _query(tab) -> str:
    return tab.evaluate("() => window.location.search")


def test_a_reload_brings_back_the_dataset_network_and_trained_model(app_url, browser):
    context, tab = _new_tab(browser)
    try:
        _reload_round_trip(tab, app_url)
    except BaseException:
        _screenshot(tab, "failure-reload.png")
        raise
    finally:
        context.close()


def _reload_round_trip(tab, app_url: str) -> None:
    main = _main(tab)
    tab.goto(app_url)
    expect(tab.get_by_role("heading", name="nnviz")).to_be_visible(timeout=STEP_MS)
    _wait_idle(tab)
    cookie = [c for c in tab.context.cookies() if c["name"] == "nnviz_token"]
    assert cookie and re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie[0]["value"]), tab.context.cookies()
    assert cookie[0]["sameSite"] == "Lax" and cookie[0]["path"] == "/"

    _go(tab, "1 · Data")
    tab.get_by_role("combobox", name="Dataset", exact=True).click()
    tab.get_by_role("listbox").get_by_role("option", name=IRIS, exact=True).click()
    expect(main.get_by_text("3 classes", exact=True)).to_be_visible()
    _wait_idle(tab)
    assert "dataset=iris" in _query(tab)

    _go(tab, "2 · Build")
    units = tab.get_by_label("Units", exact=True).first
    units.fill("7")
    units.press("Enter")
    expect(main.locator('[data-testid="stCode"]').filter(has_text="keras.Sequential")).to_contain_text(
        "layers.Dense(units=7"
    )
    _wait_idle(tab)
    assert "layers=Dense_7_relu" in _query(tab)

    _go(tab, "3 · Train")
    _train(tab, 3)
    trained = _trained_epochs(tab)
    assert trained == 3
    _screenshot(tab, "01-trained.png")
    before = _query(tab)

    tab.reload()
    expect(tab.get_by_role("heading", name="Train")).to_be_visible(timeout=TRAIN_MS)
    _wait_idle(tab, TRAIN_MS)
    assert _query(tab) == before
    assert _trained_epochs(tab) == trained  # the model came back, not a fresh one
    # the Train caption's network (the look back also names "Layer 1 · Dense(7, relu)")
    expect(main.get_by_text(re.compile(r"· Dense\(7, relu\) →"))).to_be_visible()
    expect(main.get_by_text("could not be restored")).to_have_count(0)
    expect(tab.get_by_text("Opened the shared setup")).to_have_count(0)  # the address is its own setup
    expect(tab.locator('[data-testid="stException"]')).to_have_count(0)
    _screenshot(tab, "02-after-reload-train.png")

    _go(tab, "2 · Build")
    expect(tab.locator('[data-testid="stSidebar"]').get_by_text(f"Dataset: {IRIS}")).to_be_visible()
    expect(tab.get_by_label("Units", exact=True).first).to_have_value("7")
    _screenshot(tab, "03-after-reload-build.png")


def test_another_browser_sees_none_of_it(app_url, browser):
    """A second context (its own cookies) that opens the same address gets the setup, not the model."""
    context, tab = _new_tab(browser)
    other_context, other = _new_tab(browser)
    try:
        tab.goto(f"{app_url}/train")
        _train(tab, 2)
        assert _trained_epochs(tab) >= 2
        other.goto(f"{app_url}/train{_query(tab)}")
        expect(other.get_by_role("heading", name="Train")).to_be_visible(timeout=TRAIN_MS)
        _wait_idle(other, TRAIN_MS)
        expect(_main(other).get_by_text("Not trained yet.")).to_be_visible(timeout=TRAIN_MS)
        expect(
            other.get_by_text(re.compile(r"Dense\(8, relu\) → Dense\(8, relu\) → Dense\(1, "))
        ).to_be_visible()
        mine = [c["value"] for c in context.cookies() if c["name"] == "nnviz_token"]
        theirs = [c["value"] for c in other_context.cookies() if c["name"] == "nnviz_token"]
        assert mine and theirs and mine != theirs
        _screenshot(other, "04-other-browser.png")
    except BaseException:
        _screenshot(other, "failure-other-browser.png")
        raise
    finally:
        other_context.close()
        context.close()


def test_presentation_mode_keeps_the_pages_at_the_top(app_url, browser):
    context, tab = _new_tab(browser)
    try:
        tab.goto(f"{app_url}/build?present=1")
        expect(tab.get_by_role("heading", name="Build")).to_be_visible(timeout=STEP_MS)
        _wait_idle(tab)
        expect(tab.locator('[data-testid="stSidebar"]')).to_be_hidden()
        expect(tab.get_by_label("Units", exact=True).first).to_have_value("8")  # drawn, not mid-render
        header = tab.locator('[data-testid="stHeader"]')
        for title in ("1 · Data", "2 · Build", "3 · Train", "4 · Evaluate", "5 · Inspect"):
            expect(header.get_by_text(title, exact=True).first).to_be_visible()
        _screenshot(tab, "05-present-top-navigation.png")
        header.get_by_text("3 · Train", exact=True).first.click()
        expect(tab.get_by_role("heading", name="Train")).to_be_visible(timeout=TRAIN_MS)
        _wait_idle(tab, TRAIN_MS)
        assert "present=1" in _query(tab)
        _screenshot(tab, "06-present-train.png")
    finally:
        context.close()


def test_a_token_the_server_no_longer_knows_is_explained_once(app_url, browser):
    context, tab = _new_tab(browser)
    try:
        stale = secrets.token_urlsafe(32)  # as after a server restart
        context.add_cookies([{"name": "nnviz_token", "value": stale, "url": app_url}])
        tab.goto(f"{app_url}/build?dataset=iris")
        expect(_main(tab).get_by_text(re.compile(r"could not be restored: .* train again"))).to_be_visible()
        _wait_idle(tab)
        _screenshot(tab, "07-not-restored.png")
        # The new token is written by a script in the page, which a busy machine may run a moment later.
        tab.wait_for_function(
            "stale => /nnviz_token=/.test(document.cookie) && !document.cookie.includes(stale)", arg=stale
        )
        fresh = [c["value"] for c in context.cookies() if c["name"] == "nnviz_token"]
        assert fresh and fresh[0] != stale
        tab.reload()
        expect(tab.get_by_role("heading", name="Build")).to_be_visible()
        _wait_idle(tab)
        expect(tab.get_by_text("could not be restored")).to_have_count(0)
        expect(tab.locator('[data-testid="stSidebar"]').get_by_text(f"Dataset: {IRIS}")).to_be_visible()
    finally:
        context.close()


def test_back_and_forward_step_through_the_setups(app_url, browser):
    context, tab = _new_tab(browser)
    sidebar = tab.locator('[data-testid="stSidebar"]')
    try:
        tab.goto(f"{app_url}/data")
        expect(tab.get_by_role("heading", name="Data")).to_be_visible()
        _wait_idle(tab)
        assert "dataset=moons" in _query(tab)
        tab.get_by_role("combobox", name="Dataset", exact=True).click()
        tab.get_by_role("listbox").get_by_role("option", name=IRIS, exact=True).click()
        expect(sidebar.get_by_text(f"Dataset: {IRIS}")).to_be_visible()
        _wait_idle(tab)
        assert "dataset=iris" in _query(tab)
        tab.go_back()
        expect(sidebar.get_by_text("Dataset: Two moons (2-D, two classes)")).to_be_visible()
        _wait_idle(tab)
        assert "dataset=moons" in _query(tab)
        expect(tab.get_by_role("combobox", name="Dataset", exact=True)).to_have_value(
            "Two moons (2-D, two classes)"
        )
        _screenshot(tab, "08-after-back.png")
        tab.go_forward()
        expect(sidebar.get_by_text(f"Dataset: {IRIS}")).to_be_visible()
        _wait_idle(tab)
        assert "dataset=iris" in _query(tab)
    except BaseException:
        _screenshot(tab, "failure-back-forward.png")
        raise
    finally:
        context.close()
