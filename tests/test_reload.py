"""A reload loses nothing: the address holds the setup, the server keeps the trained model per browser.

AppTest has no browser: the address is ``at.query_params`` (what a run leaves there is what the next
run is sent, as a browser would), and the browser's token is put into the session state directly.
"""

import secrets
import time

from streamlit.testing.v1 import AppTest

from nnviz.ui import sharing
from nnviz.ui.persist import TOKEN, session_store

TIMEOUT = 120  # the first TensorFlow import alone takes seconds


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def new_session(query: dict | None = None, *, token: str | None = None) -> AppTest:
    """A session as a browser opens one: with this address, and this browser's token if it has one."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    if token:
        at.session_state[TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    return at


def iris_with_seven_units() -> AppTest:
    at = new_session()
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.dataset").set_value("iris").run()
    at.switch_page("pages/build.py").run()
    first = at.session_state["workspaces"]["iris"].rows[0].id
    at.number_input(key=f"w.iris.{first}.units").set_value(7).run()
    assert not at.exception, at.exception
    return at


def test_the_address_follows_every_change_of_the_setup():
    at = new_session()
    assert at.query_params["dataset"] == "moons" and at.query_params["seed"] == "0"
    at = iris_with_seven_units()
    query = at.query_params
    assert query["dataset"] == "iris" and "points" not in query  # moons' options only for moons
    assert query["layers"] == "Dense_7_relu~Dense_8_relu~Dense_3_softmax"
    ws = at.session_state["workspaces"]["iris"]
    assert (query["loss"], query["optimizer"], query["lr"]) == (ws.loss, ws.optimizer, repr(ws.learning_rate))
    at.switch_page("pages/train.py").run()
    at.number_input(key="w.epochs").set_value(12).run()
    assert at.query_params["epochs"] == "12"


def test_a_new_session_with_that_address_gets_the_same_setup_without_a_toast():
    before = iris_with_seven_units()
    after = new_session(dict(before.query_params))
    after.switch_page("pages/build.py").run()
    for key in ("dataset", "seed", "epochs", "batch_size", "validation_split"):
        assert after.session_state[key] == before.session_state[key], key
    mine, theirs = before.session_state["workspaces"]["iris"], after.session_state["workspaces"]["iris"]
    assert [r.layer for r in theirs.rows] == [r.layer for r in mine.rows]
    assert after.query_params == before.query_params
    # The address this session wrote itself is not news on the next run.
    after.run()
    assert not after.toast and after.session_state["workspaces"]["iris"] is theirs


def test_a_step_back_in_the_browser_is_applied_to_the_workspace(monkeypatch):
    """Back/forward: the browser sends an address the session did not write last."""
    at = iris_with_seven_units()
    monkeypatch.setattr(sharing, "_history_navigation", lambda: True)  # AppTest cannot press Back
    ws = at.session_state["workspaces"]["iris"]
    at.query_params["layers"] = "Dense_5_tanh~Dense_3_softmax"
    at.query_params["lr"] = "0.003"
    at.query_params["seed"] = "4"
    at.run()
    assert [r.layer.label() for r in ws.rows] == ["Dense(5, tanh)", "Dense(3, softmax)"]
    assert ws.learning_rate == 0.003 and at.session_state["seed"] == 4
    assert "Opened the shared setup" in texts(at.toast)
    first = ws.rows[0].id
    assert at.number_input(key=f"w.iris.{first}.units").value == 5  # the editor shows the new network
    at.query_params.clear()  # a page opened from the menu keeps the setup
    at.run()
    assert at.query_params["layers"] == "Dense_5_tanh~Dense_3_softmax"


def test_an_older_address_sent_by_an_ordinary_rerun_does_not_undo_a_change():
    at = iris_with_seven_units()
    at.query_params["layers"] = "Dense_5_tanh~Dense_3_softmax"  # as an st.rerun() taken mid-change
    at.run()
    assert at.session_state["workspaces"]["iris"].rows[0].layer.units == 7
    assert at.query_params["layers"].startswith("Dense_7_relu")


def test_presentation_mode_leaves_the_address_when_a_step_back_says_so(monkeypatch):
    monkeypatch.setattr(sharing, "_history_navigation", lambda: True)
    at = new_session({"present": "1"})
    assert at.session_state["present"] is True and at.query_params["present"] == "1"
    query = dict(at.query_params)
    del query["present"]
    at.query_params.clear()
    at.query_params.update(query)  # back to the address before presentation mode
    at.run()
    assert at.session_state["present"] is False


def test_a_reload_adopts_the_browsers_trained_model():
    at = new_session()
    token = at.session_state[TOKEN]  # what the browser's cookie now holds
    at.switch_page("pages/train.py").run()
    at.number_input(key="w.epochs").set_value(2).run()
    at.button(key="train.start").click().run()
    ws = at.session_state["workspaces"]["moons"]
    deadline = time.monotonic() + TIMEOUT
    while ws.job is not None and ws.job.running:  # as the live view's timer reruns in a browser
        assert time.monotonic() < deadline, "the run did not end in time"
        at.run()
    at.run()
    assert not at.exception, at.exception
    assert len(ws.history) == 2 and ws.model is not None

    reloaded = new_session(dict(at.query_params), token=token)
    assert not reloaded.toast and not reloaded.warning  # the address holds nothing new
    reloaded.switch_page("pages/train.py").run()
    assert not reloaded.exception, reloaded.exception
    restored = reloaded.session_state["workspaces"]["moons"]
    assert restored.model is ws.model and len(restored.history) == 2
    assert "2 epochs trained so far" in texts(reloaded.markdown)
    assert reloaded.session_state["epochs"] == 2
    assert "rebuilt" not in texts(reloaded.info)

    other = new_session(dict(at.query_params))  # another browser, with the same address
    other.switch_page("pages/train.py").run()
    assert other.session_state["workspaces"]["moons"].history == []
    assert "Not trained yet." in texts(other.markdown)


def test_an_unknown_token_says_the_model_could_not_be_restored_once():
    token = secrets.token_urlsafe(32)
    at = new_session({"dataset": "iris"}, token=token)
    assert "could not be restored" in texts(at.warning) and "train again" in texts(at.warning)
    assert at.session_state["dataset"] == "iris"
    assert at.session_state[TOKEN] != token  # a fresh token: the browser's is not reused
    at.run()
    assert "could not be restored" not in texts(at.warning)


def test_an_uploaded_csv_comes_back_although_the_address_cannot_name_it():
    from nnviz.data.csvdata import csv_dataset, read_csv

    table = read_csv(
        b"a,b,label\n" + b"".join(b"%d,%d,%d\n" % (i, i % 7, i % 2) for i in range(40)), name="x.csv"
    )
    dataset, notes = csv_dataset(table, target="label", task="infer", random_state=0)
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state["dataset"], at.session_state["csv_dataset"] = "csv", dataset
    at.run()
    token = at.session_state[TOKEN]
    assert not at.exception and "dataset" not in at.query_params
    reloaded = new_session(dict(at.query_params), token=token)
    assert reloaded.session_state["dataset"] == "csv" and reloaded.session_state["csv_dataset"] is dataset
    assert session_store().get(token)["csv_dataset"] is dataset


def test_what_is_kept_is_counted_with_weights_optimizer_slots_and_kerass_own_cost():
    from types import SimpleNamespace

    import numpy as np

    from nnviz.data.datasets import load_two_moons
    from nnviz.ui.persist import kept_bytes
    from nnviz.ui.state import Workspace

    ws = Workspace.starter(load_two_moons(100, random_state=0))
    assert kept_bytes({"workspaces": {"moons": ws}, "csv_dataset": None}) == 0
    weights = [SimpleNamespace(shape=(1000, 250), dtype="float32")]  # 1 MB
    ws.model = SimpleNamespace(weights=weights)
    untrained = kept_bytes({"workspaces": {"moons": ws}, "csv_dataset": None})
    ws.history.append({"loss": 1.0})
    ws.snapshots.add(1, [np.zeros((1000, 250), np.float32)])
    trained = kept_bytes({"workspaces": {"moons": ws}, "csv_dataset": None})
    assert untrained >= 3 * 10**6  # the weights, two optimizer slots, and more
    assert trained - untrained >= 10**6 + 5 * 2**20  # the snapshot, and the traced train step's cost
