"""Shared test set-up: quiet TensorFlow, and the offline data that sits beside the repository."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real datasets for offline tests); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not here (it sits beside the repository on the team's machines)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one browser-test module (each module also starts its own server)."""
    from browsing import headless_chromium, playwright_api

    with headless_chromium(playwright_api()) as chromium:
        yield chromium
