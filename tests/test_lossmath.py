"""Output → loss, step by step: numpy beside Keras's own softmax and loss functions."""

import keras
import numpy as np
import pytest
import scipy.special

from nnviz.explain.lossmath import logits, loss_steps
from nnviz.explain.trace import layer_trace


def _by_name(steps):
    return {step.name: step for step in steps}


@pytest.mark.parametrize("z", [[1.0, 2.5, -0.3], [1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0, 0.0]])
@pytest.mark.parametrize("true", [0, 2])
def test_softmax_and_cross_entropy_agree_with_keras_even_for_extreme_logits(z, true):
    z = np.array(z)
    probabilities = np.asarray(
        keras.ops.convert_to_numpy(keras.ops.softmax(z.astype("float32"))), dtype=float
    )
    steps = _by_name(loss_steps(probabilities, z, true, "sparse_categorical_crossentropy"))
    assert all(step.agrees in (True, None) for step in steps.values()), [
        (s.name, s.max_abs_diff) for s in steps.values()
    ]
    p = steps["p"].numpy_value
    assert p.sum() == pytest.approx(1.0) and np.all(np.isfinite(steps["exp(z)"].numpy_value))
    # Training's cross-entropy is -log softmax(z)[true] from the logits, with no clip.
    expected = -scipy.special.log_softmax(z)[true]
    assert steps["loss"].numpy_value == pytest.approx(expected)
    assert steps["loss (one-hot)"].numpy_value == pytest.approx(expected)
    # The textbook form from the probabilities is clipped as Keras clips it.
    clipped = -np.log(float(np.clip(np.float32(p[true]), np.float32(1e-7), np.float32(1) - np.float32(1e-7))))
    assert steps["loss from p (clipped)"].numpy_value == pytest.approx(clipped)


@pytest.mark.parametrize(("z", "y"), [(1.386, 0), (-3.0, 0), (0.2, 1), (40.0, 0)])
def test_sigmoid_and_binary_cross_entropy_agree_with_keras(z, y):
    p = 1 / (1 + np.exp(-z))
    steps = _by_name(loss_steps(np.array([p]), np.array([z]), y, "binary_crossentropy"))
    assert all(step.agrees in (True, None) for step in steps.values()), [
        (s.name, s.max_abs_diff) for s in steps.values()
    ]
    # From the logit: -log sigmoid(z) for class 1, -log sigmoid(-z) for class 0, never clipped.
    assert steps["loss"].numpy_value == pytest.approx(-scipy.special.log_expit(z if y == 1 else -z))
    q = float(
        np.clip(np.float32(p), np.float32(1e-7), np.float32(1) - np.float32(1e-7))
    )  # Keras clips in float32
    assert steps["loss from p (clipped)"].numpy_value == pytest.approx(-np.log(q if y == 1 else 1 - q))


@pytest.mark.parametrize(
    ("score", "y", "expected"), [(0.3, 0, 1.3), (0.3, 1, 0.7), (2.0, 1, 0.0), (-0.5, 0, 0.5)]
)
def test_hinge_uses_plus_minus_one_labels(score, y, expected):
    steps = _by_name(loss_steps(np.array([score]), None, y, "hinge"))
    assert steps["loss"].numpy_value == pytest.approx(expected) and steps["loss"].agrees


def test_squared_error_for_regression():
    steps = _by_name(loss_steps(np.array([2.3]), None, 1.7, "mse"))
    assert steps["loss"].numpy_value == pytest.approx(0.36) and steps["loss"].agrees


def test_unknown_loss_is_refused_with_the_ones_it_knows():
    with pytest.raises(ValueError, match="use one of sparse_categorical_crossentropy"):
        loss_steps(np.array([0.5]), None, 0, "kl_divergence")


def test_logits_come_from_the_trace_of_the_output_layer():
    keras.utils.set_random_seed(0)
    dense_softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    split = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Activation("softmax")])
    x = np.array([0.5, -1.0, 2.0], dtype="float32")
    [step] = layer_trace(dense_softmax, x)
    kernel, bias = dense_softmax.layers[0].get_weights()
    np.testing.assert_allclose(logits(step), x @ kernel + bias, rtol=1e-5)
    split_trace = layer_trace(split, x)
    np.testing.assert_array_equal(logits(split_trace[-1]), split_trace[0].keras_output)
    linear = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert logits(layer_trace(linear, x)[-1]) is None
