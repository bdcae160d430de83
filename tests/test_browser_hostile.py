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

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browsing import SERVER_START_S, headless_chromium, playwright_api
from hostile import EVIL, PAYLOADS, shown_as

from nnviz.bench import free_port, wait_until_healthy

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


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(sync_api) as browser:
        yield browser


def _serve(script: str, log_name: str):
    """``streamlit run script`` on a free port (the repository and tests/ importable); (server, url)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, f"--server.port={port}", "--server.address=127.0.0.1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url, timeout_s=SERVER_START_S)
    except RuntimeError as err:
        server.terminate()
        pytest.fail(f"{err}; see {ARTIFACTS / log_name}")
    return server, url, log


def _stop(server, log) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def _evil_requests(page) -> list[str]:
    """Every request the page makes to the hostile host is recorded (and aborted) in the list returned."""
    seen: list[str] = []

    def refuse(route):
        seen.append(route.request.url)
        route.abort()

    page.route(f"**/*{EVIL}*/**", refuse)
    page.on("request", lambda request: EVIL in request.url and seen.append(request.url))
    return seen


def _screenshot(page, name: str) -> None:
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
               ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
                   + ' [data-testid="stMainBlockContainer"]')].map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 12_000))})
    try:
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    finally:
        page.set_viewport_size(size)


def _texts(locator) -> list[str]:
    """Each element's shown text, word joiners removed and whitespace collapsed."""
    return [shown_as(text.replace(JOINER, "")) for text in locator.all_inner_texts()]


def test_plain_text_is_shown_as_itself_in_every_markdown_element(browser):
    server, url, log = _serve("tests/hostile_probe.py", "probe-server.log")
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
            rendered = probe.locator(f'[data-testid="stMarkdownContainer"] :is({MARKUP})').evaluate_all(
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
        _stop(server, log)
