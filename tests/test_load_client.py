"""The load test's protocol client (``tests/load/protocol.py``) against the real app, and a short Locust run.

The client stands in for browsers in the load test, so it must do what a browser does: a widget it
changes must change the page, a live view must advance by its fragment timer, and a broken page
(an exception element, a closed socket) must fail the step rather than pass unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from nnviz.bench import free_port, launch_app, wait_until_healthy
from tests.load.protocol import PageError, StreamlitClient

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "test-artifacts" / "load"


@pytest.fixture(scope="module")
def app_url():
    port = free_port()
    server = launch_app(port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url, timeout_s=120)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def client(app_url):
    with StreamlitClient(app_url) as user:
        user.connect(timeout_s=120)
        yield user


def _layers(client: StreamlitClient) -> int:
    return len(client.widgets("Layer type")) + len(client.widgets("Output layer"))


def test_picking_a_dataset_changes_the_page_the_sidebar_and_the_address(client):
    assert client.shows("nnviz") and not client.shows("Task: 3 classes")
    client.goto("1 · Data")
    assert client.shows("Task: 2 classes")  # two moons, the default
    box = client.widget("Dataset", "selectbox")
    iris = next(option for option in box.selectbox.options if option.startswith("Iris"))
    seconds = client.set("Dataset", iris)
    assert 0 < seconds < 60
    assert client.shows("Task: 3 classes") and client.shows("Training rows: 120")  # 150 rows, 20 % held out
    assert client.shows(f"**Dataset:** {iris}")  # the sidebar, drawn by app.py
    assert "dataset=iris" in client.query_string  # page_info_changed followed, as the address bar does
    assert not client.widgets("Noise")  # the moons' sliders are gone from the page


def test_slider_number_input_and_button_each_send_their_own_value_field(client):
    client.goto("1 · Data")
    client.set("Noise", 0.3)  # a float slider: double_array_value
    assert client.shows("noise 0.3,")
    client.set("Number of points", 500)  # an int slider
    assert client.shows("500 points") and client.shows("Training rows: 400")
    client.goto("2 · Build")
    before = _layers(client)
    client.click("Add layer")  # a button: a one-shot trigger_value
    assert _layers(client) == before + 1
    client.click("Add layer")  # the trigger is sent once per click, not remembered
    assert _layers(client) == before + 2
    client.set("Units", 17, "number_input", index=0)  # an int number input: int_value
    assert client.shows("units=17")
    client.set("Learning rate", "0.0001")  # a select slider: string_array_value
    assert client.shows("learning_rate=0.0001")


def test_the_live_view_advances_by_the_clients_fragment_timer_until_done(client):
    client.goto("3 · Train")
    client.set("Epochs", 150)
    before = len(client.runs)
    started = time.perf_counter()
    client.click("Train")
    done = client.wait_for(lambda: client.shows("Done: 150 epochs in"), "training", timeout_s=300)
    assert done > started
    fragment_runs = [run for run in client.runs[before:] if run.fragment_ids]
    # the live fragment reran (the client's run_every timer) and the run's end redrew the whole page
    assert len(fragment_runs) >= 2, client.runs[before:]
    assert not client._timers  # the full run after the run stopped the timer, as the frontend does
    client.goto("5 · Inspect")
    assert client.shows("Prediction:")


def test_asking_for_what_the_page_does_not_offer_fails_with_what_it_offers(client):
    with pytest.raises(PageError, match="no page 'Nowhere'.*1 · Data"):
        client.goto("Nowhere")
    client.goto("1 · Data")
    with pytest.raises(PageError, match="'Fashion' is not an option of 'Dataset'.*Two moons"):
        client.set("Dataset", "Fashion")
    with pytest.raises(PageError, match="no widget 'Units'.*Dataset"):
        client.set("Units", 3)


def test_a_closed_connection_fails_the_next_wait(client):
    client.close()
    with pytest.raises(PageError, match="connection is closed"):
        client.wait_for(lambda: False, "anything", timeout_s=5)
    with pytest.raises(PageError, match="not connected|connection is closed"):
        client.goto("1 · Data")


# -- the element tree, from hand-made messages (no server) ---------------------------------------


def _message(kind: str, *, path=(), run="", fragments=(), fragment="", **fields) -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path[:] = list(path)
    msg.metadata.run.script_run_id = run
    msg.metadata.run.fragment_ids[:] = list(fragments)
    if kind == "new_session":
        msg.new_session.main_script_hash = "main"
    elif kind == "script_finished":
        msg.script_finished = fields["status"]
    elif kind == "markdown":
        msg.delta.new_element.markdown.body = fields["body"]
        msg.delta.fragment_id = fragment
    elif kind == "exception":
        msg.delta.new_element.exception.type = "ValueError"
        msg.delta.new_element.exception.message = fields["body"]
    elif kind == "block":
        msg.delta.add_block.vertical.SetInParent()
        msg.delta.fragment_id = fragment
    return msg


def _feed(client: StreamlitClient, *messages: ForwardMsg) -> None:
    for msg in messages:
        client._handle(msg)


def test_a_run_drops_what_it_did_not_draw_again_and_a_fragment_run_only_within_its_fragment():
    client = StreamlitClient("http://127.0.0.1:1")
    done, fragment_done = ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
    _feed(
        client,
        _message("new_session", run="r1"),
        _message("markdown", path=(0, 0), body="title"),
        _message("block", path=(0, 1), fragment="f"),
        _message("markdown", path=(0, 1, 0), body="epoch 1", fragment="f"),
        _message("markdown", path=(0, 1, 1), body="chart 1", fragment="f"),
        _message("markdown", path=(0, 2), body="old note"),
        _message("script_finished", run="r1", status=done),
    )
    assert client.texts() == ["title", "epoch 1", "chart 1", "old note"]
    # the fragment reruns and draws one element: the other in the fragment goes, the rest stays
    _feed(
        client,
        _message("new_session", run="r2", fragments=("f",)),
        _message("markdown", path=(0, 1, 0), body="epoch 2", fragment="f"),
        _message("script_finished", run="r2", fragments=("f",), status=fragment_done),
    )
    assert client.texts() == ["title", "epoch 2", "old note"]
    # a run cut short by the next one keeps everything until a run completes
    _feed(
        client,
        _message("new_session", run="r3"),
        _message("markdown", path=(0, 0), body="title"),
        _message("script_finished", run="r3", status=ForwardMsg.FINISHED_EARLY_FOR_RERUN),
    )
    assert client.texts() == ["title", "epoch 2", "old note"]
    _feed(
        client,
        _message("new_session", run="r4"),
        _message("markdown", path=(0, 0), body="title"),
        _message("markdown", path=(0, 1), body="an element where the block was"),
        _message("script_finished", run="r4", status=done),
    )
    assert client.texts() == ["title", "an element where the block was"]


def test_an_exception_element_fails_the_wait_with_its_message():
    client = StreamlitClient("http://127.0.0.1:1")
    _feed(
        client,
        _message("new_session", run="r1"),
        _message("exception", path=(0, 0), body="units=-5 broke it"),
        _message("script_finished", run="r1", status=ForwardMsg.FINISHED_SUCCESSFULLY),
    )
    with pytest.raises(PageError, match="exception on the page: ValueError: units=-5 broke it"):
        client.wait_for(lambda: True, "anything", timeout_s=5)


# -- the load test itself, short -----------------------------------------------------------------


def test_ten_simulated_users_walk_the_whole_loop_without_a_failure():
    """``python -m tests.load --users 10``: its own server, Locust headless, reports written."""
    label = "ci"
    completed = subprocess.run(
        [sys.executable, "-m", "tests.load", "--users", "10", "--label", label, "--max-minutes", "3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    (summary,) = json.loads((OUT / f"{label}.json").read_text())
    assert summary["failures"] == 0, summary["first_failures"]
    assert summary["completed"] == 10
    assert summary["trainings"] == 2  # users 0 and 5
    assert summary["interactions"] >= 10 * 7
    for report in (f"{label}-10_stats.csv", f"{label}-10.html", f"{label}-10-samples.json"):
        assert (OUT / report).stat().st_size > 0
    assert "| 10 | 10 | 0 |" in completed.stdout
