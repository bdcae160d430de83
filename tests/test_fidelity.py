"""Inspect's numbers equal what Keras does: the loss walk-through reproduces ``model.evaluate``
sample by sample (also for confident mistakes), and the numpy-vs-Keras verdicts allow float32
rounding in proportion to the terms summed, no more.

The references are Keras's own ``evaluate`` (its compiled test step) and hand-written float64
numpy, never the code under test.
"""

import dataclasses

import keras
import numpy as np
import pytest
import scipy.special

from nnviz.explain.lossmath import clipping_note, logits, loss_steps, model_loss, training_loss
from nnviz.explain.trace import LayerStep, layer_trace

_HEADS = {
    # loss: (output units, output activation)
    "sparse_categorical_crossentropy": (3, "softmax"),
    "binary_crossentropy": (1, "sigmoid"),
    "hinge": (1, "tanh"),
    "mse": (1, "linear"),
}


def _model(loss: str, *, n_in: int = 4, hidden: int = 5, scale: float = 1.0, split_activation: bool = False):
    keras.utils.set_random_seed(7)
    units, activation = _HEADS[loss]
    if split_activation:
        head = [keras.layers.Dense(units), keras.layers.Activation(activation)]
    else:
        head = [keras.layers.Dense(units, activation=activation)]
    model = keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(hidden, activation="relu"), *head])
    model.compile("sgd", loss)
    model.set_weights([w * scale for w in model.get_weights()])
    return model


def _walk(model, x, target, loss):
    trace = layer_trace(model, x)
    compiled = model_loss(model, x, target)
    return loss_steps(trace[-1].keras_output, logits(trace[-1]), target, loss, compiled=compiled)


def _evaluate_one(model, x, target) -> float:
    return float(model.evaluate(x[None].astype("float32"), np.array([target]), verbose=0))


def test_the_audit_example_iris_4_5_3_with_weights_times_20_gives_evaluates_198():
    model = _model("sparse_categorical_crossentropy", scale=20.0)
    x = np.array([3.0, -2.0, 4.0, 1.0])
    steps = _walk(model, x, 1, "sparse_categorical_crossentropy")
    loss = training_loss(steps)
    reference = _evaluate_one(model, x, 1)
    assert reference > 50  # a confident mistake: far beyond the clipped form's cap of 16.12
    assert float(loss.numpy_value) == pytest.approx(reference, rel=1e-5)
    assert loss.agrees
    by_name = {step.name: step for step in steps}
    assert float(by_name["loss from p (clipped)"].numpy_value) == pytest.approx(16.118, abs=1e-3)
    note = clipping_note(steps)
    assert note is not None and f"{reference:.4g}" in note and "16.12" in note


# Every head, with its activation inside the Dense layer and (for softmax and sigmoid) as a layer of its own.
_HEAD_FORMS = [(loss, False) for loss in _HEADS] + [
    ("sparse_categorical_crossentropy", True),
    ("binary_crossentropy", True),
]


@pytest.mark.parametrize(("loss", "split_activation"), _HEAD_FORMS)
@pytest.mark.parametrize("scale", [1.0, 6.0, 25.0])
def test_each_samples_walk_through_loss_averages_to_evaluates_loss(loss, scale, split_activation):
    """The mean of the per-sample losses over 40 rows is what evaluate reports for those rows,
    at weight scales that make confident mistakes (the audit saw 0.569 against 0.614)."""
    model = _model(loss, scale=scale, split_activation=split_activation)
    rng = np.random.default_rng(3)
    X = rng.normal(scale=2.0, size=(40, 4))
    if loss == "mse":
        y = rng.normal(size=40)
    else:
        y = rng.integers(0, _HEADS[loss][0] if loss.startswith("sparse") else 2, size=40)
    per_sample = [float(training_loss(_walk(model, x, t, loss)).numpy_value) for x, t in zip(X, y)]
    reference = float(model.evaluate(X.astype("float32"), y, batch_size=40, verbose=0))
    assert np.mean(per_sample) == pytest.approx(reference, rel=2e-5)
    # and every sample's loss matches its own evaluate, including the most confident mistakes
    worst = np.argsort(per_sample)[-3:]
    for row in worst:
        assert per_sample[row] == pytest.approx(_evaluate_one(model, X[row], y[row]), rel=2e-5)


def test_walk_through_says_it_differs_if_numpy_used_the_clipped_form():
    """The verdict compares with the compiled loss, so the clipped number would be caught."""
    model = _model("sparse_categorical_crossentropy", scale=20.0)
    x = np.array([3.0, -2.0, 4.0, 1.0])
    steps = _walk(model, x, 1, "sparse_categorical_crossentropy")
    clipped = next(step for step in steps if step.name == "loss from p (clipped)")
    compiled = training_loss(steps).keras_value
    assert not np.allclose(clipped.numpy_value, compiled, rtol=1e-3)


def test_binary_cross_entropy_of_a_certain_mistake_is_taken_from_the_logit():
    z = np.array([-120.0])
    steps = loss_steps(scipy.special.expit(z), z, 1.0, "binary_crossentropy")
    assert float(training_loss(steps).numpy_value) == pytest.approx(120.0)
    assert clipping_note(steps) is not None
    # agreeing answers need no note
    z = np.array([0.3])
    assert clipping_note(loss_steps(scipy.special.expit(z), z, 1.0, "binary_crossentropy")) is None


# --------------------------------------------------------------------------- #
# float32 rounding: verdicts scale with the summed terms
# --------------------------------------------------------------------------- #


def _raw_pixel_mnist_model(scale: float):
    """The course's MNIST network without Rescaling: raw pixels 0–255 straight into Dense(128)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.set_weights([w * scale for w in model.get_weights()])
    return model


def _digits(count: int, seed: int = 0) -> np.ndarray:
    """Images shaped like MNIST's: ~20 % of the pixels inked, values 0–255, uint8."""
    rng = np.random.default_rng(seed)
    inked = rng.random((count, 28, 28)) < 0.2
    return (inked * rng.integers(0, 256, (count, 28, 28))).astype(np.uint8)


def test_raw_pixel_network_agrees_on_every_layer_of_100_digits():
    """Sums of ~1e3-sized float32 terms round by ~1e-4: that is not a difference."""
    model = _raw_pixel_mnist_model(scale=3.0)
    old_rule_alarms = 0
    for image in _digits(100):
        for step in layer_trace(model, image):
            assert step.agrees, (step.kind, step.max_abs_diff)
            old_rule_alarms += not np.allclose(step.numpy_output, step.keras_output, rtol=1e-5, atol=1e-5)
    assert old_rule_alarms > 0  # the fixed tolerance of before raised false alarms here


def _with_output(step: LayerStep, numpy_output: np.ndarray) -> LayerStep:
    """``step`` as if numpy had computed ``numpy_output`` (a plausible mistake)."""
    return dataclasses.replace(step, numpy_output=numpy_output)


def test_real_mistakes_are_still_caught_on_raw_pixels():
    model = _raw_pixel_mnist_model(scale=3.0)
    model.layers[1].bias.assign(np.linspace(-0.3, 0.3, 128))
    image = _digits(1, seed=5)[0]
    flatten, hidden, output = layer_trace(model, image)
    x = hidden.inputs.astype(np.float64)
    z = x @ hidden.weights.astype(np.float64)
    inked = int(np.flatnonzero(x)[0])
    mistakes = {
        "bias forgotten": np.maximum(z, 0),
        "no ReLU": z + hidden.bias,
        "an inked pixel skipped": np.maximum(z - x[inked] * hidden.weights[inked] + hidden.bias, 0),
    }
    for name, wrong in mistakes.items():
        assert not _with_output(hidden, wrong).agrees, name
    # the output layer: softmax forgotten, or taken over the wrong values
    out_in = output.inputs.astype(np.float64)
    z_out = out_in @ output.weights + output.bias
    assert not _with_output(output, z_out).agrees
    assert not _with_output(output, scipy.special.softmax(z_out[::-1])).agrees
    assert output.agrees and hidden.agrees and flatten.agrees


@pytest.mark.parametrize("magnitude", [1.0, 1e2, 1e4])
def test_every_layer_kind_agrees_at_large_magnitudes_and_a_shifted_result_does_not(magnitude):
    keras.utils.set_random_seed(11)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            keras.layers.Rescaling(0.5, offset=-3.0),
            keras.layers.Conv2D(4, 3, padding="same", activation="tanh"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(3, 3, activation="softmax"),
            keras.layers.Flatten(),
            keras.layers.Dense(6, activation="sigmoid"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3),
            keras.layers.Activation("softmax"),
        ]
    )
    bn = model.layers[2]
    rng = np.random.default_rng(2)
    bn.set_weights([rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 3, 4)])
    x = rng.normal(scale=magnitude, size=(12, 12, 2))
    for step in layer_trace(model, x):
        assert step.agrees, (step.kind, step.max_abs_diff, step.tolerance_rule)
        out = np.asarray(step.numpy_output, np.float64)
        # an error of 1 % of the layer's largest value is a real difference, whatever the scale
        shifted = out + 0.01 * max(np.abs(out).max(), 1e-3) * (np.arange(out.size).reshape(out.shape) == 0)
        if step.kind not in ("Dropout",) and np.abs(out).max() > 1e-3:
            assert not _with_output(step, shifted).agrees, step.kind


def test_tolerance_is_explained_in_words_naming_the_summed_terms():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    (step,) = layer_trace(model, np.array([1.0, 2.0, 3.0]))
    assert "Σᵢ|xᵢ·Wᵢⱼ|" in step.tolerance_rule and "1e-05" in step.tolerance_rule
    # the allowance is 1e-5 × (1 + Σ|x·W| + |b|), derived here by hand
    kernel, bias = model.layers[0].get_weights()
    expected = 1e-5 * (1 + np.abs([1.0, 2.0, 3.0]) @ np.abs(kernel) + np.abs(bias))
    np.testing.assert_allclose(step.tolerance, np.maximum(expected, 1e-5 * (1 + np.abs(step.numpy_output))))
