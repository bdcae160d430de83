"""Hostile or broken links and spec files: every bad value is named (field, value, allowed range),
never clamped, replaced or turned into a traceback; oversized input is refused before it is read;
a softmax or sigmoid output must be the last layer."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

from nnviz.explain.trace import layer_trace
from nnviz.model import sharelink
from nnviz.model import spec as spec_module
from nnviz.model.build import build_model
from nnviz.model.modelfiles import MAX_SPEC_BYTES, SPEC_FORMAT, ModelFileError, read_spec_json, spec_json
from nnviz.model.sharelink import from_query, parse_layers
from nnviz.model.spec import LayerSpec, Limits, ModelSpec, SpecError, Target, check_spec

LIMITS = Limits()
IRIS = Target("multiclass", 3, "species")
MOONS = Target("binary", 2, "moon")
DIGITS = Target("multiclass", 10, "digit")

# --------------------------------------------------------------------------- #
# Out-of-range and unknown layer options, from a link and from a spec file
# --------------------------------------------------------------------------- #

# (layer in link notation, the same layer as JSON, field, bad value as shown, allowed range as shown)
BAD_OPTIONS = [
    ("Dense_-5_relu", {"kind": "Dense", "units": -5}, "units", "-5", "1 to 1,024"),
    ("Dense_0_relu", {"kind": "Dense", "units": 0}, "units", "0", "1 to 1,024"),
    ("Dense_1025_relu", {"kind": "Dense", "units": 1025}, "units", "1025", "1 to 1,024"),
    (
        "Dense_" + "1" + "0" * 30 + "_relu",
        {"kind": "Dense", "units": 10**30},
        "units",
        "1000000000",
        "1 to 1,024",
    ),
    (
        "Dense_8_gelu",
        {"kind": "Dense", "units": 8, "activation": "gelu"},
        "activation",
        "'gelu'",
        "linear, relu",
    ),
    ("Dense_8_", {"kind": "Dense", "units": 8, "activation": ""}, "activation", "''", "linear, relu"),
    (
        "Dense_8_Relu",
        {"kind": "Dense", "activation": "Relu"},
        "activation",
        "'Relu'",
        "sigmoid, tanh, softmax",
    ),
    ("Activation_elu", {"kind": "Activation", "activation": "elu"}, "activation", "'elu'", "linear, relu"),
    ("Dropout_5.0", {"kind": "Dropout", "rate": 5.0}, "rate", "5.0", "0 to 0.95"),
    ("Dropout_-0.1", {"kind": "Dropout", "rate": -0.1}, "rate", "-0.1", "0 to 0.95"),
    ("Dropout_0.96", {"kind": "Dropout", "rate": 0.96}, "rate", "0.96", "0 to 0.95"),
    ("Dropout_1", {"kind": "Dropout", "rate": 1}, "rate", "1.0", "0 to 0.95"),
    ("Dropout_nan", None, "rate", "nan", "0 to 0.95"),
    ("Dropout_inf", None, "rate", "inf", "0 to 0.95"),
    (
        "Rescaling_1e308_0",
        {"kind": "Rescaling", "scale": 1e308, "offset": 0},
        "scale",
        "1e+308",
        "-1e+06 to 1e+06",
    ),
    (
        "Rescaling_3e38_0",
        {"kind": "Rescaling", "scale": 3e38, "offset": 0},
        "scale",
        "3e+38",
        "-1e+06 to 1e+06",
    ),
    (
        "Rescaling_1_-1e7",
        {"kind": "Rescaling", "scale": 1, "offset": -1e7},
        "offset",
        "-10000000.0",
        "-1e+06",
    ),
    ("Rescaling_1e400_0", None, "scale", "inf", "-1e+06 to 1e+06"),
    ("Rescaling_nan_0", None, "scale", "nan", "-1e+06 to 1e+06"),
    ("Rescaling_0_-inf", None, "offset", "-inf", "-1e+06 to 1e+06"),
    (
        "Conv2D_" + "1" + "0" * 30 + "_3_1_same_relu",
        {"kind": "Conv2D", "filters": 10**30},
        "filters",
        "1000000000",
        "1 to 1,024",
    ),
    ("Conv2D_0_3_1_same_relu", {"kind": "Conv2D", "filters": 0}, "filters", "0", "1 to 1,024"),
    ("Conv2D_8_0_1_same_relu", {"kind": "Conv2D", "kernel_size": 0}, "kernel_size", "0", "1 to 11"),
    ("Conv2D_8_100_1_same_relu", {"kind": "Conv2D", "kernel_size": 100}, "kernel_size", "100", "1 to 11"),
    ("Conv2D_8_3_0_same_relu", {"kind": "Conv2D", "strides": 0}, "strides", "0", "1 to 11"),
    ("Conv2D_8_3_12_same_relu", {"kind": "Conv2D", "strides": 12}, "strides", "12", "1 to 11"),
    ("Conv2D_8_3_1_full_relu", {"kind": "Conv2D", "padding": "full"}, "padding", "'full'", "valid, same"),
    ("Conv2D_8_3_1_same_swish", {"kind": "Conv2D", "activation": "swish"}, "activation", "'swish'", "relu"),
    ("MaxPooling2D_0", {"kind": "MaxPooling2D", "pool_size": 0}, "pool_size", "0", "1 to 11"),
    ("MaxPooling2D_-3", {"kind": "MaxPooling2D", "pool_size": -3}, "pool_size", "-3", "1 to 11"),
    ("MaxPooling2D_12", {"kind": "MaxPooling2D", "pool_size": 12}, "pool_size", "12", "1 to 11"),
    (
        "Reshape_0x784",
        {"kind": "Reshape", "target_shape": [0, 784]},
        "target_shape",
        "(0, 784)",
        "1 to 3 sizes",
    ),
    (
        "Reshape_100001",
        {"kind": "Reshape", "target_shape": [100001]},
        "target_shape",
        "(100001,)",
        "1 to 100,000",
    ),
]


@pytest.mark.parametrize(("text", "_json", "field", "value", "allowed"), BAD_OPTIONS)
def test_a_bad_layer_option_in_a_link_is_named_with_its_value_and_range(text, _json, field, value, allowed):
    link = {"layers": f"Dense_4_relu~{text}~Dense_3_softmax", "lr": "0.03", "epochs": "7"}
    settings, problems = from_query(link, limits=LIMITS)
    assert settings == {"learning_rate": 0.03, "epochs": 7}  # the rest is used; no layer is made up
    [problem] = problems
    assert f"layer 2: {text.split('_')[0]}.{field}={value}" in problem
    assert allowed in problem


@pytest.mark.parametrize(
    ("text", "layer", "field", "value", "allowed"), [case for case in BAD_OPTIONS if case[1] is not None]
)
def test_a_bad_layer_option_in_a_spec_file_is_named_with_its_value_and_range(
    text, layer, field, value, allowed
):
    document = _document(layers=[{"kind": "Dense", "units": 4, "activation": "relu"}, layer])
    with pytest.raises(ModelFileError) as caught:
        read_spec_json(document, limits=LIMITS)
    message = str(caught.value)
    assert f"Layer 2: {layer['kind']}.{field}={value}" in message and allowed in message


def test_every_problem_of_a_layer_list_is_named_not_only_the_first():
    _, problems = from_query({"layers": "Dense_-5_gelu~Dropout_5.0~Conv2D_0_0_0_full_swish"}, limits=LIMITS)
    text = problems[0]
    for fragment in (
        "units=-5",
        "activation='gelu'",
        "rate=5.0",
        "filters=0",
        "kernel_size=0",
        "strides=0",
        "padding='full'",
        "activation='swish'",
    ):
        assert fragment in text


def test_edge_values_are_accepted_as_they_are():
    text = "Dense_1_linear~Dense_1024_softmax~Dropout_0.0~Dropout_0.95~Rescaling_1000000.0_-1000000.0~Conv2D_1024_11_11_valid_tanh~MaxPooling2D_11~Reshape_100000"
    layers = parse_layers(text, limits=LIMITS)
    assert layers[1].units == 1024 and layers[3].rate == 0.95 and layers[4].offset == -1e6
    assert layers[5].kernel_size == 11 and layers[-1].target_shape == (100_000,)


@pytest.mark.parametrize("limit", [4, 64])
def test_the_unit_limit_follows_the_server(limit):
    limits = Limits(max_units=limit)
    assert parse_layers(f"Dense_{limit}_relu", limits=limits)[0].units == limit
    with pytest.raises(SpecError, match=f"units={limit + 1} is outside 1 to {limit}"):
        parse_layers(f"Dense_{limit + 1}_relu", limits=limits)


# --------------------------------------------------------------------------- #
# Compile and fit settings
# --------------------------------------------------------------------------- #

BAD_SETTINGS = [
    ("lr", "7", "between 1e-05 and 1"),
    ("lr", "1.5", "between 1e-05 and 1"),
    ("lr", "0", "between 1e-05 and 1"),
    ("lr", "-0.01", "between 1e-05 and 1"),
    ("lr", "1e-6", "between 1e-05 and 1"),
    ("lr", "nan", "between 1e-05 and 1"),
    ("lr", "inf", "between 1e-05 and 1"),
    ("lr", "1" * 400, "400 characters long; a setting takes at most 100"),
    ("lr", "1" * 99, "between 1e-05 and 1"),
    ("lr", "fast", "a number between 1e-05 and 1"),
    ("loss", "cross_entropy", "use one of sparse_categorical_crossentropy"),
    ("loss", "", "use one of"),
    ("optimizer", "lbfgs", "use one of adam, sgd, rmsprop"),
    ("optimizer", "Adam", "use one of adam"),
    ("dataset", "cifar", "use one of moons"),
    ("epochs", "0", "between 1 and 1000"),
    ("epochs", "1001", "between 1 and 1000"),
    ("epochs", "1" * 5000, "characters long"),
    ("epochs", "2.5", "a whole number between 1 and 1000"),
    ("seed", "-1", "between 0 and 2147483647"),
    ("seed", "2147483648", "between 0 and 2147483647"),
    ("seed", "1e3", "a whole number between 0 and 2147483647"),
    ("batch", "33", "use one of 1, 4, 8"),
    ("batch", "32.0", "use one of 1, 4, 8"),
    ("batch", "-32", "use one of 1, 4, 8"),
    ("val", "0.6", "between 0 and 0.5"),
    ("val", "-0.1", "between 0 and 0.5"),
    ("val", "NaN", "between 0 and 0.5"),
    ("noise", "5", "between 0 and 0.5"),
    ("points", "10", "between 50 and 2000"),
    ("points", "10" * 60, "characters long"),
]


@pytest.mark.parametrize(("name", "text", "allowed"), BAD_SETTINGS)
def test_a_bad_setting_in_a_link_is_named_and_the_rest_kept(name, text, allowed):
    settings, problems = from_query(
        {name: text, "layers": "Dense_3_softmax", "epochs" if name != "epochs" else "seed": "9"}
    )
    [problem] = problems
    assert problem.startswith(f"The link's {name}=") and allowed in problem
    assert text[:20] in problem  # the value is named (a long one shortened)
    assert len(problem) < 300
    assert settings["layers"] == (LayerSpec("Dense", 3, "softmax"),) and len(settings) == 2


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("learning_rate", 7, "learning_rate=7 is outside 1e-05 to 1"),
        ("learning_rate", 0, "learning_rate=0 is outside"),
        ("learning_rate", "0.01", "learning_rate='0.01' must be a number"),
        ("learning_rate", True, "learning_rate=True must be a number"),
        ("learning_rate", 10**400, "(401 characters) is outside 1e-05 to 1"),
        ("loss", "nope", "loss='nope' is unknown; use one of sparse_categorical_crossentropy"),
        ("loss", None, "loss=None is unknown"),
        ("optimizer", "adamw", "optimizer='adamw' is unknown; use one of adam, sgd, rmsprop"),
        ("optimizer", 3, "optimizer=3 is unknown"),
    ],
)
def test_bad_compile_settings_in_a_spec_file_are_named(key, value, fragment):
    with pytest.raises(ModelFileError) as caught:
        read_spec_json(_document(**{key: value}), limits=LIMITS)
    assert fragment in str(caught.value)


def test_check_spec_names_a_learning_rate_the_widget_does_not_offer():
    spec = ModelSpec((4,), (LayerSpec("Dense", 3, "softmax"),), "sparse_categorical_crossentropy", "sgd", 7.0)
    assert check_spec(spec, IRIS, LIMITS) == ["learning_rate=7.0 is outside 1e-05 to 1; try 0.01."]


# --------------------------------------------------------------------------- #
# Files that are not what they claim: never a traceback
# --------------------------------------------------------------------------- #


def _document(**model_changes) -> bytes:
    model = {
        "input_shape": [4],
        "layers": [{"kind": "Dense", "units": 3, "activation": "softmax"}],
        "loss": "sparse_categorical_crossentropy",
        "optimizer": "adam",
        "learning_rate": 0.01,
        **model_changes,
    }
    return json.dumps({"format": SPEC_FORMAT, "model": model, "settings": {}}).encode()


def _raw_document(model_json: str) -> bytes:
    return f'{{"format": "{SPEC_FORMAT}", "model": {model_json}, "settings": {{}}}}'.encode()


HOSTILE_FILES = {
    "nested 20,000 deep": (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
    "nested objects": (b'{"a":' * 15_000 + b"1" + b"}" * 15_000, "nested too deeply"),
    "5,000-digit integer": (_raw_document('{"input_shape": [' + "7" * 5000 + "]}"), "more than 4,300 digits"),
    "400-digit learning rate": (
        _raw_document(
            '{"input_shape": [4], "layers": [], "loss": "mse", "learning_rate": ' + "9" * 400 + ".5}"
        ),
        "too large for any float",
    ),
    "400-digit whole learning rate": (
        _raw_document(
            '{"input_shape": [4], "layers": [], "loss": "mse", "learning_rate": ' + "9" * 400 + "}"
        ),
        "is outside 1e-05 to 1",
    ),
    "NaN": (_raw_document('{"input_shape": [4], "layers": [], "loss": "mse", "learning_rate": NaN}'), "NaN"),
    "Infinity": (
        _raw_document('{"input_shape": [4], "layers": [], "loss": "mse", "learning_rate": Infinity}'),
        "Infinity",
    ),
    "-Infinity scale": (
        _raw_document(
            '{"input_shape": [4], "layers": [{"kind": "Rescaling", "scale": -Infinity}], "loss": "mse"}'
        ),
        "-Infinity",
    ),
    "1e999 scale": (
        _raw_document(
            '{"input_shape": [4], "layers": [{"kind": "Rescaling", "scale": 1e999}], "loss": "mse"}'
        ),
        "too large for any float",
    ),
    "not UTF-8": (b'{"format": "\xff\xfe"}', "not UTF-8"),
    "UTF-16": ('{"format": "nnviz-spec/1"}'.encode("utf-16"), "not UTF-8"),
    "lone surrogate in a kind": (
        _raw_document('{"input_shape": [4], "layers": [{"kind": "\\ud800"}], "loss": "mse"}'),
        "is not supported",
    ),
    "huge input shape": (_document(input_shape=[10**200, 10**200]), "over 10³⁰"),
    "huge layer list": (
        _document(layers=[{"kind": "Flatten"}] * 4000),
        "this server allows 20 (NNVIZ_MAX_LAYERS)",
    ),
    "long unknown kind": (_document(layers=[{"kind": "x" * 50_000}]), "(50,002 characters)"),
    "too big": (b"[" + b"0," * MAX_SPEC_BYTES + b"0]", "a spec is at most"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_hostile_spec_files_get_a_message_not_a_traceback(case):
    raw, fragment = HOSTILE_FILES[case]
    with pytest.raises(ModelFileError) as caught:
        read_spec_json(raw, limits=LIMITS)
    message = str(caught.value)
    assert fragment in message and len(message) < 1000
    message.encode("utf-8")  # shown by the browser: no lone surrogates


HOSTILE_LINKS = {
    "Rescaling 1e308": ({"layers": "Rescaling_1e308_0~Dense_3_softmax"}, "scale=1e+308 is outside"),
    "units 10**5000": ({"layers": f"Dense_{'9' * 5000}_relu"}, "characters long"),
    "units with 400 digits": (
        {"layers": f"Dense_{'9' * 400}_relu"},
        "(400 characters) is outside 1 to 1,024",
    ),
    "units with 401 digits": ({"layers": f"Dense_{'9' * 401}_relu"}, "Dense.units must be int"),
    "unicode digits": ({"layers": "Dense_٣_relu"}, "Dense.units must be int"),
    "replacement characters": ({"layers": "Dense_\ufffd\ufffd_relu"}, "Dense.units must be int"),
    "lone surrogate": ({"layers": "\udcff_8"}, "is not a layer kind"),
    "negative nan": ({"lr": "-nan"}, "between 1e-05 and 1"),
    "very long lr": ({"lr": "0." + "1" * 100_000}, "characters long"),
    "very long layer kind": ({"layers": "x" * 1500}, "is not a layer kind"),
    "very long layers value": ({"layers": "Dense_8_relu" + "_" * 100_000}, "characters long"),
    "empty layers": ({"layers": ""}, "'' is not a layer kind"),
    "only separators": ({"layers": "~~~"}, "'' is not a layer kind"),
    "control characters": ({"loss": "mse\x00\x1b[31m"}, "use one of"),
}


@pytest.mark.parametrize("case", list(HOSTILE_LINKS), ids=list(HOSTILE_LINKS))
def test_hostile_links_get_a_short_message_naming_the_parameter(case):
    query, fragment = HOSTILE_LINKS[case]
    settings, problems = from_query(query, limits=LIMITS)
    assert settings == {}
    [problem] = problems
    assert fragment in problem and len(problem) < 2000, problem
    assert problem.startswith(f"The link's {next(iter(query))}=")
    problem.encode("utf-8")  # shown by the browser: a lone surrogate would fail to be sent


# --------------------------------------------------------------------------- #
# Oversized input is refused before anything is read
# --------------------------------------------------------------------------- #


@pytest.fixture
def layers_read(monkeypatch):
    """Counts the layers read into LayerSpecs, from links and from files."""
    calls = []

    def counting(data, **kwargs):
        calls.append(data)
        return original(data, **kwargs)

    original = spec_module.layer_from_dict
    monkeypatch.setattr(sharelink, "layer_from_dict", counting)
    monkeypatch.setattr(spec_module, "layer_from_dict", counting)
    return calls


@pytest.mark.parametrize("count", [21, 1_000, 100_000])
def test_a_link_with_too_many_layers_reads_none_of_them(count, layers_read):
    settings, problems = from_query(
        {"layers": "~".join(["Dense_8_relu"] * count), "seed": "3"}, limits=LIMITS
    )
    assert settings == {"seed": 3}
    assert f"{count:,} layers; this server allows 20 (NNVIZ_MAX_LAYERS)" in problems[0]
    assert layers_read == []


def test_the_layer_limit_is_the_servers(layers_read):
    text = "~".join(["Dense_8_relu"] * 20)
    assert len(parse_layers(text, limits=LIMITS)) == 20 and len(layers_read) == 20
    with pytest.raises(SpecError, match=r"20 layers; this server allows 5 \(NNVIZ_MAX_LAYERS\)"):
        parse_layers(text, limits=Limits(max_layers=5))
    assert len(layers_read) == 20  # none more


def test_a_long_layers_value_is_refused_before_it_is_split(monkeypatch, layers_read):
    text = "Dense_8_relu" + "0" * 10_000_000  # one "layer", 10 MB
    settings, problems = from_query({"layers": text}, limits=LIMITS)
    assert settings == {} and "10,000,012 characters long; 20 layers take at most 1,600" in problems[0]
    assert layers_read == []


@pytest.mark.parametrize("count", [21, 500, 4_000])
def test_a_spec_file_with_too_many_layers_reads_none_of_them(count, layers_read):
    with pytest.raises(ModelFileError, match=f"{count:,} layers; this server allows 20"):
        read_spec_json(_document(layers=[{"kind": "Flatten"}] * count), limits=LIMITS)
    assert layers_read == []


def test_the_limit_comes_from_nnviz_max_layers(monkeypatch):
    monkeypatch.setenv("NNVIZ_MAX_LAYERS", "3")
    _, problems = from_query({"layers": "Flatten~Flatten~Flatten~Flatten"})
    assert "4 layers; this server allows 3 (NNVIZ_MAX_LAYERS)" in problems[0]
    assert from_query({"layers": "Flatten~Flatten~Flatten"})[1] == []


# --------------------------------------------------------------------------- #
# A softmax or sigmoid that makes the output must be the last layer
# --------------------------------------------------------------------------- #

SCCE, BCE = "sparse_categorical_crossentropy", "binary_crossentropy"


def _spec(*layers, shape=(4,), loss=SCCE):
    return ModelSpec(shape, tuple(layers), loss, "adam", 0.01)


HEADS_NOT_LAST = [
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("Dropout", rate=0.2)),
        IRIS,
        SCCE,
        "Dropout(0.2) (layer 2)",
    ),
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("Rescaling", scale=2.0, offset=0.0)),
        IRIS,
        SCCE,
        "Rescaling(2, offset=0) (layer 2)",
    ),
    (
        (
            LayerSpec("Dense", 3, "linear"),
            LayerSpec("Activation", activation="softmax"),
            LayerSpec("Dropout"),
        ),
        IRIS,
        SCCE,
        "Dropout(0.2) (layer 3)",
    ),
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("Activation", activation="linear")),
        IRIS,
        SCCE,
        "Activation(linear) (layer 2)",
    ),
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("BatchNormalization")),
        IRIS,
        SCCE,
        "BatchNormalization (layer 2)",
    ),
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("Reshape", target_shape=(3,))),
        IRIS,
        SCCE,
        "Reshape(3) (layer 2)",
    ),
    ((LayerSpec("Dense", 3, "softmax"), LayerSpec("Flatten")), IRIS, SCCE, "Flatten (layer 2)"),
    (
        (LayerSpec("Dense", 3, "softmax"), LayerSpec("Dropout"), LayerSpec("Rescaling", scale=1.0)),
        IRIS,
        SCCE,
        "Dropout(0.2) (layer 2), Rescaling(1, offset=0) (layer 3)",
    ),
    (
        (LayerSpec("Dense", 1, "sigmoid"), LayerSpec("Dropout", rate=0.5)),
        MOONS,
        BCE,
        "Dropout(0.5) (layer 2)",
    ),
    (
        (LayerSpec("Dense", 1, "sigmoid"), LayerSpec("Rescaling", scale=1.0, offset=0.5)),
        MOONS,
        BCE,
        "Rescaling(1, offset=0.5) (layer 2)",
    ),
    (
        (
            LayerSpec("Dense", 1, "linear"),
            LayerSpec("Activation", activation="sigmoid"),
            LayerSpec("BatchNormalization"),
        ),
        MOONS,
        BCE,
        "BatchNormalization (layer 3)",
    ),
]


@pytest.mark.parametrize(("layers", "target", "loss", "after"), HEADS_NOT_LAST)
def test_a_probability_output_followed_by_layers_is_refused_with_the_fix(layers, target, loss, after):
    [problem] = check_spec(_spec(*layers, shape=(2,) if target is MOONS else (4,), loss=loss), target, LIMITS)
    activation = "softmax" if loss == SCCE else "sigmoid"
    assert f"ends in {activation}" in problem and "must be the last layer" in problem
    assert f"remove {after} after it, or move {activation} to the last layer" in problem


def test_an_image_network_with_softmax_before_a_dropout_is_refused():
    layers = (LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax"), LayerSpec("Dropout", rate=0.3))
    [problem] = check_spec(_spec(*layers, shape=(28, 28)), DIGITS, LIMITS)
    assert problem.startswith("Layer 2 (Dense(10, softmax)) ends in softmax")


HIDDEN_SOFTMAX = [
    _spec(LayerSpec("Dense", 4, "softmax"), LayerSpec("Dense", 3, "softmax")),
    _spec(LayerSpec("Dense", 3, "softmax"), LayerSpec("Activation", activation="softmax")),
    _spec(LayerSpec("Dense", 5, "softmax"), LayerSpec("Dropout"), LayerSpec("Dense", 3, "softmax")),
    _spec(LayerSpec("Activation", activation="softmax"), LayerSpec("Dense", 3, "softmax")),
    _spec(
        LayerSpec("Reshape", target_shape=(6, 6, 1)),
        LayerSpec("Conv2D", filters=4, kernel_size=3, activation="softmax"),
        LayerSpec("Flatten"),
        LayerSpec("Dense", 3, "softmax"),
        shape=(36,),
    ),
]


@pytest.mark.parametrize("model_spec", HIDDEN_SOFTMAX)
def test_a_hidden_softmax_is_allowed(model_spec):
    assert check_spec(model_spec, IRIS, LIMITS) == []


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("model_spec", [HIDDEN_SOFTMAX[0], HIDDEN_SOFTMAX[4]])
def test_the_trace_recomputes_a_hidden_softmax_correctly(model_spec):
    """The hidden softmax is worked out over the last axis (units, or a Conv2D's channels), as Keras
    does; the expected values come from the layer's weights and a numpy softmax written here."""
    model = build_model(model_spec, seed=5)
    x = np.random.default_rng(1).normal(size=model_spec.input_shape).astype("float32") * 3
    trace = layer_trace(model, x)
    position = next(
        k
        for k, layer in enumerate(model_spec.layers)
        if layer.activation == "softmax" and layer.kind in ("Dense", "Conv2D")
    )
    layer, step = model.layers[position], trace[position]
    inputs = np.asarray(step.inputs, dtype=np.float64)
    if model_spec.layers[position].kind == "Dense":
        kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
        z = inputs @ kernel + bias
    else:  # the same convolution without its activation, from Keras
        linear = keras.layers.Conv2D(layer.filters, layer.kernel_size, activation=None)
        linear.build((None, *inputs.shape))
        linear.set_weights(layer.get_weights())
        z = keras.ops.convert_to_numpy(linear(inputs[None].astype("float32")))[0].astype(np.float64)
    expected = _softmax(z)
    np.testing.assert_allclose(step.numpy_output, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(step.keras_output, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.sum(step.numpy_output, axis=-1), 1.0, rtol=1e-9)
    assert all(s.agrees for s in trace)
    # The output layer's own softmax is still the one the walk-through starts from.
    last = trace[-1]
    assert last.activation == "softmax"
    z_last = (
        np.asarray(last.inputs, np.float64) @ model.layers[-1].get_weights()[0]
        + model.layers[-1].get_weights()[1]
    )
    np.testing.assert_allclose(last.steps[0].value, z_last, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(last.numpy_output, _softmax(z_last), rtol=1e-6, atol=1e-7)


def test_a_spec_file_with_a_softmax_then_dropout_is_read_but_not_ready():
    """Reading the file keeps what the user wrote; the Build page then names the fix."""
    spec = _spec(LayerSpec("Dense", 3, "softmax"), LayerSpec("Dropout"))
    again, _ = read_spec_json(spec_json(spec, settings={}).encode(), limits=LIMITS)
    assert again == spec and "must be the last layer" in check_spec(again, IRIS, LIMITS)[0]


def test_float32_overflow_is_what_the_rescaling_bound_prevents():
    """Why the bound exists: float32 (Keras's dtype) turns 1e308 into inf while float64 does not."""
    with np.errstate(over="ignore"):
        assert math.isfinite(1e308) and np.isinf(np.float32(1e308))
    with pytest.raises(SpecError, match="scale=1e\\+308 is outside"):
        parse_layers("Rescaling_1e308_0", limits=LIMITS)


def test_the_bounds_are_the_widgets_so_nothing_a_link_brings_is_clamped_by_them():
    """A value a link or file may set is one the layer editor can show as it is (Streamlit resets a
    number outside a widget's range to its minimum, which is what clamped ``-5 units`` to 1)."""
    from nnviz.ui.widgets import _OPTION_WIDGETS, LEARNING_RATES

    bounds = spec_module.option_bounds(LIMITS)
    for name, (low, high) in bounds.items():
        options = _OPTION_WIDGETS[name][2]
        assert options.get("min_value", -math.inf) <= low, name
        assert options.get("max_value", math.inf) >= high, name
    assert _OPTION_WIDGETS["rate"][2]["max_value"] == spec_module.MAX_RATE
    assert _OPTION_WIDGETS["kernel_size"][2]["max_value"] == spec_module.MAX_KERNEL
    low, high = spec_module.LEARNING_RATE_RANGE
    assert low <= min(LEARNING_RATES) and max(LEARNING_RATES) == high
