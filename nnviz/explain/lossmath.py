"""From the network's last numbers to the loss, step by step, in numpy beside Keras's own functions.

For one sample: the output layer's pre-activation values (logits) → exp → sum → probabilities
(softmax) → −log p(true class) (cross-entropy), and the same loss written with a one-hot target;
sigmoid and binary cross-entropy or hinge for two classes; the squared error for regression.
Every step is computed twice: in numpy as a student would type it, and by Keras — the loss itself
by the model's compiled loss (:func:`model_loss`), the number ``fit`` and ``evaluate`` use.

Why the logits matter: with a softmax or sigmoid output, Keras's TensorFlow backend computes the
cross-entropy from the logits (log-sum-exp), not from the probabilities. The textbook form
``-log(p)`` needs ``p`` clipped to [1e-7, 1 − 1e-7] to stay finite, so it never exceeds 16.12; a
confident mistake whose ``p(true)`` is 1e-86 costs 198 from the logits. Both forms are shown, and
:func:`clipping_note` says where and why they differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import scipy.special

from nnviz.explain.trace import LayerStep

__all__ = ["LossStep", "clipping_note", "logits", "loss_steps", "model_loss", "training_loss"]

# Keras computes in float32 and numpy in float64: values may differ by 1e-5 × (1 + the size of
# what was added up to make them) — for a loss from logits, log-sum-exp and z[true] can both be
# 1e3 while the loss is 1e-3.
_TOLERANCE = 1e-5


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
        magnitude: the size of the terms added up to make the value (its float32 rounding
            grows with it); None when the value's own size is all that counts.
    """

    name: str
    code: str
    numpy_value: np.ndarray
    keras_code: str | None
    keras_value: np.ndarray | None
    meaning: str
    magnitude: float | None = None

    @property
    def max_abs_diff(self) -> float | None:
        if self.keras_value is None:
            return None
        return float(np.max(np.abs(np.asarray(self.numpy_value) - np.asarray(self.keras_value))))

    @property
    def agrees(self) -> bool | None:
        """Whether numpy and Keras agree within float32 rounding: ``1e-5 × (1 + size)``."""
        if self.keras_value is None:
            return None
        a, b = np.asarray(self.numpy_value, np.float64), np.asarray(self.keras_value, np.float64)
        size = np.maximum(np.abs(a), np.abs(b))
        if self.magnitude is not None:
            size = np.maximum(size, self.magnitude)
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.abs(a - b) <= _TOLERANCE * (1 + size)))


def logits(last: LayerStep) -> np.ndarray | None:
    """The output layer's values before its softmax or sigmoid, from the trace of that layer; None
    when the output has no such activation (hinge scores, regression)."""
    if last.activation not in ("softmax", "sigmoid"):
        return None
    return np.asarray(last.steps[0].value if last.kind == "Dense" else last.inputs, dtype=np.float64)


def model_loss(model: keras.Model, x: np.ndarray, target: float) -> float:
    """The model's compiled loss for one sample: what ``model.evaluate`` reports for it alone.

    Args:
        model: a compiled model.
        x: one sample without the batch axis, e.g. shape ``(4,)`` or ``(28, 28)``.
        target: its class index or value.
    """
    batch = np.asarray(x, dtype=np.float32)[None]
    y = np.asarray([target], dtype=np.float32)
    loss = model.compute_loss(x=batch, y=y, y_pred=model(batch, training=False), training=False)
    return float(keras.ops.convert_to_numpy(loss))


def training_loss(steps: list[LossStep]) -> LossStep:
    """The step holding the loss that training uses (the one compared with the compiled loss)."""
    return next(step for step in steps if step.name == "loss")


def _keras(function: Callable, *args, **options) -> np.ndarray:
    tensors = [np.asarray(a, dtype=np.float32) for a in args]
    return np.asarray(keras.ops.convert_to_numpy(function(*tensors, **options)), dtype=np.float64)


def _uses_logits() -> bool:
    """Whether the compiled cross-entropy works from the logits behind a softmax or sigmoid
    output: TensorFlow's backend does (it finds them on the output tensor); JAX and torch clip
    the probabilities."""
    return keras.backend.backend() == "tensorflow"


def loss_steps(
    output: np.ndarray,
    pre_activation: np.ndarray | None,
    target: float,
    loss: str,
    *,
    compiled: float | None = None,
) -> list[LossStep]:
    """The way from the network's output for one sample to its loss.

    Args:
        output: the model's output for the sample, shape ``(units,)``: probabilities for
            softmax or sigmoid outputs, scores for hinge, the prediction for regression.
        pre_activation: the output layer's values before its activation (the logits), shape
            ``(units,)``; None when the output layer has no activation to undo.
        target: the true class index (classification) or value (regression).
        loss: ``"sparse_categorical_crossentropy"``, ``"binary_crossentropy"``, ``"hinge"`` or ``"mse"``.
        compiled: the model's compiled loss for this sample (:func:`model_loss`), which the step
            named ``"loss"`` is checked against; None checks it against the ``keras.losses``
            function alone.

    Returns:
        The steps in order; :func:`training_loss` picks the loss training uses.
    """
    output = np.asarray(output, dtype=np.float64)
    if loss == "sparse_categorical_crossentropy":
        return _softmax_cross_entropy(output, pre_activation, int(target), compiled)
    if loss == "binary_crossentropy":
        return _binary_cross_entropy(output, pre_activation, float(target), compiled)
    if loss == "hinge":
        return _hinge(output, float(target), compiled)
    if loss == "mse":
        return _squared_error(output, float(target), compiled)
    raise ValueError(
        f"Loss {loss!r} has no walk-through; use one of sparse_categorical_crossentropy, "
        "binary_crossentropy, hinge or mse."
    )


def clipping_note(steps: list[LossStep]) -> str | None:
    """Why the loss from the clipped probabilities differs from the loss training uses, or None
    when they agree (or only the clipped form exists)."""
    by_name = {step.name: step for step in steps}
    clipped = by_name.get(_CLIPPED)
    if clipped is None:
        return None
    used = float(training_loss(steps).numpy_value)
    shown = float(clipped.numpy_value)
    if abs(used - shown) <= _TOLERANCE * (1 + abs(used)):
        return None
    eps = keras.config.epsilon()
    return (
        f"Here the two differ: the probability of the true class is beyond Keras's clip to "
        f"[{eps:g}, 1 − {eps:g}], so the loss from the clipped probabilities stops at {shown:.4g}, "
        f"while training works from the logits, where nothing is clipped: {used:.4g}. That is the "
        "number fit() and evaluate() count for this sample."
    )


_CLIPPED = "loss from p (clipped)"


def _compared(keras_code: str, keras_loss: np.ndarray, compiled: float | None) -> tuple[str, np.ndarray]:
    """What the training loss is checked against: the model's compiled loss (what fit and evaluate
    use) when given, else the ``keras.losses`` call ``keras_code``."""
    if compiled is None:
        return keras_code, np.asarray(keras_loss)
    function = keras_code.split("(")[0].removeprefix("keras.losses.")
    return (
        f"model.compute_loss(y=y, y_pred=model(x))  # compiled {function}",
        np.asarray(compiled, dtype=np.float64),
    )


def _clipped(p: np.ndarray) -> np.ndarray:
    """``p`` kept within [ε, 1 − ε] as Keras keeps it, in float32, where 1 − 1e-7 is 0.99999988:
    so a certain, wrong answer costs -log(1.19e-7) = 15.94, not the float64 16.12."""
    eps = np.float32(keras.config.epsilon())
    return np.clip(np.float32(p), eps, np.float32(1) - eps).astype(np.float64)


def _softmax_cross_entropy(
    p: np.ndarray, z: np.ndarray | None, true: int, compiled: float | None
) -> list[LossStep]:
    eps = keras.config.epsilon()
    clipped_loss = -np.log(_clipped(p)[true])
    keras_clipped = _keras(keras.losses.sparse_categorical_crossentropy, [true], p[None, :])[0]
    clipped_code = f"loss = -np.log(np.clip(p, {eps:g}, 1 - {eps:g})[{true}])"
    clipped_call = f"keras.losses.sparse_categorical_crossentropy([{true}], [p])"
    if z is None or not _uses_logits():
        code, value = _compared(clipped_call, keras_clipped, compiled)
        one_hot = np.eye(p.size)[true]
        return [
            LossStep(
                "loss",
                clipped_code,
                np.asarray(clipped_loss),
                code,
                value,
                f"Cross-entropy: minus the log of the probability given to the true class ({true}), "
                f"with p kept within [{eps:g}, 1 − {eps:g}] as Keras keeps it.",
            ),
            LossStep(
                "loss (one-hot)",
                f"y = np.eye({p.size})[{true}]; loss = -(y * np.log(np.clip(p, {eps:g}, 1))).sum()",
                np.asarray(-(one_hot * np.log(_clipped(p))).sum()),
                "keras.losses.categorical_crossentropy(y, p)",
                _keras(keras.losses.categorical_crossentropy, one_hot[None, :], p[None, :]),
                "The same loss with the label written as a one-hot vector: only the true class's term is not 0.",
            ),
        ]
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    lse = z.max() + np.log(e.sum())
    loss = lse - z[true]
    one_hot = np.eye(p.size)[true]
    size = float(np.abs(z).max())
    code, value = _compared(
        f"keras.losses.sparse_categorical_crossentropy([{true}], z, from_logits=True)",
        _keras(keras.losses.sparse_categorical_crossentropy, [true], z[None, :], from_logits=True)[0],
        compiled,
    )
    return [
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
        LossStep(
            "log-sum-exp",
            "lse = z.max() + np.log(total)  # = log(sum(exp(z))) without overflow",
            np.asarray(lse),
            "keras.ops.logsumexp(z)",
            _keras(keras.ops.logsumexp, z),
            "The log of the softmax's denominator: log p[k] = z[k] − lse for every class k.",
            magnitude=size,
        ),
        LossStep(
            "loss",
            f"loss = lse - z[{true}]  # = -log p[{true}], from the logits as training computes it",
            np.asarray(loss),
            code,
            value,
            f"Cross-entropy: minus the log of the probability given to the true class ({true}), taken "
            "from the logits as Keras does in training: exact even when that probability is 1e-80.",
            magnitude=size,
        ),
        LossStep(
            "loss (one-hot)",
            f"y = np.eye({p.size})[{true}]; loss = -(y * (z - lse)).sum()",
            np.asarray(-(one_hot * (z - lse)).sum()),
            "keras.losses.categorical_crossentropy(y, z, from_logits=True)",
            _keras(keras.losses.categorical_crossentropy, one_hot[None, :], z[None, :], from_logits=True),
            "The same loss with the label written as a one-hot vector: only the true class's term is not 0.",
            magnitude=size,
        ),
        LossStep(
            _CLIPPED,
            clipped_code,
            np.asarray(clipped_loss),
            clipped_call,
            np.asarray(keras_clipped),
            f"The textbook form from the probabilities. Keras keeps p within [{eps:g}, 1 − {eps:g}] "
            "there so the log stays finite, which caps it at 16.12: equal to the loss above unless the "
            "network was almost certain.",
        ),
    ]


def _binary_cross_entropy(
    p: np.ndarray, z: np.ndarray | None, y: float, compiled: float | None
) -> list[LossStep]:
    q = _clipped(p[0])
    clipped_loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))  # p clipped to [ε, 1 − ε] as Keras does
    clipped_code = (
        f"y = {y:g}; q = np.clip(p, 1e-7, 1 - 1e-7); loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))"
    )
    clipped_call = f"keras.losses.binary_crossentropy([[{y:g}]], [p])"
    keras_clipped = _keras(keras.losses.binary_crossentropy, [[y]], p[None, :])[0]
    meaning = f"Binary cross-entropy: minus the log of the probability given to the true class ({y:g})"
    if z is None or not _uses_logits():
        code, value = _compared(clipped_call, keras_clipped, compiled)
        return [LossStep("loss", clipped_code, np.asarray(clipped_loss), code, value, meaning + ".")]
    z = np.asarray(z, dtype=np.float64)
    score = float(z[0])
    loss = max(score, 0.0) - score * y + np.log1p(np.exp(-abs(score)))
    code, value = _compared(
        f"keras.losses.binary_crossentropy([[{y:g}]], [z], from_logits=True)",
        _keras(keras.losses.binary_crossentropy, [[y]], z[None, :], from_logits=True)[0],
        compiled,
    )
    return [
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
            scipy.special.expit(z),  # the same, without overflow warnings for z below -709
            "keras.ops.sigmoid(z)",
            _keras(keras.ops.sigmoid, z),
            "The sigmoid turns the score into the probability of class 1.",
        ),
        LossStep(
            "loss",
            f"y = {y:g}; loss = max(z, 0) - z * y + np.log1p(np.exp(-abs(z)))  # = -log p(true), from the logit",
            np.asarray(loss),
            code,
            value,
            meaning + ", computed from the logit as Keras does in training: exact even when that "
            "probability is 1e-80.",
            magnitude=abs(score),
        ),
        LossStep(
            _CLIPPED,
            clipped_code,
            np.asarray(clipped_loss),
            clipped_call,
            np.asarray(keras_clipped),
            "The textbook form from the probability. Keras keeps p within [1e-7, 1 − 1e-7] there so the "
            "logs stay finite, which caps it near 16: equal to the loss above unless the network was "
            "almost certain.",
        ),
    ]


def _hinge(score: np.ndarray, y: float, compiled: float | None) -> list[LossStep]:
    sign = 2 * y - 1
    loss = max(0.0, 1 - sign * float(score[0]))
    code, value = _compared(
        f"keras.losses.hinge([[{y:g}]], [score])",
        _keras(keras.losses.hinge, [[y]], score[None, :])[0],
        compiled,
    )
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
            code,
            value,
            "0 once the score is on the right side by a margin of 1; grows linearly the more it is wrong.",
            magnitude=abs(float(score[0])),
        ),
    ]


def _squared_error(prediction: np.ndarray, y: float, compiled: float | None) -> list[LossStep]:
    error = float(prediction[0]) - y
    code, value = _compared(
        f"keras.losses.mean_squared_error([[{y:.4g}]], [prediction])",
        _keras(keras.losses.mean_squared_error, [[y]], prediction[None, :])[0],
        compiled,
    )
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
            code,
            value,
            "The squared error: big misses cost far more than small ones; the mean over rows is the MSE.",
            magnitude=(abs(float(prediction[0])) + abs(y)) ** 2,
        ),
    ]
