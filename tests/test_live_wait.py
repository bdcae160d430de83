"""The Train page's live view waits for news: a queued run's place in line is not redrawn at every move."""

import threading
import time

import pytest

from nnviz.ui import training


class _FakeJob:
    """Versions and states as a TrainingJob reports them; ``change(state)`` is a bump."""

    def __init__(self, state="queued"):
        self.state, self.version = state, 0
        self._changed = threading.Condition()

    def change(self, state=None):
        with self._changed:
            self.version += 1
            self.state = state or self.state
            self._changed.notify_all()

    def wait_for_change(self, version, *, timeout):
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def progress(self):
        return type("P", (), {"state": self.state})()


@pytest.fixture(autouse=True)
def no_clicks(monkeypatch):
    monkeypatch.setattr(training, "user_request_pending", lambda: False)
    monkeypatch.setattr(training, "REDRAW_S", 0.05)
    monkeypatch.setattr(training, "MAX_WAIT_S", 1.5)


def _wait_with(job, changes, *, queued):
    """Seconds ``_wait_for_news`` held the redraw while ``changes`` [(after s, state)] happened."""

    def play():
        for after, state in changes:
            time.sleep(after)
            job.change(state)

    player = threading.Thread(target=play, daemon=True)
    drawn_at = time.monotonic()
    player.start()
    training._wait_for_news(job, 0, drawn_at, queued=queued)
    took = time.monotonic() - drawn_at
    player.join()
    return took


def test_a_queued_run_moving_up_in_line_is_redrawn_only_at_the_latest_redraw():
    job = _FakeJob("queued")
    took = _wait_with(job, [(0.1, "queued"), (0.1, "queued"), (0.1, "queued")], queued=True)
    assert 1.45 <= took < 2.0, took  # three moves, one redraw at MAX_WAIT_S


def test_a_queued_run_that_starts_is_redrawn_at_once():
    job = _FakeJob("queued")
    took = _wait_with(job, [(0.1, "queued"), (0.1, "running")], queued=True)
    assert 0.15 <= took < 0.45, took


def test_a_running_run_is_redrawn_at_its_next_change():
    job = _FakeJob("running")
    took = _wait_with(job, [(0.15, "running")], queued=False)
    assert 0.1 <= took < 0.45, took


def test_a_click_ends_the_wait_of_a_queued_run_at_once(monkeypatch):
    job, clicked = _FakeJob("queued"), threading.Event()
    monkeypatch.setattr(training, "user_request_pending", clicked.is_set)
    threading.Timer(0.2, clicked.set).start()
    took = _wait_with(job, [], queued=True)
    assert 0.15 <= took < 0.45, took


def test_nothing_happening_still_ends_after_max_wait_s():
    job = _FakeJob("queued")
    took = _wait_with(job, [], queued=True)
    assert 1.45 <= took < 2.0, took
