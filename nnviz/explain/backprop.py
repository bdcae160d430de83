"""One training step backwards: the gradients of the loss, layer by layer, in numpy beside ``tf.GradientTape``.

The forward trace (:mod:`nnviz.explain.trace`) follows an input to the loss; this module follows the
loss back to every weight, as ``fit`` does for one step, and then applies the model's own optimizer
to those gradients (:func:`optimizer_step`).

- **Mode.** Everything is computed in inference mode, as the forward trace is: dropout passes
  values through and batch normalisation uses its moving statistics. A training step of ``fit``
  differs only for those two layer kinds (dropout's random mask, the batch's own statistics); the
  page says so when the network has one of them.
- **The loss's own gradient** is the one the compiled loss gives, with its reduction (the mean
  over the batch): with TensorFlow a softmax or sigmoid output with cross-entropy is
  differentiated from its logits, ``∂L/∂z = (p − y) / B``; hinge and squared error from the output.
- **Each layer is checked on its own**, like the forward trace: its backward step starts from
  GradientTape's gradient at the layer's output (where the tape has one: a softmax or sigmoid
  output read through its logits has none, so that layer starts from the numpy ``∂L/∂z``), and
  its ``∂L/∂W``, ``∂L/∂b`` and ``∂L/∂(input)`` are compared with the tape's.
- **Tolerance.** Like the forward pass, a value may differ by float32 rounding of the terms summed
  to make it: ``1e-5 · (1 + size)`` relative to the scale of the upstream gradient, size being the
  sum of the absolute terms (``Σₙ|xₙᵢ·δₙⱼ|`` for ``∂L/∂W``). Activation slopes are taken from the
  layer's own float32 output, as TensorFlow's gradients are (``1 − a²`` for tanh, ``a(1 − a)`` for
  sigmoid, ``a > 0`` for ReLU).

Nothing here changes the model it is given. Pure numpy and Keras: no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from nnviz.explain.lossmath import _uses_logits
from nnviz.explain.trace import ComputationStep, _activation_name, _handler_for, _same_padding

__all__ = ["BackwardStep", "Compared", "OptimizerStep", "backward_pass", "optimizer_step", "worked_gradient"]

_TOLERANCE = 1e-5  # times (1 + size / scale): ~100 times float32 rounding of the summed terms
_LOGIT_LOSSES = {"sparse_categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid"}


@dataclass(frozen=True, eq=False)
class Compared:
    """One gradient computed in numpy beside GradientTape's.

    Args:
        name: what it is, e.g. ``"∂L/∂W"``.
        numpy: the numpy value (float64).
        tape: GradientTape's value for the same model, loss and reduction (float64), or None
            when the tape has none to give.
        size: per value, the sum of the absolute terms that make it (bounds float32 rounding).
        scale: the size of the upstream gradient the step started from, so that the tolerance
            is relative to the gradients' scale, not to 1.
        rule: ``size`` in words, shown with the verdict.
    """

    name: str
    numpy: np.ndarray
    tape: np.ndarray | None
    size: np.ndarray
    scale: float
    rule: str

    @property
    def max_abs_diff(self) -> float | None:
        if self.tape is None:
            return None
        if self.numpy.shape != self.tape.shape:
            return float("inf")
        return float(np.max(np.abs(self.numpy - self.tape))) if self.numpy.size else 0.0

    @property
    def tolerance(self) -> np.ndarray:
        return _TOLERANCE * (self.scale + self.size)

    @property
    def agrees(self) -> bool | None:
        if self.tape is None:
            return None
        if self.numpy.shape != self.tape.shape:
            return False
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.abs(self.numpy - self.tape) <= self.tolerance))


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One layer, backwards.

    Args:
        index: position of the layer in ``model.layers``.
        name: the Keras layer name.
        kind: the Keras class name (``"Dense"``, ``"Conv2D"``, …).
        inputs: what went into the layer going forward, shape ``(B, *input_shape)``.
        upstream: ``∂L/∂(layer output)`` the step starts from, or None when it starts from
            ``∂L/∂z`` (a softmax or sigmoid output differentiated through its logits).
        steps: the numpy code of the backward step and its values, in order.
        gradients: ``∂L/∂W``, ``∂L/∂b`` (layers with weights), then ``∂L/∂x`` (the gradient passed
            on to the layer before), each beside GradientTape's.
        delta: the gradient at the layer's pre-activation (``∂L/∂z``) for layers that have one
            (Dense, Conv2D), else None; :func:`worked_gradient` uses it.
        explanation: one sentence for students.
        weights: the layer's kernel and bias as they are (Dense, Conv2D), to show beside their
            gradients; None for layers without them.
    """

    index: int
    name: str
    kind: str
    inputs: np.ndarray
    upstream: np.ndarray | None
    steps: tuple[ComputationStep, ...]
    gradients: tuple[Compared, ...]
    delta: np.ndarray | None
    explanation: str
    weights: tuple[np.ndarray, np.ndarray | None] | None = None

    @property
    def agrees(self) -> bool:
        return all(g.agrees is not False for g in self.gradients)

    def gradient(self, name: str) -> Compared | None:
        return next((g for g in self.gradients if g.name == name), None)


@dataclass(frozen=True, eq=False)
class Backward:
    """The whole backward pass for a batch.

    Args:
        loss: the compiled loss of the batch (GradientTape's forward).
        output_gradient: ``∂L/∂z`` (logits) or ``∂L/∂ŷ`` (output) from the loss, in numpy beside
            GradientTape's where it has one.
        output_rule: the formula of that gradient in words.
        layers: one :class:`BackwardStep` per layer, from the last layer to the first.
        input_gradient: ``∂L/∂(input)``: a saliency map for images.
        tape_weight_gradients: GradientTape's gradients of every trainable weight, in
            ``model.trainable_weights`` order (what the optimizer step applies).
    """

    loss: float
    output_gradient: Compared
    output_rule: str
    layers: tuple[BackwardStep, ...]
    input_gradient: np.ndarray
    tape_weight_gradients: tuple[np.ndarray, ...]

    @property
    def agrees(self) -> bool:
        return self.output_gradient.agrees is not False and all(step.agrees for step in self.layers)

    @property
    def finite(self) -> bool:
        """Whether the loss and every gradient the tape gave are finite numbers (an input of 1e30
        overflows float32 on its way to the loss, and then there is no step to show)."""
        return bool(np.isfinite(self.loss)) and all(
            np.all(np.isfinite(g)) for g in self.tape_weight_gradients
        )


# --------------------------------------------------------------------------- #
# GradientTape: what fit differentiates
# --------------------------------------------------------------------------- #


def _tape(model: keras.Model, X: np.ndarray, y: np.ndarray):
    """Forward layer by layer in inference mode under a tape; the compiled loss and the tape's
    gradients at every layer's input and output and of every trainable weight."""
    import tensorflow as tf

    x = tf.constant(X, dtype=tf.float32)
    target = tf.constant(y)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outputs, h = [], x
        for layer in model.layers:
            h = layer(h, training=False)
            outputs.append(h)
        loss = model.compute_loss(x=x, y=target, y_pred=h, training=False)
    at_outputs = tape.gradient(loss, outputs)
    at_input = tape.gradient(loss, x)
    per_layer = [tape.gradient(loss, layer.trainable_weights) for layer in model.layers]
    del tape
    weights = [g for grads in per_layer for g in grads]  # a Sequential's trainable_weights, layer by layer

    def numbers(value) -> np.ndarray | None:
        return None if value is None else np.asarray(value, dtype=np.float64)

    return (
        float(loss),
        [np.asarray(o, dtype=np.float64) for o in outputs],
        [numbers(g) for g in at_outputs],
        numbers(at_input),
        [numbers(g) for g in weights],
        [[numbers(g) for g in grads] for grads in per_layer],
    )


# --------------------------------------------------------------------------- #
# The loss's gradient
# --------------------------------------------------------------------------- #


def _output_gradient(
    loss: str, output: np.ndarray, y: np.ndarray, from_logits: bool
) -> tuple[np.ndarray, np.ndarray, str]:
    """``∂L/∂z`` (``from_logits``) or ``∂L/∂ŷ`` for the batch; its size; the formula in words."""
    batch = output.shape[0]
    if loss == "sparse_categorical_crossentropy":
        onehot = np.eye(output.shape[-1])[y.astype(int)]
        if from_logits:
            return (
                (output - onehot) / batch,
                (np.abs(output) + onehot) / batch,
                "∂L/∂z = (p − one_hot(y)) / B",
            )
        p = np.clip(output, 1e-7, 1 - 1e-7)
        grad = np.where(onehot > 0, -1.0 / p, 0.0) * (output == p) / batch
        return grad, np.abs(grad), "∂L/∂p = −one_hot(y) / p / B (0 where p was clipped)"
    if loss == "binary_crossentropy":
        target = y.reshape(output.shape).astype(np.float64)
        units = output.shape[-1]
        if from_logits:
            return (
                (output - target) / (batch * units),
                (np.abs(output) + np.abs(target)) / (batch * units),
                ("∂L/∂z = (p − y) / B"),
            )
        p = np.clip(output, 1e-7, 1 - 1e-7)
        grad = (-(target / p) + (1 - target) / (1 - p)) * (output == p) / (batch * units)
        return grad, np.abs(grad), "∂L/∂p = (−y/p + (1 − y)/(1 − p)) / B"
    units = output.shape[-1]
    target = y.reshape(batch, -1).astype(np.float64) * np.ones((1, units))
    if loss == "hinge":
        signed = np.where(target == 0, -1.0, target)  # Keras turns 0/1 labels into −1/+1
        active = 1 - signed * output >= 0  # at the kink TensorFlow's maximum(·, 0) passes the gradient
        return (
            -signed * active / (batch * units),
            active / (batch * units),
            ("∂L/∂ŷ = −y · [1 − y·ŷ ≥ 0] / (B · outputs), y ∈ {−1, +1}"),
        )
    if loss == "mse":
        return (
            2 * (output - target) / (batch * units),
            2 * (np.abs(output) + np.abs(target)) / (batch * units),
            ("∂L/∂ŷ = 2 (ŷ − y) / (B · outputs)"),
        )
    raise ValueError(f"No gradient for the loss {loss!r}; use one of those nnviz builds.")


# --------------------------------------------------------------------------- #
# Layers, backwards
# --------------------------------------------------------------------------- #


def _activation_backward(act: str, a: np.ndarray, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """``∂L/∂z`` from ``∂L/∂a`` through ``a = act(z)``, with the slope written with ``a`` (as
    TensorFlow computes it); its size; the numpy code."""
    if act == "relu":
        return (
            upstream * (a > 0),
            np.abs(upstream) * (a > 0),
            "dz = da * (a > 0)  # ReLU passes the gradient where it was active",
        )
    if act == "tanh":
        return (
            upstream * (1 - a**2),
            np.abs(upstream) * (1 + a**2),
            "dz = da * (1 - a**2)  # tanh′(z) = 1 − tanh(z)²",
        )
    if act == "sigmoid":
        return (
            upstream * a * (1 - a),
            np.abs(upstream * a) * (1 + np.abs(a)),
            "dz = da * a * (1 - a)  # σ′(z) = σ(z)(1 − σ(z))",
        )
    if act == "softmax":
        inner = (upstream * a).sum(axis=-1, keepdims=True)
        size = np.abs(a) * (np.abs(upstream) + (np.abs(upstream * a)).sum(axis=-1, keepdims=True))
        return (
            a * (upstream - inner),
            size,
            "dz = a * (da - (da * a).sum(axis=-1, keepdims=True))  # softmax's Jacobian",
        )
    return upstream, np.abs(upstream), "dz = da  # linear"


def _pre_activation_gradient(
    act: str, a: np.ndarray, upstream, delta_z
) -> tuple[np.ndarray, np.ndarray, str]:
    """``∂L/∂z`` of a layer with an activation: through the activation from ``upstream``, or
    ``delta_z`` itself when the loss gave it (a softmax or sigmoid output read through its logits)."""
    if delta_z is None:
        return _activation_backward(act, a, upstream)
    return delta_z, np.abs(delta_z), "dz = ∂L/∂z  # from the loss, above"


@dataclass
class _Done:
    steps: list[ComputationStep]
    numpy: list[
        tuple[str, np.ndarray, np.ndarray, str]
    ]  # name, value, size, rule (weights first, then ∂L/∂x)
    delta: np.ndarray | None
    explanation: str


def _dense_or_activation(layer, kind: str, x: np.ndarray, a: np.ndarray, upstream, delta_z) -> _Done:
    delta_z, dz_size, code = _pre_activation_gradient(_activation_name(layer), a, upstream, delta_z)
    steps = [ComputationStep(code, delta_z)]
    if kind == "Activation":
        return _Done(
            steps,
            [("∂L/∂x", delta_z, dz_size, "|∂L/∂a · slope|")],
            None,
            ("Backwards, an activation multiplies each incoming gradient by its own slope at that value."),
        )
    W = np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype=np.float64)
    flat_x = x.reshape(-1, x.shape[-1])
    flat_dz = delta_z.reshape(-1, delta_z.shape[-1])
    grads = [("∂L/∂W", flat_x.T @ flat_dz, np.abs(flat_x).T @ np.abs(flat_dz), "Σₙ|xₙᵢ · δₙⱼ|")]
    steps.append(ComputationStep("dW = x.T @ dz  # one term per sample, summed", grads[0][1]))
    if layer.use_bias:
        grads.append(("∂L/∂b", flat_dz.sum(axis=0), np.abs(flat_dz).sum(axis=0), "Σₙ|δₙⱼ|"))
        steps.append(ComputationStep("db = dz.sum(axis=0)", grads[-1][1]))
    dx = delta_z @ W.T
    grads.append(("∂L/∂x", dx, np.abs(delta_z) @ np.abs(W).T, "Σⱼ|δⱼ · Wᵢⱼ|"))
    steps.append(ComputationStep("dx = dz @ W.T  # passed back to the layer before", dx))
    return _Done(
        steps,
        grads,
        delta_z,
        (
            "Backwards, each weight's gradient is its input times the gradient at its neuron (summed over the "
            "batch), the bias's is the gradient itself, and each input gets the gradients of the neurons it "
            "feeds, weighted by the weights that connect them."
        ),
    )


def _conv2d(layer, x: np.ndarray, a: np.ndarray, upstream, delta_z) -> _Done:
    delta_z, _, code = _pre_activation_gradient(_activation_name(layer), a, upstream, delta_z)
    steps = [ComputationStep(code, delta_z)]
    K = np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype=np.float64)
    (kh, kw), (sh, sw) = tuple(layer.kernel_size), tuple(layer.strides)
    pad = ((0, 0), (0, 0))
    if layer.padding == "same":
        pad = (_same_padding(kh, sh, x.shape[1]), _same_padding(kw, sw, x.shape[2]))
    xp = np.pad(x, ((0, 0), *pad, (0, 0)))
    out_h, out_w = delta_z.shape[1:3]
    dK, dK_size = np.zeros_like(K), np.zeros_like(K)
    dxp, dxp_size = np.zeros_like(xp), np.zeros_like(xp)
    for u in range(kh):
        for v in range(kw):
            rows, cols = slice(u, u + sh * out_h, sh), slice(v, v + sw * out_w, sw)
            window = xp[:, rows, cols, :]
            dK[u, v] = np.einsum("nijc,nijf->cf", window, delta_z)
            dK_size[u, v] = np.einsum("nijc,nijf->cf", np.abs(window), np.abs(delta_z))
            dxp[:, rows, cols, :] += np.einsum("nijf,cf->nijc", delta_z, K[u, v])
            dxp_size[:, rows, cols, :] += np.einsum("nijf,cf->nijc", np.abs(delta_z), np.abs(K[u, v]))
    (top, _), (left, _) = pad
    crop = (slice(None), slice(top, top + x.shape[1]), slice(left, left + x.shape[2]), slice(None))
    grads = [("∂L/∂W", dK, dK_size, "Σ|window · δ|")]
    steps.append(
        ComputationStep(
            "dW[u, v, c, f] = (x_window(u, v)[..., c] * dz[..., f]).sum()  # input correlated with δ", dK
        )
    )
    if layer.use_bias:
        grads.append(("∂L/∂b", delta_z.sum(axis=(0, 1, 2)), np.abs(delta_z).sum(axis=(0, 1, 2)), "Σ|δ|"))
        steps.append(ComputationStep("db = dz.sum(axis=(0, 1, 2))", grads[-1][1]))
    grads.append(("∂L/∂x", dxp[crop], dxp_size[crop], "Σ|δ · kernel|"))
    steps.append(ComputationStep("dx = full convolution of dz with the flipped kernel", dxp[crop]))
    return _Done(
        steps,
        grads,
        delta_z,
        (
            "Backwards, a kernel's gradient is the input correlated with the gradient map (every window times "
            "the gradient at its output cell, summed), and the input's gradient spreads each output cell's "
            "gradient back over its window through the kernel."
        ),
    )


def _max_pooling(layer, x: np.ndarray, upstream: np.ndarray) -> _Done:
    (ph, pw), (sh, sw) = tuple(layer.pool_size), tuple(layer.strides)
    dx, size = np.zeros_like(x), np.zeros_like(x)
    out_h, out_w = upstream.shape[1:3]
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :]
            flat = window.reshape(window.shape[0], -1, window.shape[-1])
            first = flat.argmax(axis=1)  # the first maximum in row-major order, as TensorFlow routes
            n, c = np.meshgrid(np.arange(flat.shape[0]), np.arange(flat.shape[-1]), indexing="ij")
            r, q = np.divmod(first, pw)
            dx[n, i * sh + r, j * sw + q, c] += upstream[:, i, j, :]
            ties = window == window.max(axis=(1, 2), keepdims=True)  # a tie may be routed elsewhere
            size[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :] += ties * np.abs(
                upstream[:, i, j, None, None, :]
            )
    step = ComputationStep("dx[window's max] = da  # every other input of the window gets 0", dx)
    return _Done(
        [step],
        [("∂L/∂x", dx, size, "|da| at each window's maximum")],
        None,
        (
            "Backwards, max pooling sends each window's gradient to the one input that was the maximum; the "
            "others did not affect the output, so their gradient is 0."
        ),
    )


def _batch_normalization(layer, x: np.ndarray, upstream: np.ndarray) -> _Done:
    def values(weight) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(weight), dtype=np.float64)

    mean, var = values(layer.moving_mean), values(layer.moving_variance)
    gamma = values(layer.gamma) if layer.scale else np.ones_like(mean)
    root = np.sqrt(var + float(layer.epsilon))
    normalised = (x - mean) / root
    axes = tuple(range(x.ndim - 1))
    grads = []
    steps = []
    if layer.scale:
        grads.append(
            (
                "∂L/∂γ",
                (upstream * normalised).sum(axis=axes),
                (np.abs(upstream * normalised)).sum(axis=axes),
                "Σ|da · x̂|",
            )
        )
        steps.append(
            ComputationStep(
                "dgamma = (da * (x - mean) / np.sqrt(var + eps)).sum(axis=batch axes)", grads[-1][1]
            )
        )
    if layer.center:
        grads.append(("∂L/∂β", upstream.sum(axis=axes), np.abs(upstream).sum(axis=axes), "Σ|da|"))
        steps.append(ComputationStep("dbeta = da.sum(axis=batch axes)", grads[-1][1]))
    dx = upstream * gamma / root
    grads.append(("∂L/∂x", dx, np.abs(dx), "|da · γ / √(var + ε)|"))
    steps.append(
        ComputationStep("dx = da * gamma / np.sqrt(var + eps)  # moving statistics are constants here", dx)
    )
    return _Done(
        steps,
        grads,
        None,
        (
            "Backwards in inference mode, batch normalisation is a fixed scale per channel: the gradient is "
            "multiplied by γ / √(var + ε); γ's gradient is the incoming gradient times the standardised input, β's "
            "is the incoming gradient."
        ),
    )


def _layer_backward(layer, kind: str, x: np.ndarray, a: np.ndarray, upstream, delta_z) -> _Done:
    if kind in ("Dense", "Activation"):
        return _dense_or_activation(layer, kind, x, a, upstream, delta_z)
    if kind == "Conv2D":
        return _conv2d(layer, x, a, upstream, delta_z)
    if kind == "MaxPooling2D":
        return _max_pooling(layer, x, upstream)
    if kind == "BatchNormalization":
        return _batch_normalization(layer, x, upstream)
    if kind == "Rescaling":
        scale = float(np.asarray(layer.scale))
        dx = upstream * scale
        return _Done(
            [ComputationStep(f"dx = da * {scale:g}", dx)],
            [("∂L/∂x", dx, np.abs(dx), "|da · scale|")],
            None,
            (
                "Backwards, rescaling multiplies the gradient by the same scale; the offset has no effect on it."
            ),
        )
    if kind == "Dropout":
        return _Done(
            [ComputationStep("dx = da  # inference mode: dropout passes everything", upstream)],
            [("∂L/∂x", upstream, np.abs(upstream), "|da|")],
            None,
            "In inference mode dropout lets every value through, so it passes every gradient back unchanged.",
        )
    # Flatten, Reshape: the same values, in the input's shape
    dx = upstream.reshape(x.shape)
    return _Done(
        [ComputationStep(f"dx = da.reshape{x.shape[1:]}", dx)],
        [("∂L/∂x", dx, np.abs(dx), "|da|")],
        None,
        (f"{kind} only rearranges values, so backwards it rearranges the gradients into the input's shape."),
    )


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #


def backward_pass(model: keras.Model, X: np.ndarray, y: np.ndarray, loss: str) -> Backward:
    """The gradient of the compiled loss of the batch ``(X, y)``, layer by layer, numpy beside GradientTape.

    Args:
        model: a compiled Sequential model of the layer kinds nnviz builds.
        X: the batch, shape ``(B, *input_shape)`` (B = 1 for one sample).
        y: labels or targets, shape ``(B,)``.
        loss: the compiled loss's name (``ModelSpec.loss``).

    Returns:
        A :class:`Backward`; ``model`` is not changed.
    """
    handlers = [_handler_for(layer) for layer in model.layers]  # refuses layer kinds it cannot follow
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    loss_value, outputs, at_outputs, at_input, weight_grads, per_layer = _tape(model, X, y)
    inputs = [X.astype(np.float64), *outputs[:-1]]
    last = model.layers[-1]
    from_logits = _uses_logits() and _LOGIT_LOSSES.get(loss) == _activation_name(last)
    grad, size, rule = _output_gradient(loss, outputs[-1], y, from_logits)
    # The tape has ∂L/∂ŷ where the loss reads the output; through the logits it has none at the output.
    output_gradient = Compared(
        "∂L/∂z" if from_logits else "∂L/∂ŷ",
        grad,
        None if from_logits else at_outputs[-1],
        size,
        float(np.abs(grad).max(initial=0.0)),
        "|ŷ| + |y|",
    )
    layers: list[BackwardStep] = []
    for index in reversed(range(len(model.layers))):
        layer, (kind, _) = model.layers[index], handlers[index]
        starts_at_logits = index == len(model.layers) - 1 and from_logits
        upstream = None if starts_at_logits else at_outputs[index]
        if upstream is None and not starts_at_logits:  # the layer does not reach the loss
            upstream = np.zeros_like(outputs[index])
        done = _layer_backward(
            layer, kind, inputs[index], outputs[index], upstream, grad if starts_at_logits else None
        )
        tape_values = [*per_layer[index], at_outputs[index - 1] if index else at_input]
        scale = float(np.abs(grad if upstream is None else upstream).max(initial=0.0))
        compared = tuple(
            Compared(name, value, tape, size, scale, rule)
            for (name, value, size, rule), tape in zip(done.numpy, tape_values, strict=True)
        )
        kernel = getattr(layer, "kernel", None) if kind in ("Dense", "Conv2D") else None
        weights = None
        if kernel is not None:
            bias = np.asarray(keras.ops.convert_to_numpy(layer.bias), np.float64) if layer.use_bias else None
            weights = (np.asarray(keras.ops.convert_to_numpy(kernel), np.float64), bias)
        layers.append(
            BackwardStep(
                index,
                layer.name,
                kind,
                inputs[index],
                upstream,
                tuple(done.steps),
                compared,
                done.delta,
                done.explanation,
                weights,
            )
        )
    return Backward(loss_value, output_gradient, rule, tuple(layers), at_input, tuple(weight_grads))


def worked_gradient(step: BackwardStep, row: int, column: int) -> str | None:
    """One entry of a Dense layer's ``∂L/∂W`` worked out, e.g.
    ``∂L/∂W[2, 5] = x[2] × δ[5] = 0.31 × (−0.12) = −0.0372`` (summed over the batch when B > 1)."""
    if step.kind != "Dense" or step.delta is None:
        return None
    x = step.inputs.reshape(-1, step.inputs.shape[-1])[:, row]
    delta = step.delta.reshape(-1, step.delta.shape[-1])[:, column]
    value = float((x * delta).sum())
    if len(x) == 1:
        return (
            f"∂L/∂W[{row}, {column}] = x[{row}] × δ[{column}] = {x[0]:.4g} × ({delta[0]:.4g}) = {value:.4g}"
        )
    return f"∂L/∂W[{row}, {column}] = Σₙ xₙ[{row}] × δₙ[{column}] over the {len(x)} samples = {value:.4g}"


# --------------------------------------------------------------------------- #
# The update
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class OptimizerStep:
    """The model's optimizer applied once to the tape's gradients, in numpy beside Keras.

    Args:
        optimizer: e.g. ``"Adam"``.
        step_number: the step this is (1 for a model never trained).
        names: the weights' paths, in ``model.trainable_weights`` order.
        before: the weights before.
        gradients: the gradients applied.
        numpy_after: the weights after, computed in numpy.
        keras_after: the weights after ``optimizer.apply`` on a copy of the model.
        rule: the update in numpy code.
        loss_before / loss_after: the compiled loss of the batch before and after (the copy's).
    """

    optimizer: str
    step_number: int
    names: tuple[str, ...]
    before: tuple[np.ndarray, ...]
    gradients: tuple[np.ndarray, ...]
    numpy_after: tuple[np.ndarray, ...]
    keras_after: tuple[np.ndarray, ...]
    rule: str
    loss_before: float
    loss_after: float

    def max_abs_diff(self) -> float:
        return max(
            (float(np.max(np.abs(a - b))) for a, b in zip(self.numpy_after, self.keras_after) if a.size),
            default=0.0,
        )

    @property
    def agrees(self) -> bool:
        """Within float32 rounding of the weights and of the step (1e-5 of their sizes)."""
        return all(
            np.all(np.abs(a - b) <= _TOLERANCE * (np.abs(w) + np.abs(a - w) + 1e-12))
            for a, b, w in zip(self.numpy_after, self.keras_after, self.before)
        )


def _slot(optimizer, variable, name: str) -> np.ndarray:
    """The optimizer's ``name`` slot (``"momentum"``, ``"velocity"``) for ``variable``, zeros if none yet."""
    wanted = f"{variable.path.replace('/', '_')}_{name}"
    for slot in optimizer.variables:
        if slot.path.split("/")[-1] == wanted:
            return np.asarray(slot.numpy(), dtype=np.float64)
    return np.zeros(variable.shape)


def _numpy_update(optimizer, variable, w: np.ndarray, g: np.ndarray, t: int) -> tuple[np.ndarray, str]:
    lr = float(np.asarray(optimizer.learning_rate))
    name = type(optimizer).__name__
    if name == "SGD" and not optimizer.momentum:
        return w - lr * g, f"w = w - {lr:g} * g"
    if name == "Adam" and not optimizer.amsgrad:
        b1, b2, eps = float(optimizer.beta_1), float(optimizer.beta_2), float(optimizer.epsilon)
        m, v = _slot(optimizer, variable, "momentum"), _slot(optimizer, variable, "velocity")
        m = m + (g - m) * (1 - b1)
        v = v + (g**2 - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * m / (np.sqrt(v) + eps), (
            f"m = m + (g - m) * {1 - b1:g};  v = v + (g**2 - v) * {1 - b2:g};  "
            f"w = w - {lr:g} * sqrt(1 - {b2:g}**t) / (1 - {b1:g}**t) * m / (sqrt(v) + {eps:g})  # t = {t}"
        )
    if name == "RMSprop" and not optimizer.momentum and not optimizer.centered:
        rho, eps = float(optimizer.rho), float(optimizer.epsilon)
        v = rho * _slot(optimizer, variable, "velocity") + (1 - rho) * g**2
        return w - lr * g / np.sqrt(
            v + eps
        ), f"v = {rho:g} * v + {1 - rho:g} * g**2;  w = w - {lr:g} * g / sqrt(v + {eps:g})"
    raise ValueError(
        f"No numpy update for {name} with these settings; nnviz builds SGD, Adam and RMSprop with Keras's defaults."
    )


def optimizer_step(
    model: keras.Model, twin: keras.Model, X: np.ndarray, y: np.ndarray, gradients: tuple[np.ndarray, ...]
) -> OptimizerStep:
    """Apply ``model``'s optimizer once to ``gradients``, on ``twin`` (a fresh model of the same spec,
    given ``model``'s weights and optimizer state first) and in numpy, from the current state.

    ``model`` is not changed: copy ``twin``'s state into it (:func:`nnviz.training.twins.copy_state`)
    to keep the step.
    """
    from nnviz.training.twins import copy_state, copy_weights

    optimizer = model.optimizer
    if optimizer.built:
        copy_state(model, twin)
    else:  # never trained: its optimizer has no slots yet, and building them would change it
        copy_weights(model, twin)
    t = int(np.asarray(optimizer.iterations)) + 1
    before, numpy_after = [], []
    rule = ""
    for variable, g in zip(model.trainable_weights, gradients, strict=True):
        w = np.asarray(variable.numpy(), dtype=np.float64)
        after, rule = _numpy_update(optimizer if optimizer.built else twin.optimizer, variable, w, g, t)
        before.append(w)
        numpy_after.append(after)
    X32, y32 = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.float32)
    loss_before = float(twin.compute_loss(x=X32, y=y32, y_pred=twin(X32, training=False), training=False))
    twin.optimizer.apply([np.asarray(g, dtype=np.float32) for g in gradients], twin.trainable_weights)
    loss_after = float(twin.compute_loss(x=X32, y=y32, y_pred=twin(X32, training=False), training=False))
    return OptimizerStep(
        type(optimizer).__name__,
        t,
        tuple(v.path for v in model.trainable_weights),
        tuple(before),
        tuple(np.asarray(g, dtype=np.float64) for g in gradients),
        tuple(numpy_after),
        tuple(np.asarray(v.numpy(), dtype=np.float64) for v in twin.trainable_weights),
        rule,
        loss_before,
        loss_after,
    )
