"""The exported Keras code builds the very model the app trains."""

import numpy as np
import pytest

from nnviz.build import build_model
from nnviz.codegen import keras_code
from nnviz.spec import LayerSpec, ModelSpec

CASES = [
    ModelSpec(
        (2,),
        (LayerSpec("Dense", 6, "tanh"), LayerSpec("Dense", 1, "sigmoid")),
        "binary_crossentropy",
        "sgd",
        0.1,
    ),
    ModelSpec((2,), (LayerSpec("Dense", 4), LayerSpec("Dense", 1, "tanh")), "hinge", "rmsprop", 0.003),
    ModelSpec(
        (28, 28),
        (
            LayerSpec("Rescaling"),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 16),
            LayerSpec("Dropout", rate=0.3),
            LayerSpec("Dense", 10, "softmax"),
        ),
        "sparse_categorical_crossentropy",
        "adam",
        0.001,
    ),
    ModelSpec(
        (8,),
        (
            LayerSpec("Dense", 4),
            LayerSpec("Activation", activation="sigmoid"),
            LayerSpec("Rescaling", scale=2.0, offset=-1.0),
            LayerSpec("Dense", 1, "linear"),
        ),
        "mse",
    ),
]


def _run(code: str):
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)  # the code under test is our own output
    return namespace["model"]


@pytest.mark.parametrize("spec", CASES)
def test_exported_code_builds_the_same_model(spec, capsys):
    exported = _run(keras_code(spec, seed=7))
    built = build_model(spec, seed=7)
    assert [layer.get_config() | {"name": ""} for layer in exported.layers] == [
        layer.get_config() | {"name": ""} for layer in built.layers
    ]
    for mine, theirs in zip(exported.get_weights(), built.get_weights()):
        np.testing.assert_array_equal(mine, theirs)  # same seed, same initial weights
    assert exported.loss == built.loss == spec.loss
    assert exported.optimizer.get_config() | {"name": ""} == built.optimizer.get_config() | {"name": ""}
    assert "Total params" in capsys.readouterr().out  # the code ends with model.summary()


def test_hinge_accuracy_thresholds_at_zero():
    model = build_model(CASES[1], seed=0)
    model.fit(np.zeros((4, 2), "float32"), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    [accuracy] = [m for m in model.metrics[-1].metrics if m.name == "accuracy"]
    assert accuracy.get_config()["threshold"] == 0.0


def test_rescaling_by_one_255th_reads_as_a_fraction():
    assert "layers.Rescaling(scale=1 / 255, offset=0.0)" in keras_code(CASES[2])
