"""Hostile text in headless Chromium: what the browser makes of user strings, decisively.

AppTest sees the Markdown source, not what Streamlit's renderer (react-markdown, remark-gfm,
remark-directive, remark-emoji) makes of it: GFM's bare-URL links, for one, are made after
backslash escapes are decoded. So these tests read the rendered page:

* every hostile string of ``tests/hostile.py`` through ``plain()`` in each kind of element that
  renders Markdown (a probe script), shown as its own text with no link, image, markup or icon;
* the app itself opened with a link and a CSV whose names are hostile, trained, and walked page by
  page: no link or image to the hostile host, no request to it, no exception box.

Screenshots go to ``test-artifacts/browser/hostile/``.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
from browsing import full_page_screenshot, go, playwright_api, served_app, wait_idle
from hostile import EVIL, PAYLOADS, shown_as

pytestmark = pytest.mark.browser

sync_api = playwright_api()
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser" / "hostile"
STEP_MS = 30_000
JOINER = "\u2060"
# What Markdown would make of a payload that was not escaped: none may appear inside a probe.
MARKUP = (
    "a, img, strong, em, code, del, h1, h2, h3, h4, h5, h6, li, blockquote, table, hr, pre, sup, "
    "[class*='stMarkdownColored'], .stMarkdownBadge, [data-testid='stIconMaterial'], [data-testid='stIconEmoji']"
)


def _serve(script: str, log_name: str) -> tuple[contextlib.ExitStack, str]:
    """``streamlit run script`` on a free port (the repository and tests/ importable): the stack
    that stops it, and its URL."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    stack = contextlib.ExitStack()
    _, url = stack.enter_context(
        served_app(ARTIFACTS, script=script, log_name=log_name, old_screenshots="failure-*.png", env=env)
    )
    return stack, url


def _evil_requests(page) -> list[str]:
    """Every request the page makes to the hostile host is recorded (and aborted) in the list returned."""
    seen: list[str] = []

    def evil(url: str) -> bool:
        return (urlparse(url).hostname or "").endswith(EVIL)

    def refuse(route):
        seen.append(route.request.url)
        route.abort()

    page.route(evil, refuse)
    page.on("request", lambda request: evil(request.url) and seen.append(request.url))
    return seen


def _screenshot(page, name: str) -> None:
    full_page_screenshot(page, ARTIFACTS / name)


def _texts(locator) -> list[str]:
    """Each element's shown text, word joiners removed and whitespace collapsed."""
    return [shown_as(text.replace(JOINER, "")) for text in locator.all_inner_texts()]


def test_plain_text_is_shown_as_itself_in_every_markdown_element(browser):
    serving, url = _serve("tests/hostile_probe.py", "probe-server.log")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_MS)
    try:
        requests = _evil_requests(page)
        page.goto(url)
        last = page.locator(f".st-key-probe-{len(PAYLOADS) - 1}")
        expect(last.locator('[data-testid="stTab"]')).to_have_count(1, timeout=STEP_MS)
        for expander in page.locator('[data-testid="stExpander"] summary').all():
            expander.click()  # the content written inside is rendered too
        page.wait_for_timeout(500)
        _screenshot(page, "probe.png")
        problems = []
        for i, payload in enumerate(PAYLOADS):
            probe = page.locator(f".st-key-probe-{i}")
            want = shown_as(payload)
            rendered = probe.locator(
                f'[data-testid="stMarkdownContainer"] :is({MARKUP})'
            ).evaluate_all(
                "es => es.filter(e => !e.closest('summary')).map(e => e.outerHTML)"  # not the expander's arrow
            )
            if rendered:
                problems.append(f"payload {i} {payload!r}: rendered {rendered}")
            texts = _texts(probe.locator('[data-testid="stMarkdownContainer"]'))
            wrong = [t for t in texts if t not in (want, f"Name: {want}", "x")]
            if wrong or len(texts) < 8:
                problems.append(f"payload {i} {payload!r}: shown as {wrong} ({len(texts)} elements)")
        assert not problems, "\n".join(problems)
        assert not requests, f"the page fetched {requests}"
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        page.close()
        serving.close()


# The app itself, opened by a hostile link and fed a hostile CSV.
from test_browser import TRAIN_MS, _choose, _type_number  # noqa: E402

PHISH = f"[Session expired, log in](http://{EVIL}/x) :red[**ALERT**] ![x](http://{EVIL}/p.png)"
# Query values (no "_" or "~": those separate a link's layer fields and layers).
LINK_VALUES = {
    "layers": "Dense_8_:red[**ALERT**]~Dense_1_sigmoid",
    "loss": PHISH,  # long values are shortened in the message
    "optimizer": f"<a href='http://{EVIL}/o'>adam</a>",
    "points": f"[in](http://{EVIL})",
    "val": f"![x](http://{EVIL}/p)",
    "lr": f"www.{EVIL}",
    "epochs": f"mail student@{EVIL}",
    "batch": f"http://{EVIL}/b",
    "noise": ":material/warning: :streamlit:",
}
# Header names, class names and a file name a student could upload.
CSV_FEATURES = (PHISH, f"www.{EVIL}/f", f"<img src='http://{EVIL}/c.png'> student@{EVIL}")
CSV_TARGET = f":blue[target] ![t](http://{EVIL}/t.png)"
CSV_CLASSES = (f"http://{EVIL}/a", f"![c](http://{EVIL}/c.png)", f":red[**ALERT**] x@{EVIL}")
CSV_NAME = f"[data](http://{EVIL}/f).csv"
HOSTILE_CASES = len(LINK_VALUES) + len(CSV_FEATURES) + 1 + len(CSV_CLASSES) + 1


def _hostile_csv() -> bytes:
    """60 rows, three features, three well separated classes; every name in it hostile."""

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    lines = [",".join(quoted(name) for name in (*CSV_FEATURES, CSV_TARGET))]
    for row in range(60):
        k = row % 3
        values = (k * 3 + (row % 7) / 7, (row % 5) / 5 - k, k + (row % 4) / 4)
        lines.append(",".join([*(f"{v:.3f}" for v in values), quoted(CSV_CLASSES[k])]))
    return ("\n".join(lines) + "\n").encode()


def _directive_texts() -> list[str]:
    """What Streamlit would colour if a hostile ``:red[**ALERT**]`` were read as a directive: ``ALERT``."""
    hostile = [*LINK_VALUES.values(), *CSV_FEATURES, CSV_TARGET, *CSV_CLASSES, CSV_NAME]
    return sorted({m.replace("*", "") for text in hostile for m in re.findall(r":[\w-]+\[([^\]]*)\]", text)})


def _nothing_made_of_it(page, requests: list[str], where: str) -> None:
    """No link or image to the hostile host, no request to it, no icon or emoji inside Markdown, no
    colour or badge made of a hostile directive (the app's own colours may hold user text, escaped),
    no exception box: anywhere on the page."""
    wait_idle(page)
    found = page.evaluate(
        """([evil, directed]) => {
            const made = [...document.querySelectorAll(
                `[href*="${evil}"], [src*="${evil}"], [*|href*="${evil}"],
                 [data-testid="stMarkdownContainer"] :is(img, [data-testid="stIconMaterial"],
                 [data-testid="stIconEmoji"])`)];
            const coloured = [...document.querySelectorAll(
                '[class*="stMarkdownColored"], .stMarkdownBadge')].filter(
                e => directed.includes(e.innerText.replaceAll("\u2060", "").trim()));
            return [...made, ...coloured].filter(e => !e.closest('summary')).map(e => e.outerHTML.slice(0, 200));
        }""",
        [EVIL, _directive_texts()],
    )
    assert not found, f"{where}: rendered {found}"
    assert not requests, f"{where}: the page fetched {requests}"
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: an exception box"


def _shown(page) -> str:
    return shown_as(page.locator('[data-testid="stMain"]').inner_text().replace(JOINER, ""))


def test_every_page_shows_hostile_names_from_a_link_and_a_csv_as_text(browser):
    serving, url = _serve("app.py", "app-server.log")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_MS)
    main = page.locator('[data-testid="stMain"]')
    step = "link"
    try:
        requests = _evil_requests(page)
        # The link: every rejected value is named, as text.
        page.goto(f"{url}/build?dataset=moons&{urlencode(LINK_VALUES)}")
        expect(page.get_by_role("heading", name="Build")).to_be_visible(timeout=STEP_MS)
        wait_idle(page)
        shown = _shown(page)
        for value in LINK_VALUES.values():  # long values are shortened in the message
            assert shown_as(value)[:20] in shown, f"the rejected {value!r} is not named as text"
        assert ":red[**ALERT**]" in shown, "the directive is not shown as text"
        _nothing_made_of_it(page, requests, "Build after the link")
        _screenshot(page, "01-build-after-link.png")

        step = "csv"
        go(page, "1 · Data")
        _choose(page, "Dataset", "Your own CSV file")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            {"name": CSV_NAME, "mimeType": "text/csv", "buffer": _hostile_csv()}
        )
        expect(main.get_by_text("3 classes", exact=True)).to_be_visible(timeout=STEP_MS)
        wait_idle(page)
        _nothing_made_of_it(page, requests, "Data")
        _screenshot(page, "02-data-csv.png")

        step = "build"
        go(page, "2 · Build")
        expect(main.get_by_text("Ready to train.")).to_be_visible(timeout=STEP_MS)
        assert shown_as(CSV_NAME) in _shown(page)
        _nothing_made_of_it(page, requests, "Build")

        step = "train"
        go(page, "3 · Train")
        train_button = main.get_by_role("button", name="Train", exact=True)
        expect(train_button).to_be_visible(timeout=TRAIN_MS)
        wait_idle(page, TRAIN_MS)
        _type_number(page, "Epochs", 2)
        wait_idle(page)
        train_button.click()
        expect(main.get_by_text("What each neuron responds to", exact=False)).to_be_visible(timeout=TRAIN_MS)
        wait_idle(page, TRAIN_MS)
        shown = _shown(page)
        assert shown_as(CSV_FEATURES[0]) in shown and ":red[**ALERT**]" in shown
        _nothing_made_of_it(page, requests, "Train and its look back")
        _screenshot(page, "03-train-look-back.png")

        for step, title in (("evaluate", "4 · Evaluate"), ("inspect", "5 · Inspect")):
            go(page, title)
            expect(page.get_by_role("heading", name=title.split(" · ")[1])).to_be_visible(timeout=TRAIN_MS)
            wait_idle(page, TRAIN_MS)
            page.wait_for_timeout(500)
            _nothing_made_of_it(page, requests, title)
            _screenshot(page, f"0{4 if step == 'evaluate' else 5}-{step}.png")
        assert any(shown_as(name) in _shown(page) for name in CSV_CLASSES), "Inspect names no class as text"
    except BaseException:
        _screenshot(page, f"failure-during-{step}.png")
        raise
    finally:
        page.close()
        serving.close()
