"""What the browser tests share: Debian's Chromium (or a skip), a served app, a headless browser."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnviz.bench import CHROMIUM, CHROMIUM_ARGS, free_port, launch_app, wait_until_healthy

SERVER_START_S = 60


def _missing(reason: str) -> None:
    """Skip on a developer's machine without a browser; in CI, where .ci/run installs one, fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser test", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def playwright_api():
    """Playwright's sync API, or the calling test module is skipped (failed in CI) without Chromium."""
    if not CHROMIUM.exists():
        _missing(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        _missing("the playwright Python package is not installed (pip install -r requirements.txt)")
    return sync_api


@contextlib.contextmanager
def served_app(
    artifacts: Path,
    *,
    script: str = "app.py",
    log_name: str = "server.log",
    old_screenshots: str = "*.png",
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """A fresh ``streamlit run app.py`` (or ``script``) and its base URL, its log in
    ``artifacts/log_name``; the old screenshots there are removed first (they would mislead)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    for old in artifacts.glob(old_screenshots):
        old.unlink()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(artifacts / log_name, "w") as log:
        server = launch_app(port, log=log, script=script, env=env)
        try:
            try:
                wait_until_healthy(server, url, timeout_s=SERVER_START_S)
            except RuntimeError as err:
                pytest.fail(f"{err}; see {artifacts / log_name}")
            yield server, url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def headless_chromium(sync_api) -> Iterator[object]:
    """Debian's Chromium driven by Playwright, headless, with the switches this machine needs."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- what a test does in the page --------------------------------------------------------------

STEP_MS = 30_000  # an ordinary rerun


def full_page_screenshot(page, path: Path) -> None:
    """A full-page screenshot.

    Streamlit scrolls its main area inside the window, so the window is first made as tall as that
    content (then restored); a plain ``full_page=True`` would only capture the first screen.
    """
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
               ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
                   + ' [data-testid="stMainBlockContainer"], section.main')].map(e => e.scrollHeight))"""
    )
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(int(height) + 40, 12_000))}
    )
    try:
        page.wait_for_timeout(400)  # let plotly re-lay itself out for the taller window
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)


def wait_idle(page, timeout: int = STEP_MS) -> None:
    """Wait until Streamlit has no script run in progress (its status widget says so while it runs)."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 || !/running|stop/i.test(document.querySelector('[data-testid="stStatusWidget"]').innerText)""",
        timeout=timeout,
    )


def go(page, title: str) -> None:
    """Click a page in the sidebar's navigation."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()


def no_exceptions(page) -> None:
    playwright_api().expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    nothing_cut_short(page)


def nothing_cut_short(page) -> None:
    """No text on the page ends in "…" because its box is too narrow (button labels, chosen
    options, tabs): every word a user must read is shown whole."""
    cut = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
               .filter(e => getComputedStyle(e).textOverflow === 'ellipsis'
                            && e.scrollWidth > e.clientWidth + 1 && e.innerText.trim())
               .map(e => e.innerText.trim())"""
    )
    assert not cut, f"text cut short on {page.url}: {cut}"
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"] .dvn-scroller')]
               .filter(e => e.scrollWidth > e.clientWidth + 1)
               .map(e => `table at y=${Math.round(e.getBoundingClientRect().top + window.scrollY)}:`
                         + ` ${e.scrollWidth} px wide in ${e.clientWidth} px`)"""
    )
    assert not clipped, f"a table is wider than its place (scrolls sideways) on {page.url}: {clipped}"
