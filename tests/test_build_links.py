"""The Build page opened with hostile links, and hostile spec files imported on it: a message that
names what was left out, never an exception, and an oversized network is not drawn at all."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from nnviz.model.modelfiles import SPEC_FORMAT

TIMEOUT = 120


def open_build(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    return at


def layer_rows(at: AppTest) -> int:
    """The layer editor's rows drawn: one layer-type box each."""
    return sum(1 for box in at.selectbox if str(box.key).endswith(".kind") and "new_kind" not in str(box.key))


def shown(elements) -> str:
    """What the browser shows of these elements: their Markdown without its escapes (backslashes and
    the invisible word joiners of :func:`nnviz.ui.text.plain`)."""
    return " ".join(element.proto.body for element in elements).replace("\\", "").replace("\u2060", "")


def test_a_link_of_30000_layers_draws_none_of_them_and_names_the_limit():
    # 30,000 layers is 390,000 characters: Streamlit itself drops a query string over 524,288.
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params["layers"] = "~".join(["Dense_8_relu"] * 30_000)
    at.query_params["dataset"] = "iris"
    at.run()
    assert not at.exception, at.exception
    assert "30,000 layers; this server allows 20 (NNVIZ_MAX_LAYERS)" in shown(at.warning)
    assert len(shown(at.warning)) < 1000  # the link's text is not echoed back whole
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    assert at.session_state["dataset"] == "iris"  # the rest of the link is used
    assert layer_rows(at) == 3  # iris's starter network, not the link's layers
    assert "Ready to train." in " ".join(s.value for s in at.success)


HOSTILE_LINKS = {
    "1,000 layers": ({"layers": "~".join(["Dense_8_relu"] * 1000)}, "1,000 layers; this server allows 20"),
    "Rescaling 1e308": (
        {"layers": "Rescaling_1e308_0~Dense_1_sigmoid"},
        "scale=1e+308 is outside -1e+06 to 1e+06",
    ),
    "negative units": ({"layers": "Dense_-5_relu~Dense_1_sigmoid"}, "units=-5 is outside 1 to 1,024"),
    "10^30 filters": (
        {"layers": "Conv2D_1" + "0" * 30 + "_3_1_same_relu"},
        "filters=1000000000000000000000000000000 is outside 1 to 1,024",
    ),
    "dropout 5.0": ({"layers": "Dense_8_relu~Dropout_5.0~Dense_1_sigmoid"}, "rate=5.0 is outside 0 to 0.95"),
    "unknown activation": ({"layers": "Dense_8_gelu~Dense_1_sigmoid"}, "activation='gelu' is unknown"),
    "lr 7": ({"lr": "7"}, "lr='7' was ignored: it should be between 1e-05 and 1"),
    "lr NaN": ({"lr": "NaN"}, "lr='NaN' was ignored"),
    "unknown loss": ({"loss": "cross_entropy"}, "loss='cross_entropy' was ignored: use one of"),
    "unknown optimizer": ({"optimizer": "lbfgs"}, "optimizer='lbfgs' was ignored: use one of adam"),
    "5,000-digit seed": ({"seed": "9" * 5000}, "5,000 characters long"),
    "huge epochs": ({"epochs": "1e308"}, "a whole number between 1 and 1000"),
    "long layers": ({"layers": "Dense_8_relu" + "9" * 50_000}, "characters long"),
    "bad bytes": ({"layers": "Dense_\ufffd_relu", "loss": "\ufffd"}, "Dense.units must be int"),
    "markup": ({"loss": "[x](http://evil.example) :red[**ALERT**]"}, "[x](http://evil.example)"),
}


@pytest.mark.parametrize("case", list(HOSTILE_LINKS), ids=list(HOSTILE_LINKS))
def test_the_build_page_opened_with_a_hostile_link_names_what_it_left_out(case):
    query, fragment = HOSTILE_LINKS[case]
    at = open_build({"dataset": "moons", "epochs": "7", **query} if "epochs" not in query else query)
    # The warnings of the link were shown on the first run; the page drawn after it is sound.
    assert layer_rows(at) == 3  # the moons starter network: nothing made up, nothing clamped
    ws = at.session_state["workspaces"]["moons"]
    assert [row.layer.label() for row in ws.rows] == ["Dense(8, relu)", "Dense(8, relu)", "Dense(1, sigmoid)"]
    assert (ws.loss, ws.optimizer, ws.learning_rate) == ("binary_crossentropy", "adam", 0.01)
    if "epochs" not in query:
        assert at.session_state["epochs"] == 7  # the rest of the link is used


@pytest.mark.parametrize("case", list(HOSTILE_LINKS), ids=list(HOSTILE_LINKS))
def test_the_message_of_a_hostile_link_names_the_value(case):
    query, fragment = HOSTILE_LINKS[case]
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    text = shown(at.warning)
    assert fragment in text and len(text) < 2000, text
    assert "](http" not in " ".join(w.proto.body for w in at.warning)  # escaped: never a live link


def _spec_file(model: dict | None = None, settings: dict | None = None) -> bytes:
    model = model or {
        "input_shape": [2],
        "layers": [
            {"kind": "Dense", "units": 5, "activation": "tanh"},
            {"kind": "Dense", "units": 1, "activation": "sigmoid"},
        ],
        "loss": "binary_crossentropy",
        "optimizer": "sgd",
        "learning_rate": 0.03,
    }
    return json.dumps({"format": SPEC_FORMAT, "model": model, "settings": settings or {}}).encode()


def upload(at: AppTest, raw: bytes) -> AppTest:
    [uploader] = [u for u in at.get("file_uploader") if u.proto.label.startswith("Import an architecture")]
    uploader.set_value(("spec.json", raw, "application/json")).run()
    assert not at.exception, at.exception
    return at


HOSTILE_FILES = {
    "nested 20,000 deep": (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
    "5,000-digit integer": (
        b'{"format": "nnviz-spec/1", "x": ' + b"7" * 5000 + b"}",
        "more than 4,300 digits",
    ),
    "400-digit learning rate": (
        _spec_file().replace(b'"learning_rate": 0.03', b'"learning_rate": ' + b"9" * 400 + b".5"),
        "too large for any float",
    ),
    "NaN": (_spec_file().replace(b"0.03", b"NaN"), "NaN, which is not a number JSON allows"),
    "dropout 5.0 and lr 7": (
        _spec_file(
            {
                "input_shape": [2],
                "layers": [
                    {"kind": "Dropout", "rate": 5.0},
                    {"kind": "Dense", "units": 1, "activation": "sigmoid"},
                ],
                "loss": "binary_crossentropy",
                "learning_rate": 7,
            }
        ),
        "Dropout.rate=5.0 is outside 0 to 0.95",
    ),
    "not UTF-8": (b"\xff\xfe\x00{", "not UTF-8"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_a_hostile_spec_file_gets_a_message_and_changes_nothing(case):
    raw, fragment = HOSTILE_FILES[case]
    at = open_build({})
    before = [row.layer for row in at.session_state["workspaces"]["moons"].rows]
    upload(at, raw)
    assert fragment in shown(at.error)
    assert [row.layer for row in at.session_state["workspaces"]["moons"].rows] == before


def test_out_of_range_settings_in_a_spec_file_are_named_and_the_rest_imported():
    at = open_build({})
    settings = {"epochs": 100_000, "batch_size": 33, "validation_split": 0.2, "seed": 5}
    upload(at, _spec_file(settings=settings))
    ws = at.session_state["workspaces"]["moons"]
    assert [row.layer.label() for row in ws.rows] == ["Dense(5, tanh)", "Dense(1, sigmoid)"]
    assert (ws.optimizer, ws.learning_rate) == ("sgd", 0.03)
    assert (at.session_state["seed"], at.session_state["validation_split"]) == (5, 0.2)
    assert (at.session_state["epochs"], at.session_state["batch_size"]) == (50, 16)  # left as they were
    assert "Imported 2 layers" in shown(at.success)
    warnings = shown(at.warning)
    assert "epochs=100000 was left out: it should be between 1 and 1000" in warnings
    assert "batch_size=33 was left out: use one of 1, 4, 8" in warnings


@pytest.mark.parametrize(
    ("layers", "fragment"),
    [
        ("Dense_8_relu~Dense_3_softmax~Dropout_0.2", "remove Dropout(0.2) (layer 3) after it"),
        (
            "Dense_8_relu~Dense_3_softmax~Rescaling_2.0_0.0",
            "remove Rescaling(2, offset=0) (layer 3) after it",
        ),
        (
            "Dense_3_linear~Activation_softmax~Activation_linear",
            "remove Activation(linear) (layer 3) after it",
        ),
    ],
)
def test_a_link_with_softmax_before_other_layers_opens_and_says_how_to_fix_it(layers, fragment):
    at = open_build({"dataset": "iris", "layers": layers})
    assert layer_rows(at) == 3  # the network is shown as the link wrote it, to be fixed
    errors = shown(at.error)
    assert "must be the last layer" in errors and fragment in errors
    assert "Ready to train." not in " ".join(s.value for s in at.success)


def test_settings_a_spec_file_holds_but_nnviz_does_not_use_are_named():
    at = open_build({})
    settings = {"epochs": 20, "bogus": "x", "dataset": "<b>nowhere</b>"}
    upload(at, _spec_file(settings=settings))
    assert at.session_state["epochs"] == 20  # what can be used is used
    warnings = shown(at.warning)
    assert "'bogus'='x' was left out: nnviz has no such setting" in warnings
    assert "which nnviz does not have" in warnings and "imported into Two moons" in warnings
    at = open_build({})
    upload(at, _spec_file(settings={"dataset": "iris"}))  # a known dataset, but not this one
    assert "was saved for Iris flowers" in shown(at.warning)
    at = open_build({})
    upload(at, _spec_file(settings={"dataset": "moons", "seed": 3}))  # all of it used: nothing to say
    assert not at.warning
