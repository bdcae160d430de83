"""ModelSpec validation, parameter maths (checked against Keras) and the JSON round trip."""

import json

import keras
import pytest

from nnviz.model.build import build_model
from nnviz.model.spec import (
    LayerSpec,
    Limits,
    ModelSpec,
    SpecError,
    Target,
    check_spec,
    count_params,
    layer_summary,
    output_activation,
    starter_spec,
    suggested_head,
)

IRIS = Target("multiclass", 3, "species")
MOONS = Target("binary", 2, "moon")
HOUSING = Target("regression", 0, "house value")
DIGITS = Target("multiclass", 10, "digit")


def spec(*layers, shape=(4,), loss="sparse_categorical_crossentropy") -> ModelSpec:
    return ModelSpec(shape, tuple(layers), loss, "adam", 0.01)


@pytest.mark.parametrize("target", [IRIS, MOONS, HOUSING])
def test_starter_networks_are_valid(target):
    assert check_spec(starter_spec((4,), target), target) == []


def test_starter_network_for_images_rescales_and_flattens():
    starter = starter_spec((28, 28), DIGITS)
    assert [layer.kind for layer in starter.layers[:2]] == ["Rescaling", "Flatten"]
    assert check_spec(starter, DIGITS) == []


@pytest.mark.parametrize(
    ("target", "activation", "loss"),
    [
        (IRIS, "softmax", "sparse_categorical_crossentropy"),
        (MOONS, "sigmoid", "binary_crossentropy"),
        (HOUSING, "linear", "mse"),
    ],
)
def test_suggested_head_fits_the_task(target, activation, loss):
    head, suggested_loss = suggested_head(target)
    assert (head.activation, suggested_loss, head.units) == (activation, loss, target.n_outputs)


def test_no_layers_says_what_to_add():
    [problem] = check_spec(spec(), IRIS)
    assert "no layers" in problem and "Dense(3, softmax)" in problem


def test_softmax_output_on_regression_is_refused_with_the_fix():
    problems = check_spec(spec(LayerSpec("Dense", 1, "softmax"), loss="mse"), HOUSING)
    assert len(problems) == 1
    assert "softmax" in problems[0] and "change the last layer's activation to linear" in problems[0]


def test_units_beyond_the_server_limit_are_refused():
    problems = check_spec(
        spec(LayerSpec("Dense", 5000), LayerSpec("Dense", 3, "softmax")), IRIS, Limits(max_units=1024)
    )
    assert problems == [
        "Layer 1 (Dense): units=5000 is outside 1 to 1,024: this server allows 1,024 at most "
        "(NNVIZ_MAX_UNITS); e.g. 8."
    ]


def test_parameter_limit_counts_the_whole_model():
    problems = check_spec(
        spec(LayerSpec("Dense", 1000), LayerSpec("Dense", 3, "softmax")), IRIS, Limits(max_params=1000)
    )
    assert any("more than this server allows (1,000)" in p for p in problems)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NNVIZ_MAX_UNITS", "16")
    assert Limits.from_env().max_units == 16
    monkeypatch.setenv("NNVIZ_MAX_UNITS", "lots")
    with pytest.raises(ValueError, match="NNVIZ_MAX_UNITS='lots'"):
        Limits.from_env()


@pytest.mark.parametrize(
    ("cores", "cpu_max", "expected"),
    [
        ({0}, None, 1),  # pinned to one core, no cgroup file
        ({0, 1}, None, 2),
        ({0, 1, 2, 3}, "max 100000\n", 4),  # no quota
        ({0, 1, 2, 3}, "150000 100000\n", 2),  # 1.5 cores of quota: a second run gets the half core
        ({0, 1, 2, 3}, "50000 100000\n", 1),  # half a core: still one run
        ({0, 1, 2, 3}, "200000 100000\n", 2),
        ({0, 1}, "800000 100000\n", 2),  # a quota above the pinned cores does not add cores
        ({0, 1, 2}, "garbage\n", 3),  # a file this does not understand is ignored
        ({0, 1, 2}, "100000 0\n", 3),
    ],
)
def test_concurrent_trainings_follow_the_usable_cores(monkeypatch, tmp_path, cores, cpu_max, expected):
    from nnviz.model import spec as spec_module

    monkeypatch.setattr(spec_module.os, "sched_getaffinity", lambda pid: set(cores))
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max)
    assert spec_module.usable_cpus(path) == expected


def test_max_trainings_defaults_to_the_usable_cores_and_the_environment_overrides(monkeypatch):
    import os

    monkeypatch.delenv("NNVIZ_MAX_TRAININGS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    monkeypatch.setattr("nnviz.model.spec.Path.read_text", lambda self: "max 100000")
    assert Limits.from_env().max_trainings == 5
    assert Limits().max_trainings == 5
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert Limits.from_env().max_trainings == 1
    monkeypatch.setenv("NNVIZ_MAX_TRAININGS", "3")
    assert Limits.from_env().max_trainings == 3


def test_images_without_flatten_are_told_to_flatten():
    problems = check_spec(spec(LayerSpec("Dense", 10, "softmax"), shape=(28, 28)), DIGITS)
    assert problems and "add a Flatten layer" in problems[0] and "28×10" in problems[0]


def test_wrong_output_width_names_the_right_layer():
    problems = check_spec(spec(LayerSpec("Dense", 2, "softmax")), IRIS)
    assert problems == [
        "The network ends with shape 2 but predicting species needs 3 output values: "
        "make the last layer Dense(3, softmax)."
    ]


def test_loss_from_another_task_is_refused():
    problems = check_spec(spec(LayerSpec("Dense", 3, "softmax"), loss="mse"), IRIS)
    assert problems and "does not fit a multiclass task" in problems[0]


@pytest.mark.parametrize(("activation", "ok"), [("tanh", True), ("linear", True), ("sigmoid", False)])
def test_hinge_needs_a_signed_score(activation, ok):
    problems = check_spec(spec(LayerSpec("Dense", 1, activation), shape=(2,), loss="hinge"), MOONS)
    assert (problems == []) is ok


def test_output_activation_looks_through_a_trailing_linear_activation():
    layers = (
        LayerSpec("Dense", 3, "linear"),
        LayerSpec("Activation", activation="softmax"),
        LayerSpec("Activation", activation="linear"),
    )
    assert output_activation(layers) == "softmax"


def test_dropout_rate_must_be_within_the_widgets_range():
    problems = check_spec(spec(LayerSpec("Dropout", rate=1.0), LayerSpec("Dense", 3, "softmax")), IRIS)
    assert problems == ["Layer 1 (Dropout): rate=1.0 is outside 0 to 0.95; e.g. 0.2."]


SPECS = [
    spec(LayerSpec("Dense", 5), LayerSpec("Dense", 3, "softmax")),
    spec(
        LayerSpec("Rescaling"),
        LayerSpec("Flatten"),
        LayerSpec("Dense", 32),
        LayerSpec("Dropout"),
        LayerSpec("Activation", activation="tanh"),
        LayerSpec("Dense", 10, "softmax"),
        shape=(28, 28),
    ),
    spec(
        LayerSpec("Dense", 7), LayerSpec("Flatten"), LayerSpec("Dense", 1, "linear"), shape=(6, 3), loss="mse"
    ),
    starter_spec((28, 28), DIGITS, convolutional=True),
    spec(
        LayerSpec("Conv2D", filters=4, kernel_size=5, strides=2, padding="valid", activation="tanh"),
        LayerSpec("BatchNormalization"),
        LayerSpec("Conv2D", filters=6, kernel_size=3, strides=3, padding="same", activation="linear"),
        LayerSpec("MaxPooling2D", pool_size=3),
        LayerSpec("Reshape", target_shape=(6,)),
        LayerSpec("BatchNormalization"),
        LayerSpec("Dense", 10, "softmax"),
        shape=(29, 31, 3),
    ),
    spec(
        LayerSpec("Reshape", target_shape=(9, 7, 1)),
        LayerSpec("Conv2D", filters=2, kernel_size=2, strides=2, padding="same"),
        LayerSpec("MaxPooling2D", pool_size=2),
        LayerSpec("Flatten"),
        LayerSpec("Dense", 3, "softmax"),
        shape=(63,),
    ),
]


@pytest.mark.parametrize("model_spec", SPECS)
def test_parameter_counts_and_shapes_match_keras(model_spec):
    model = build_model(model_spec, seed=0)
    rows = layer_summary(model_spec)
    assert [row.params for row in rows] == [layer.count_params() for layer in model.layers]
    assert [(None, *row.output_shape) for row in rows] == [
        tuple(layer.output.shape) for layer in model.layers
    ]
    assert count_params(model_spec) == model.count_params()
    assert [row.non_trainable for row in rows] == [
        sum(int(weight.numpy().size) for weight in layer.non_trainable_weights) for layer in model.layers
    ]


def test_convolution_and_batch_norm_counts_are_explained():
    rows = layer_summary(
        spec(
            LayerSpec("Conv2D", filters=8, kernel_size=3), LayerSpec("BatchNormalization"), shape=(28, 28, 1)
        )
    )
    assert rows[0].explanation.startswith("3×3 kernel × 1 input channel × 8 filters + 8 biases = 80")
    assert rows[1].explanation.startswith("4 × 8 channels = 32: γ and β (16) are trained")


def test_starter_cnn_is_valid_and_adds_a_channel_axis():
    starter = starter_spec((28, 28), DIGITS, convolutional=True)
    assert starter.layers[0] == LayerSpec("Reshape", target_shape=(28, 28, 1))
    assert {"Conv2D", "MaxPooling2D"} <= {layer.kind for layer in starter.layers}
    assert check_spec(starter, DIGITS) == []


@pytest.mark.parametrize(
    ("layers", "shape", "fragment"),
    [
        (
            (LayerSpec("Conv2D"), LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax")),
            (28, 28),
            "Layer 1 (Conv2D): gets inputs of shape 28×28: add Reshape(28×28×1) before it",
        ),
        (
            (LayerSpec("Conv2D", kernel_size=7), LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax")),
            (5, 5, 1),
            "the 7×7 kernel is larger than its 5×5 input",
        ),
        (
            (LayerSpec("MaxPooling2D", pool_size=4), LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax")),
            (3, 3, 2),
            "the 4×4 window is larger than its 3×3 input",
        ),
        (
            (
                LayerSpec("Reshape", target_shape=(5, 5, 1)),
                LayerSpec("Flatten"),
                LayerSpec("Dense", 10, "softmax"),
            ),
            (28, 28),
            "cannot reshape 28×28 (784 values) into 5×5×1 (25 values)",
        ),
        (
            (LayerSpec("Conv2D", kernel_size=12), LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax")),
            (28, 28, 1),
            "kernel_size=12 is outside 1 to 11",
        ),
        (
            (LayerSpec("Conv2D", padding="full"), LayerSpec("Flatten"), LayerSpec("Dense", 10, "softmax")),
            (28, 28, 1),
            "padding='full' is unknown",
        ),
    ],
)
def test_image_layers_that_do_not_fit_say_how_to_fix_it(layers, shape, fragment):
    problems = check_spec(spec(*layers, shape=shape), DIGITS)
    assert any(fragment in problem for problem in problems), problems


def test_dense_count_is_explained_as_inputs_times_units_plus_biases():
    rows = layer_summary(spec(LayerSpec("Dense", 5), LayerSpec("Dense", 3, "softmax")))
    assert rows[0].explanation == "4 inputs × 5 units + 5 biases = 25"
    assert rows[1].explanation == "5 inputs × 3 units + 3 biases = 18"


def test_json_round_trip_keeps_the_spec():
    for model_spec in SPECS:
        again = ModelSpec.from_dict(json.loads(json.dumps(model_spec.to_dict())))
        assert again == model_spec


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            {"input_shape": [4], "layers": [{"kind": "Lambda", "function": "os.system"}], "loss": "mse"},
            "'Lambda'",
        ),
        (
            {"input_shape": [4], "layers": [{"kind": "Dense", "units": "8"}], "loss": "mse"},
            "Dense.units must be int",
        ),
        (
            {"input_shape": [4], "layers": [{"kind": "Dense", "units": True}], "loss": "mse"},
            "Dense.units must be int",
        ),
        (
            {"input_shape": [4], "layers": [{"kind": "Dense", "kernel": [1]}], "loss": "mse"},
            "no option 'kernel'",
        ),
        ({"input_shape": [-1], "layers": [], "loss": "mse"}, "input_shape"),
        ({"input_shape": [4], "layers": {}, "loss": "mse"}, "layers must be a list"),
        ({"input_shape": [4], "layers": [], "loss": "mse", "exec": "x"}, "Unknown model keys"),
        ([1, 2], "JSON object"),
        (
            {"input_shape": [4], "layers": [{"kind": "Reshape", "target_shape": [2, "2"]}], "loss": "mse"},
            "Reshape.target_shape must be a list of 1 to 3 whole numbers",
        ),
        (
            {"input_shape": [4], "layers": [{"kind": "Conv2D", "units": 3}], "loss": "mse"},
            "Conv2D has no option 'units'",
        ),
    ],
)
def test_from_dict_rejects_bad_input_with_a_reason(data, fragment):
    with pytest.raises(SpecError) as caught:
        ModelSpec.from_dict(data)
    assert fragment in str(caught.value)


def test_build_uses_the_seed_for_initial_weights():
    model_spec = SPECS[0]
    same = [build_model(model_spec, seed=3).get_weights()[0] for _ in range(2)]
    other = build_model(model_spec, seed=4).get_weights()[0]
    assert (same[0] == same[1]).all()
    assert not (same[0] == other).all()
    assert isinstance(build_model(model_spec, seed=3), keras.Sequential)
