"""From the network's last numbers to the loss, step by step, in numpy beside Keras's own functions.

For one sample: the output layer's pre-activation values (logits) → exp → sum → probabilities
(softmax) → −log p(true class) (cross-entropy), and the same loss written with a one-hot target;
sigmoid and binary cross-entropy or hinge for two classes; the squared error for regression.
Every step is computed twice: in numpy as a student would type it, and by the Keras function
that training uses (``keras.ops.softmax``, ``keras.losses.sparse_categorical_crossentropy``, …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from nnviz.trace import LayerStep

__all__ = ["LossStep", "logits", "loss_steps"]

# Keras clips probabilities to [ε, 1 − ε] before taking logarithms (keras.config.epsilon()).
_RTOL = _ATOL = 1e-5


@dataclass(frozen=True, eq=False)
class LossStep:
    """One step from the output to the loss.

    Args:
        name: what this value is called, e.g. ``"p"`` or ``"loss"``.
        code: the numpy line that computes it.
        numpy_value: its value (float64), a scalar or one value per class.
        keras_code: the Keras call that computes the same thing, or None when Keras has no
            separate function for this intermediate value (the exponentials and their sum).
        keras_value: what that call returned, or None.
        meaning: one sentence for students.
    """

    name: str
    code: str
    numpy_value: np.ndarray
    keras_code: str | None
    keras_value: np.ndarray | None
    meaning: str

    @property
    def max_abs_diff(self) -> float | None:
        if self.keras_value is None:
            return None
        return float(np.max(np.abs(np.asarray(self.numpy_value) - np.asarray(self.keras_value))))

    @property
    def agrees(self) -> bool | None:
        if self.keras_value is None:
            return None
        return bool(np.allclose(self.numpy_value, self.keras_value, rtol=_RTOL, atol=_ATOL))


def logits(last: LayerStep) -> np.ndarray | None:
    """The output layer's values before its softmax or sigmoid, from the trace of that layer; None
    when the output has no such activation (hinge scores, regression)."""
    if last.activation not in ("softmax", "sigmoid"):
        return None
    return np.asarray(last.steps[0].value if last.kind == "Dense" else last.inputs, dtype=np.float64)


def _keras(function: Callable, *args) -> np.ndarray:
    tensors = [np.asarray(a, dtype=np.float32) for a in args]
    return np.asarray(keras.ops.convert_to_numpy(function(*tensors)), dtype=np.float64)


def loss_steps(
    output: np.ndarray, pre_activation: np.ndarray | None, target: float, loss: str
) -> list[LossStep]:
    """The way from the network's output for one sample to its loss.

    Args:
        output: the model's output for the sample, shape ``(units,)``: probabilities for
            softmax or sigmoid outputs, scores for hinge, the prediction for regression.
        pre_activation: the output layer's values before its activation (the logits), shape
            ``(units,)``; None when the output layer has no activation to undo.
        target: the true class index (classification) or value (regression).
        loss: ``"sparse_categorical_crossentropy"``, ``"binary_crossentropy"``, ``"hinge"`` or ``"mse"``.

    Returns:
        The steps in order; the last one is the loss.
    """
    output = np.asarray(output, dtype=np.float64)
    if loss == "sparse_categorical_crossentropy":
        return _softmax_cross_entropy(output, pre_activation, int(target))
    if loss == "binary_crossentropy":
        return _binary_cross_entropy(output, pre_activation, float(target))
    if loss == "hinge":
        return _hinge(output, float(target))
    if loss == "mse":
        return _squared_error(output, float(target))
    raise ValueError(
        f"Loss {loss!r} has no walk-through; use one of sparse_categorical_crossentropy, "
        "binary_crossentropy, hinge or mse."
    )


def _clipped(p: np.ndarray) -> np.ndarray:
    """``p`` kept within [ε, 1 − ε] as Keras keeps it, in float32, where 1 − 1e-7 is 0.99999988:
    so a certain, wrong answer costs -log(1.19e-7) = 15.94, not the float64 16.12."""
    eps = np.float32(keras.config.epsilon())
    return np.clip(np.float32(p), eps, np.float32(1) - eps).astype(np.float64)


def _softmax_cross_entropy(p: np.ndarray, z: np.ndarray | None, true: int) -> list[LossStep]:
    steps = []
    if z is not None:
        z = np.asarray(z, dtype=np.float64)
        e = np.exp(z - z.max())
        steps += [
            LossStep(
                "z",
                "z  # the output layer's values before softmax: the logits",
                z,
                None,
                None,
                "One score per class; larger means more likely, but they are not probabilities yet.",
            ),
            LossStep(
                "exp(z)",
                "e = np.exp(z - z.max())",
                e,
                None,
                None,
                "Exponentials make every score positive; subtracting the largest score first "
                "avoids overflow and changes nothing after dividing.",
            ),
            LossStep(
                "sum",
                "total = e.sum()",
                np.asarray(e.sum()),
                None,
                None,
                "The sum of the exponentials, to divide by.",
            ),
            LossStep(
                "p",
                "p = e / total",
                e / e.sum(),
                "keras.ops.softmax(z)",
                _keras(keras.ops.softmax, z),
                "Softmax: each exponential's share of the sum, so the values are positive and add up to 1.",
            ),
        ]
    eps = keras.config.epsilon()
    loss = -np.log(_clipped(p)[true])
    keras_loss = _keras(keras.losses.sparse_categorical_crossentropy, [true], p[None, :])[0]
    one_hot = np.eye(p.size)[true]
    keras_one_hot = _keras(keras.losses.categorical_crossentropy, one_hot[None, :], p[None, :])[0]
    steps += [
        LossStep(
            "loss",
            f"loss = -np.log(np.clip(p, {eps:g}, 1 - {eps:g})[{true}])",
            np.asarray(loss),
            f"keras.losses.sparse_categorical_crossentropy([{true}], [p])",
            np.asarray(keras_loss),
            f"Cross-entropy: minus the log of the probability given to the true class ({true}). "
            "0 if the network was certain and right; large if it gave the truth little probability.",
        ),
        LossStep(
            "loss (one-hot)",
            f"y = np.eye({p.size})[{true}]; loss = -(y * np.log(np.clip(p, {eps:g}, 1))).sum()",
            np.asarray(-(one_hot * np.log(_clipped(p))).sum()),
            "keras.losses.categorical_crossentropy(y, p)",
            np.asarray(keras_one_hot),
            "The same loss with the label written as a one-hot vector: only the true class's term is not 0.",
        ),
    ]
    return steps


def _binary_cross_entropy(p: np.ndarray, z: np.ndarray | None, y: float) -> list[LossStep]:
    steps = []
    if z is not None:
        z = np.asarray(z, dtype=np.float64)
        steps += [
            LossStep(
                "z",
                "z  # the output unit's value before the sigmoid",
                z,
                None,
                None,
                "One score: positive leans to class 1, negative to class 0.",
            ),
            LossStep(
                "p",
                "p = 1 / (1 + np.exp(-z))",
                1 / (1 + np.exp(-z)),
                "keras.ops.sigmoid(z)",
                _keras(keras.ops.sigmoid, z),
                "The sigmoid turns the score into the probability of class 1.",
            ),
        ]
    q = _clipped(p[0])
    loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))  # p clipped to [ε, 1 − ε] as Keras does
    keras_loss = _keras(keras.losses.binary_crossentropy, [[y]], p[None, :])[0]
    steps.append(
        LossStep(
            "loss",
            f"y = {y:g}; p = np.clip(p, 1e-7, 1 - 1e-7); loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))",
            np.asarray(loss),
            f"keras.losses.binary_crossentropy([[{y:g}]], [p])",
            np.asarray(keras_loss),
            f"Binary cross-entropy: minus the log of the probability given to the true class ({y:g}).",
        )
    )
    return steps


def _hinge(score: np.ndarray, y: float) -> list[LossStep]:
    sign = 2 * y - 1
    loss = max(0.0, 1 - sign * float(score[0]))
    keras_loss = _keras(keras.losses.hinge, [[y]], score[None, :])[0]
    return [
        LossStep(
            "t",
            f"t = 2 * {y:g} - 1  # the label as -1 or +1",
            np.asarray(sign),
            None,
            None,
            "Hinge loss uses labels -1 and +1; Keras converts 0/1 labels itself.",
        ),
        LossStep(
            "loss",
            "loss = max(0, 1 - t * score)",
            np.asarray(loss),
            f"keras.losses.hinge([[{y:g}]], [score])",
            np.asarray(keras_loss),
            "0 once the score is on the right side by a margin of 1; grows linearly the more it is wrong.",
        ),
    ]


def _squared_error(prediction: np.ndarray, y: float) -> list[LossStep]:
    error = float(prediction[0]) - y
    keras_loss = _keras(keras.losses.mean_squared_error, [[y]], prediction[None, :])[0]
    return [
        LossStep(
            "error",
            f"error = prediction - {y:.4g}",
            np.asarray(error),
            None,
            None,
            "How far the prediction is from the true value, with its sign.",
        ),
        LossStep(
            "loss",
            "loss = error ** 2",
            np.asarray(error**2),
            f"keras.losses.mean_squared_error([[{y:.4g}]], [prediction])",
            np.asarray(keras_loss),
            "The squared error: big misses cost far more than small ones; the mean over rows is the MSE.",
        ),
    ]
