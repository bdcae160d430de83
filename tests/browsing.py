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
