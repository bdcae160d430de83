"""Tests for nnviz.explain.trace: the numpy recomputation must match Keras layer by layer.

Expectations are always derived independently (Keras's own forward pass, or
numpy formulas written here from ``layer.get_weights()``), never hard-coded
from what the code under test produced.
"""

from __future__ import annotations

import itertools
import warnings

import keras
import numpy as np
import pytest

from nnviz.explain.trace import ComputationStep, LayerStep, layer_trace, worked_sum, worked_window

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"]
TOL = 1e-5


def _sample(shape: tuple[int, ...], seed: int = 0, scale: float = 2.0) -> np.ndarray:
    """Deterministic float32 sample with positive and negative values."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _model(input_shape: tuple[int, ...], *layers: keras.layers.Layer) -> keras.Sequential:
    """Seeded Sequential model; Dense biases are made non-zero.

    Keras initialises biases to zero, which would let a formula that forgets
    ``+ b`` pass unnoticed.
    """
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=input_shape), *layers])
    rng = np.random.default_rng(42)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and layer.use_bias:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.uniform(-1, 1, bias.shape).astype(np.float32)])
    return model


def _model_output(model: keras.Sequential, x: np.ndarray) -> np.ndarray:
    """Whole-model forward pass for one sample, batch axis removed."""
    out = model(np.asarray(x, dtype=np.float32)[None], training=False)
    return keras.ops.convert_to_numpy(out)[0]


def _assert_all_agree(model: keras.Sequential, x: np.ndarray) -> list[LayerStep]:
    """Every layer agrees with Keras and the trace ends at the model's output."""
    trace = layer_trace(model, x)
    assert len(trace) == len(model.layers)
    for i, (step, layer) in enumerate(zip(trace, model.layers, strict=True)):
        assert step.index == i
        assert step.name == layer.name
        assert step.agrees, f"{step.kind} {step.name}: diff {step.max_abs_diff}"
        assert step.max_abs_diff < TOL
        np.testing.assert_array_equal(step.numpy_output, step.steps[-1].value)
        # keras_output must come from the Keras layer itself, on this layer's inputs.
        direct = layer(np.asarray(step.inputs, dtype=np.float32)[None], training=False)
        np.testing.assert_allclose(step.keras_output, keras.ops.convert_to_numpy(direct)[0], rtol=0, atol=0)
    # Chaining: layer k+1 is fed Keras's output of layer k.
    for prev, nxt in itertools.pairwise(trace):
        np.testing.assert_array_equal(nxt.inputs, prev.keras_output)
    np.testing.assert_allclose(trace[-1].numpy_output, _model_output(model, x), rtol=TOL, atol=TOL)
    return trace


# --------------------------------------------------------------------------- #
# Every layer type and activation agrees with Keras
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activation_agrees(activation: str) -> None:
    model = _model((4,), keras.layers.Dense(5, activation=activation))
    x = _sample((4,))
    (step,) = _assert_all_agree(model, x)
    assert step.kind == "Dense"
    assert step.activation == activation
    # Linear Dense is one matmul step; any other activation adds a second step.
    assert len(step.steps) == (1 if activation == "linear" else 2)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer_agrees(activation: str) -> None:
    model = _model((6,), keras.layers.Activation(activation))
    x = _sample((6,), seed=1)
    (step,) = _assert_all_agree(model, x)
    assert step.kind == "Activation"
    assert step.activation == activation
    assert len(step.steps) == 1
    assert step.weights is None and step.bias is None


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer_on_matrix_input(activation: str) -> None:
    """Softmax on a 2-D sample must normalise each row, like Keras (axis=-1)."""
    model = _model((3, 4), keras.layers.Activation(activation))
    x = _sample((3, 4), seed=2)
    (step,) = _assert_all_agree(model, x)
    if activation == "softmax":
        np.testing.assert_allclose(step.numpy_output.sum(axis=-1), np.ones(3), atol=TOL)


def test_activation_extreme_values_do_not_warn() -> None:
    """Large |z| must not overflow: softmax subtracts the max, sigmoid saturates."""
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    for activation in ("sigmoid", "softmax", "tanh"):
        model = _model((5,), keras.layers.Activation(activation))
        # Escalate numpy's default RuntimeWarnings (overflow, invalid, divide).
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            _assert_all_agree(model, x)


def test_dense_with_activation_has_z_step_equal_to_x_w_plus_b() -> None:
    model = _model((4,), keras.layers.Dense(3, activation="relu"))
    x = _sample((4,), seed=3)
    (step,) = layer_trace(model, x)
    kernel, bias = model.layers[0].get_weights()
    z = x.astype(np.float64) @ kernel.astype(np.float64) + bias.astype(np.float64)

    assert len(step.steps) == 2
    assert step.steps[0].label == "z = x @ W + b"
    np.testing.assert_allclose(step.steps[0].value, z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(step.steps[1].value, np.maximum(z, 0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(step.weights, kernel)
    np.testing.assert_array_equal(step.bias, bias)
    assert step.weights.shape == (4, 3) and step.bias.shape == (3,)


def test_dense_without_bias() -> None:
    model = _model((4,), keras.layers.Dense(3, use_bias=False, activation="tanh"))
    x = _sample((4,), seed=4)
    (step,) = _assert_all_agree(model, x)
    (kernel,) = model.layers[0].get_weights()
    assert step.bias is None
    assert step.steps[0].label == "z = x @ W"
    np.testing.assert_allclose(step.steps[0].value, x.astype(np.float64) @ kernel, atol=1e-6)


def test_flatten() -> None:
    model = _model((3, 4), keras.layers.Flatten())
    x = _sample((3, 4), seed=5)
    (step,) = _assert_all_agree(model, x)
    assert step.kind == "Flatten" and step.activation is None
    assert step.numpy_output.shape == (12,)
    np.testing.assert_array_equal(step.numpy_output, x.reshape(-1))


def test_rescaling_with_offset() -> None:
    model = _model((5,), keras.layers.Rescaling(scale=0.5, offset=-1.0))
    x = _sample((5,), seed=6)
    (step,) = _assert_all_agree(model, x)
    assert step.kind == "Rescaling"
    np.testing.assert_allclose(step.numpy_output, x.astype(np.float64) * 0.5 - 1.0)


def test_dropout_is_identity_and_mentions_rate() -> None:
    model = _model((6,), keras.layers.Dropout(0.3))
    x = _sample((6,), seed=7)
    (step,) = _assert_all_agree(model, x)
    assert step.kind == "Dropout"
    np.testing.assert_array_equal(step.numpy_output, x)
    assert "30%" in step.explanation


def test_every_step_has_a_label_and_explanation() -> None:
    model = _model(
        (2, 3),
        keras.layers.Rescaling(0.1),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="sigmoid"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(3),
        keras.layers.Activation("softmax"),
    )
    trace = _assert_all_agree(model, _sample((2, 3), seed=8))
    assert [s.kind for s in trace] == [
        "Rescaling", "Flatten", "Dense", "Dropout", "Dense", "Activation",
    ]  # fmt: skip
    for step in trace:
        assert step.explanation.strip()
        assert all(isinstance(c, ComputationStep) and c.label.strip() for c in step.steps)


# --------------------------------------------------------------------------- #
# MNIST-like model on a uint8 image
# --------------------------------------------------------------------------- #


def test_mnist_like_model_on_uint8_image() -> None:
    model = _model(
        (28, 28),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    )
    x = np.random.default_rng(0).integers(0, 256, size=(28, 28), dtype=np.uint8)
    trace = _assert_all_agree(model, x)

    assert [s.kind for s in trace] == [
        "Rescaling",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    np.testing.assert_array_equal(trace[0].inputs, x)  # the raw pixels are shown
    np.testing.assert_allclose(trace[0].numpy_output, x / 255.0, atol=1e-12)
    dropout = trace[3]
    np.testing.assert_array_equal(dropout.numpy_output, dropout.inputs)
    np.testing.assert_array_equal(dropout.keras_output, dropout.inputs)
    probs = trace[-1].numpy_output
    assert probs.shape == (10,)
    assert np.all(probs > 0)
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)


def test_input_is_not_mutated_and_is_copied() -> None:
    model = _model((4,), keras.layers.Dense(2))
    x = _sample((4,), seed=9)
    original = x.copy()
    trace = layer_trace(model, x)
    np.testing.assert_array_equal(x, original)
    x[:] = 0  # later edits by the caller must not change the stored trace
    np.testing.assert_array_equal(trace[0].inputs, original)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("layer", "class_name"),
    [
        (keras.layers.LayerNormalization, "LayerNormalization"),
        (lambda: keras.layers.Conv1D(2, 3), "Conv1D"),
    ],
)
def test_unsupported_layer_raises(layer, class_name: str) -> None:
    shape = (5, 1) if class_name == "Conv1D" else (4,)
    model = _model(shape, layer())
    with pytest.raises(ValueError, match=class_name) as info:
        layer_trace(model, _sample(shape))
    assert "Dense" in str(info.value)  # tells the user what is supported


def test_unsupported_layer_is_reported_before_any_work() -> None:
    model = _model((4,), keras.layers.Dense(3), keras.layers.LayerNormalization())
    with pytest.raises(ValueError, match="LayerNormalization"):
        layer_trace(model, _sample((4,)))


def test_unsupported_activation_raises() -> None:
    model = _model((4,), keras.layers.Dense(3, activation="elu"))
    with pytest.raises(ValueError, match="elu"):
        layer_trace(model, _sample((4,)))


def test_wrong_input_shape_raises() -> None:
    model = _model((4,), keras.layers.Dense(3))
    with pytest.raises(ValueError, match="batch axis"):
        layer_trace(model, _sample((1, 4)))


# --------------------------------------------------------------------------- #
# LayerStep comparison properties catch a wrong formula
# --------------------------------------------------------------------------- #


def _hand_step(numpy_output: np.ndarray, keras_output: np.ndarray) -> LayerStep:
    return LayerStep(
        index=0,
        name="hand",
        kind="Activation",
        activation="relu",
        inputs=numpy_output,
        weights=None,
        bias=None,
        steps=(ComputationStep("a = np.maximum(x, 0)", numpy_output),),
        numpy_output=numpy_output,
        keras_output=keras_output,
        explanation="Built by hand.",
    )


def test_agrees_false_when_outputs_differ() -> None:
    step = _hand_step(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.5], dtype=np.float32))
    assert not step.agrees
    assert step.max_abs_diff == pytest.approx(0.5)


def test_agrees_true_within_tolerance() -> None:
    a = np.array([0.0, 1.0, 2.0])
    step = _hand_step(a, (a + 1e-7).astype(np.float32))
    assert step.agrees
    assert step.max_abs_diff < TOL


def test_agrees_false_on_shape_mismatch_and_empty_is_zero() -> None:
    mismatch = _hand_step(np.zeros(3), np.zeros((1, 3)))
    assert not mismatch.agrees
    assert mismatch.max_abs_diff == float("inf")
    empty = _hand_step(np.zeros(0), np.zeros(0, dtype=np.float32))
    assert empty.agrees
    assert empty.max_abs_diff == 0.0


def test_wrong_formula_would_be_caught() -> None:
    """Replacing the numpy result by a plausible wrong formula (x @ W, no bias)."""
    model = _model((4,), keras.layers.Dense(3))  # _model gives it a non-zero bias
    (step,) = layer_trace(model, _sample((4,), seed=10))
    wrong = step.inputs.astype(np.float64) @ step.weights
    assert step.agrees
    assert not _hand_step(wrong, step.keras_output).agrees


def test_worked_sum_writes_out_the_first_unit_and_adds_up():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="relu")])
    model.layers[0].set_weights([np.array([[0.5, 1.0], [-2.0, 0.0], [0.25, 0.0]]), np.array([0.1, 0.0])])
    [step] = layer_trace(model, np.array([2.0, 1.0, -4.0]))
    # 2×0.5 + 1×(−2) + (−4)×0.25 + 0.1 = −1.9
    assert worked_sum(step) == "z[0] = 2×0.5 + 1×(-2) + (-4)×0.25 + 0.1 = -1.9"
    assert worked_sum(step, 1, max_inputs=2) is None  # too many inputs to write out


# --------------------------------------------------------------------------- #
# Image layers: convolution, pooling, batch normalisation, reshape
# --------------------------------------------------------------------------- #


def _randomise(model: keras.Sequential, seed: int = 7) -> None:
    """Non-trivial weights everywhere: biases, γ, β and moving statistics away from 0 and 1."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.gamma.shape[0]
            gamma, beta, mean = (rng.normal(size=channels) for _ in range(3))
            var = rng.uniform(0.2, 3.0, channels)
            layer.set_weights([w.astype(np.float32) for w in (gamma, beta, mean, var)])
        elif isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.uniform(-1, 1, bias.shape).astype(np.float32)])


def _conv_by_loops(x, kernel, bias, stride, pad):
    """Convolution written the slow, obvious way: for every output cell and filter, window × kernel, summed."""
    (top, bottom), (left, right) = pad
    x = np.pad(x.astype(np.float64), ((top, bottom), (left, right), (0, 0)))
    kh, kw, _, filters = kernel.shape
    out_h, out_w = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.zeros((out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            for f in range(filters):
                out[i, j, f] = np.sum(window * kernel[:, :, :, f]) + bias[f]
    return out


@pytest.mark.parametrize(
    ("size", "stride", "padding", "shape"),
    [
        (3, 1, "valid", (7, 6, 2)),
        (3, 2, "same", (7, 6, 2)),
        (2, 2, "same", (5, 5, 1)),
        (5, 3, "valid", (9, 11, 3)),
    ],
)
def test_conv2d_agrees_with_keras_and_with_loops(size, stride, padding, shape) -> None:
    model = _model(shape, keras.layers.Conv2D(4, size, strides=stride, padding=padding, activation="relu"))
    _randomise(model)
    x = _sample(shape)
    [step] = _assert_all_agree(model, x)
    kernel, bias = model.layers[0].get_weights()
    if padding == "same":
        # TensorFlow puts the odd padding pixel at the end: total = (out - 1)·stride + size - length.
        pad = []
        for length in shape[:2]:
            total = max((-(-length // stride) - 1) * stride + size - length, 0)
            pad.append((total // 2, total - total // 2))
    else:
        pad = [(0, 0), (0, 0)]
    np.testing.assert_allclose(step.steps[0].value, _conv_by_loops(x, kernel, bias, stride, pad), atol=1e-9)
    assert step.weights.shape == (size, size, shape[2], 4)


def test_worked_window_sums_to_the_keras_output_cell() -> None:
    model = _model((6, 6, 2), keras.layers.Conv2D(3, 3, padding="same", activation="linear"))
    _randomise(model)
    x = _sample((6, 6, 2))
    [step] = layer_trace(model, x)
    for row, column, channel in [(0, 0, 0), (2, 3, 1), (5, 5, 2)]:
        cell = worked_window(step, row, column, channel)
        assert cell.window.shape == cell.kernel.shape == (3, 3, 2)
        np.testing.assert_allclose(cell.value, step.keras_output[row, column, channel], atol=1e-5)
    corner = worked_window(step, 0, 0, 0)
    np.testing.assert_array_equal(corner.window[0, :, :], 0)  # the zero padding above the image
    np.testing.assert_array_equal(corner.window[1:, 1:, :], x[:2, :2, :])


def test_max_pooling_takes_window_maxima() -> None:
    model = _model((7, 6, 3), keras.layers.MaxPooling2D(2))
    x = _sample((7, 6, 3))
    [step] = _assert_all_agree(model, x)
    expected = np.array(
        [
            [[x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c].max() for c in range(3)] for j in range(3)]
            for i in range(3)
        ]
    )
    np.testing.assert_array_equal(step.numpy_output, expected)
    cell = worked_window(step, 1, 2, 1)
    assert cell.kernel is None and cell.value == x[2:4, 4:6, 1].max()


def test_batch_normalization_at_inference_uses_the_moving_statistics() -> None:
    model = _model((5, 5, 3), keras.layers.BatchNormalization(epsilon=0.01))
    _randomise(model)
    x = _sample((5, 5, 3))
    [step] = _assert_all_agree(model, x)
    gamma, beta, mean, var = (w.astype(np.float64) for w in model.layers[0].get_weights())
    np.testing.assert_allclose(step.numpy_output, (x - mean) / np.sqrt(var + 0.01) * gamma + beta, atol=1e-9)
    assert set(step.parameters) == {"gamma", "beta", "moving_mean", "moving_variance"}


def test_small_cnn_on_a_uint8_image_agrees_layer_by_layer() -> None:
    model = _model(
        (28, 28),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(6, 3, strides=2, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    )
    _randomise(model)
    image = np.random.default_rng(3).integers(0, 256, (28, 28), dtype=np.uint8)
    trace = _assert_all_agree(model, image)
    assert [step.kind for step in trace] == [
        "Reshape",
        "Rescaling",
        "Conv2D",
        "BatchNormalization",
        "MaxPooling2D",
        "Conv2D",
        "Flatten",
        "Dense",
    ]


def test_worked_window_refuses_other_layers_and_cells_outside() -> None:
    model = _model((4, 4, 1), keras.layers.Conv2D(2, 3), keras.layers.Flatten())
    conv, flatten = layer_trace(model, _sample((4, 4, 1)))
    with pytest.raises(ValueError, match="Flatten has no sliding window"):
        worked_window(flatten, 0, 0, 0)
    with pytest.raises(ValueError, match="outside the 2×2×2 output"):
        worked_window(conv, 2, 0, 0)
