"""Step one input through a Keras Sequential model and recompute every layer in numpy.

The point of this module is teaching: for each layer we show the numpy code a
student could type (``z = x @ W + b``, ``a = np.maximum(z, 0)``, ...), the
values it produces, and the output of the real Keras layer next to it, so the
student can see that a neural network is "just" these few array operations.

Each layer is fed *Keras's own* output of the previous layer, so a layer's
numpy-vs-Keras comparison is independent of rounding that happened earlier.

This module is a pure engine: it must not import streamlit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from nnviz.views.words import plural

__all__ = [
    "ComputationStep",
    "LayerStep",
    "Window",
    "WorkedWindow",
    "layer_trace",
    "worked_sum",
    "worked_window",
]

# Tolerance used by LayerStep.agrees. Keras computes in float32 and numpy in float64, so
# bit-exact equality is not expected. Rounding a sum of float32 terms errs by a small multiple
# of 6e-8 (float32's unit roundoff) times the sum of the terms' absolute values, not times the
# result: raw pixels 0-255 into Dense(128) sum ~1e3-sized terms to a value near 0 and differ by
# ~1e-4. So each value may differ by 1e-5 × (1 + the size of what was summed to make it), which
# is over 100 times float32 rounding, yet a wrong formula (a missing bias, another activation)
# is still far outside it.
_TOLERANCE = 1e-5


@dataclass(frozen=True, eq=False)
class ComputationStep:
    """One line of numpy code and its result.

    Args:
        label: The numpy code shown to a student, e.g. ``"z = x @ W + b"``.
        value: The result of that code for the single sample, no batch axis.
    """

    label: str
    value: np.ndarray


@dataclass(frozen=True)
class Window:
    """Where a Conv2D kernel or MaxPooling2D window sits: its size, its step, the zero padding.

    Args:
        size: ``(height, width)`` of the window.
        strides: ``(rows, columns)`` it moves between output cells.
        padding: zeros added before sliding (``"same"``): ``((top, bottom), (left, right))``.
    """

    size: tuple[int, int]
    strides: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))


@dataclass(frozen=True, eq=False)
class LayerStep:
    """Everything the app shows for one layer of the trace.

    ``eq=False`` because the fields hold numpy arrays, for which the generated
    ``__eq__`` would raise ("truth value of an array is ambiguous").

    Args:
        index: Position of the layer in ``model.layers``.
        name: The Keras layer name.
        kind: the Keras class name: ``"Dense"``, ``"Activation"``, ``"Dropout"``,
            ``"Flatten"``, ``"Rescaling"``, ``"Conv2D"``, ``"MaxPooling2D"``,
            ``"BatchNormalization"`` or ``"Reshape"``.
        activation: Activation name (``"relu"``, ``"softmax"``, ``"linear"``,
            ...) for Dense/Conv2D/Activation layers, else ``None``.
        inputs: Values going into the layer, no batch axis.
        weights: Dense kernel ``W`` of shape ``(n_in, units)``, or Conv2D kernel
            of shape ``(height, width, in_channels, filters)``, else ``None``.
        bias: Dense or Conv2D bias, one per unit or filter, else ``None``.
        steps: The numpy recomputation, in order. A Dense layer with a
            non-linear activation has two steps: ``z`` then ``activation(z)``.
        numpy_output: The last step's value (float64).
        keras_output: ``layer(inputs[None], training=False)[0]`` from Keras.
        explanation: One plain-English sentence for students.
        window: where the kernel or pooling window slides (Conv2D, MaxPooling2D).
        parameters: other named weights per channel (BatchNormalization's
            ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``).
        magnitude: per output value, the size of the float32 terms Keras added up to make it
            (``|x| @ |W| + |b|`` for Dense), which bounds its rounding; None when the layer
            only moves or compares values (then the value's own size counts).
        magnitude_rule: that size in words, shown with the verdict, e.g. ``"Σᵢ|xᵢ·Wᵢⱼ| + |bⱼ|"``.
    """

    index: int
    name: str
    kind: str
    activation: str | None
    inputs: np.ndarray
    weights: np.ndarray | None
    bias: np.ndarray | None
    steps: tuple[ComputationStep, ...]
    numpy_output: np.ndarray
    keras_output: np.ndarray
    explanation: str
    window: Window | None = None
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    magnitude: np.ndarray | None = None
    magnitude_rule: str = "|value|"

    @property
    def max_abs_diff(self) -> float:
        """Largest ``|numpy_output - keras_output|``; 0.0 for empty outputs.

        Returns ``inf`` if the shapes differ, since then the two cannot agree.
        """
        a = np.asarray(self.numpy_output, dtype=np.float64)
        b = np.asarray(self.keras_output, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        if a.size == 0:
            return 0.0
        return float(np.max(np.abs(a - b)))

    @property
    def tolerance(self) -> np.ndarray:
        """How far each output value may differ by float32 rounding: ``1e-5 × (1 + size)``, where
        size is :attr:`magnitude` (or the value itself, whichever is larger)."""
        a = np.abs(np.asarray(self.numpy_output, dtype=np.float64))
        b = np.abs(np.asarray(self.keras_output, dtype=np.float64))
        size = np.maximum(a, b) if a.shape == b.shape else a
        if self.magnitude is not None:
            size = np.maximum(size, self.magnitude)
        return _TOLERANCE * (1.0 + size)

    @property
    def tolerance_rule(self) -> str:
        """The tolerance in words, for the verdict on screen."""
        return f"|numpy − Keras| ≤ {_TOLERANCE:g} · (1 + {self.magnitude_rule})"

    @property
    def agrees(self) -> bool:
        """Whether every value agrees within float32 rounding (:attr:`tolerance`), same shape."""
        a = np.asarray(self.numpy_output, dtype=np.float64)
        b = np.asarray(self.keras_output, dtype=np.float64)
        # Shape check first: comparing would happily broadcast (3,) against (1, 3).
        if a.shape != b.shape:
            return False
        with np.errstate(invalid="ignore"):
            return bool(np.all(np.abs(a - b) <= self.tolerance))


# --------------------------------------------------------------------------- #
# Activations
# --------------------------------------------------------------------------- #


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp(-z) overflows to inf for z < about -709; 1 / (1 + inf) = 0 is the
    # correct limit, so silence the warning rather than alarm the student.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def _softmax(z: np.ndarray) -> np.ndarray:
    # Keras normalises over the last axis; with a 1-D z that is the whole vector.
    # Subtracting the max keeps exp() from overflowing and cancels out exactly.
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _identity(z: np.ndarray) -> np.ndarray:
    return z


def _activation_label(name: str, var: str, ndim: int) -> str:
    """Numpy code for ``activation(var)`` as shown to a student.

    Args:
        name: Supported activation name.
        var: Variable the activation is applied to (``"z"`` or ``"x"``).
        ndim: Number of dimensions of ``var`` (softmax over a matrix needs ``axis``).
    """
    if name == "relu":
        return f"a = np.maximum({var}, 0)"
    if name == "sigmoid":
        return f"a = 1 / (1 + np.exp(-{var}))"
    if name == "tanh":
        return f"a = np.tanh({var})"
    if name == "softmax":
        if ndim <= 1:
            e = f"np.exp({var} - {var}.max())"
            return f"a = {e} / {e}.sum()  # = exp({var}) / sum(exp({var})); subtracting the max is only for numerical stability"
        e = f"np.exp({var} - {var}.max(axis=-1, keepdims=True))"
        return (
            f"a = {e} / {e}.sum(axis=-1, keepdims=True)"
            f"  # = exp({var}) / sum(exp({var})) per row; subtracting the max is only for numerical stability"
        )
    return f"a = {var}  # linear: identity"


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": _identity,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softmax": _softmax,
}

_ACTIVATION_WORDS: dict[str, str] = {
    "linear": "leaves the values unchanged (linear = identity)",
    "relu": "replaces every negative value by 0 and keeps positive values (ReLU)",
    "sigmoid": "squashes every value into the range 0 to 1 (sigmoid)",
    "tanh": "squashes every value into the range -1 to 1 (tanh)",
    "softmax": "turns the values along the last axis, all together, into probabilities that are positive and "
    "sum to 1 (softmax: each one depends on all the others)",
}


def _activation_name(layer: keras.layers.Layer) -> str:
    """Name of ``layer.activation`` (e.g. ``"relu"``); ``"linear"`` if absent."""
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        # Callable objects without __name__: fall back on Keras's own serialiser,
        # which returns a plain string for built-ins and a dict for custom ones.
        ser = keras.activations.serialize(fn)
        if isinstance(ser, dict):
            name = ser.get("config", ser.get("class_name"))
        else:
            name = ser
    return str(name)


def _check_activation(layer: keras.layers.Layer) -> str:
    name = _activation_name(layer)
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) uses activation {name!r}, "
            f"which nnviz cannot trace; supported activations: {', '.join(_ACTIVATIONS)}."
        )
    return name


# --------------------------------------------------------------------------- #
# Per-layer numpy recomputation
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class _Recomputed:
    """What a layer handler returns: the numpy steps, the words, and the weights it used."""

    steps: tuple[ComputationStep, ...]
    explanation: str
    activation: str | None = None
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    window: Window | None = None
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    magnitude: np.ndarray | None = None
    magnitude_rule: str = "|value|"


# A handler recomputes one layer type in numpy from the float64 input.
_Handler = Callable[[keras.layers.Layer, np.ndarray], _Recomputed]


def _fmt(value: float | np.ndarray) -> str:
    """Short human-readable number (or array) for explanations."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        return f"{float(arr.reshape(-1)[0]):g}"
    return np.array2string(arr, precision=4)


def _summed_size(
    act: str, size: np.ndarray, rule: str, z: np.ndarray, out: np.ndarray
) -> tuple[np.ndarray, str]:
    """The rounding size of an activation's output, from the size ``size`` of its input ``z``.

    The difference in ``z`` may be up to ``δ = 1e-5 (1 + size)``; an activation passes it on times
    its steepest slope within ``z ± δ``: 1 for identity, 1 or 0 for ReLU (0 where z < −δ: both
    sides give exactly 0), tanh′ and σ′ taken at ``max(|z| − δ, 0)`` (saturated units pass almost
    nothing on). Softmax mixes the whole last axis: ``|dp_i| ≤ 2 p_i max_j |dz_j|``.
    """
    delta = _TOLERANCE * (1 + size)
    nearest = np.maximum(np.abs(z) - delta, 0)
    if act == "relu":
        return np.where(z > -delta, size, 0.0), f"{rule} where z > 0"
    if act == "tanh":
        return size * (1 - np.tanh(nearest) ** 2), f"tanh′(z)·({rule})"
    if act == "sigmoid":
        slope = _sigmoid(nearest) * (1 - _sigmoid(nearest))
        return size * slope, f"σ′(z)·({rule})"
    if act == "softmax":
        return 2 * np.abs(out) * size.max(axis=-1, keepdims=True), f"2·a·max({rule})"
    return size, rule


def _dense(layer: keras.layers.Dense, x: np.ndarray) -> _Recomputed:
    """``z = x @ W + b`` then ``activation(z)``.

    Args:
        layer: A built Dense layer with kernel of shape ``(n_in, units)``.
        x: float64 input of shape ``(..., n_in)``.
    """
    act = _check_activation(layer)
    w = np.asarray(keras.ops.convert_to_numpy(layer.kernel))
    b = np.asarray(keras.ops.convert_to_numpy(layer.bias)) if layer.use_bias else None
    w64 = w.astype(np.float64)
    if b is not None:
        z = x @ w64 + b.astype(np.float64)
        steps = [ComputationStep("z = x @ W + b", z)]
        bias_words = ", adds its bias b"
    else:
        z = x @ w64
        steps = [ComputationStep("z = x @ W", z)]
        bias_words = ""
    if act != "linear":
        steps.append(ComputationStep(_activation_label(act, "z", z.ndim), _ACTIVATIONS[act](z)))
        act_words = f", and then the activation {_ACTIVATION_WORDS[act]}"
    else:
        act_words = ", with no activation afterwards (linear)"
    n_in, units = w.shape
    explanation = (
        f"{'The one neuron' if units == 1 else f'Each of the {units} neurons'} multiplies the "
        f"{plural(n_in, 'input')} by its own column of the "
        f"weight matrix W and adds them up{bias_words}{act_words}."
    )
    size = np.abs(x) @ np.abs(w64) + (0.0 if b is None else np.abs(b.astype(np.float64)))
    size, rule = _summed_size(
        act, size, "Σᵢ|xᵢ·Wᵢⱼ| + |bⱼ|" if b is not None else "Σᵢ|xᵢ·Wᵢⱼ|", z, steps[-1].value
    )
    return _Recomputed(tuple(steps), explanation, act, w, b, magnitude=size, magnitude_rule=rule)


def _activation(layer: keras.layers.Activation, x: np.ndarray) -> _Recomputed:
    act = _check_activation(layer)
    step = ComputationStep(_activation_label(act, "x", x.ndim), _ACTIVATIONS[act](x))
    explanation = f"This layer has no weights: it {_ACTIVATION_WORDS[act]}."
    size, rule = _summed_size(act, np.abs(x), "|x|", x, step.value)
    return _Recomputed((step,), explanation, act, magnitude=size, magnitude_rule=rule)


def _dropout(layer: keras.layers.Dropout, x: np.ndarray) -> _Recomputed:
    rate = float(layer.rate)
    step = ComputationStep("a = x  # Dropout does nothing at inference", x.copy())
    explanation = (
        f"Dropout is switched off at inference: the values pass through unchanged "
        f"(during training {rate * 100:g}% of them would be zeroed at random)."
    )
    return _Recomputed((step,), explanation)


def _flatten(layer: keras.layers.Flatten, x: np.ndarray) -> _Recomputed:
    step = ComputationStep("a = x.reshape(-1)", x.reshape(-1))
    shape = " x ".join(str(d) for d in x.shape)
    explanation = (
        f"Flatten only rearranges the {shape} grid into one row of {x.size} numbers; no value changes."
    )
    return _Recomputed((step,), explanation)


def _rescaling(layer: keras.layers.Rescaling, x: np.ndarray) -> _Recomputed:
    # scale/offset may be Python floats or per-channel sequences.
    scale = np.asarray(layer.scale, dtype=np.float64)
    offset = np.asarray(layer.offset, dtype=np.float64)
    step = ComputationStep("a = x * scale + offset", x * scale + offset)
    is_pixels = scale.size == 1 and np.isclose(float(scale.reshape(-1)[0]), 1 / 255)
    scale_words = "1/255" if is_pixels else _fmt(scale)
    explanation = f"Rescaling multiplies every value by {scale_words} and adds {_fmt(offset)}"
    if is_pixels and not np.any(offset):
        explanation += ", turning pixel values 0-255 into numbers between 0 and 1"
    size = np.abs(x * scale) + np.abs(offset)
    return _Recomputed((step,), explanation + ".", magnitude=size, magnitude_rule="|x·scale| + |offset|")


def _span(index: str, stride: int, size: int) -> str:
    """The slice a window covers along one axis, as code: ``i:i+3`` or ``2*i:2*i+3``."""
    start = index if stride == 1 else f"{stride}*{index}"
    return f"{start}:{start}+{size}"


def _same_padding(size: int, stride: int, length: int) -> tuple[int, int]:
    """Zeros before and after one axis for ``padding="same"``, as TensorFlow places them."""
    out = -(-length // stride)
    total = max((out - 1) * stride + size - length, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, window: Window) -> np.ndarray:
    """Every window position of ``x`` (height, width, channels): shape ``(out_h, out_w, channels, kh, kw)``."""
    (kh, kw), (sh, sw) = window.size, window.strides
    x = np.pad(x, (*window.padding, (0, 0)))
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))[::sh, ::sw]


def _conv2d(layer: keras.layers.Conv2D, x: np.ndarray) -> _Recomputed:
    """Each filter's kernel times each window of ``x``, summed, plus the filter's bias; then the activation."""
    act = _check_activation(layer)
    w = np.asarray(keras.ops.convert_to_numpy(layer.kernel))
    b = np.asarray(keras.ops.convert_to_numpy(layer.bias)) if layer.use_bias else None
    (kh, kw), (sh, sw) = tuple(layer.kernel_size), tuple(layer.strides)
    padding = ((0, 0), (0, 0))
    if layer.padding == "same":
        padding = (_same_padding(kh, sh, x.shape[0]), _same_padding(kw, sw, x.shape[1]))
    window = Window((kh, kw), (sh, sw), padding)
    # windows: (out_h, out_w, channels, kh, kw); kernel: (kh, kw, channels, filters).
    windows = _windows(x, window)
    z = np.einsum("ijcuv,uvcf->ijf", windows, w.astype(np.float64))
    size = np.einsum("ijcuv,uvcf->ijf", np.abs(windows), np.abs(w.astype(np.float64)))
    if b is not None:
        size = size + np.abs(b.astype(np.float64))
    source = "x_padded" if layer.padding == "same" else "x"
    label = f"z[i, j, f] = ({source}[{_span('i', sh, kh)}, {_span('j', sw, kw)}, :] * W[:, :, :, f]).sum()"
    if b is not None:
        z = z + b.astype(np.float64)
        label += " + b[f]"
    steps = [ComputationStep(label, z)]
    if act != "linear":
        steps.append(ComputationStep(_activation_label(act, "z", z.ndim), _ACTIVATIONS[act](z)))
    filters, channels = w.shape[3], w.shape[2]
    moves = "one pixel at a time" if (sh, sw) == (1, 1) else f"{sh} pixels at a time"
    pad_words = (
        "The input is first framed with zeros so the output keeps its size (padding 'same')."
        if layer.padding == "same"
        else f"Without padding the {kh}×{kw} window only fits {z.shape[0]}×{z.shape[1]} positions."
    )
    explanation = (
        f"{'The one filter' if filters == 1 else f'Each of the {filters} filters'} slides its own {kh}×{kw}×{channels} kernel over the image, {moves}; "
        f"at every position it multiplies the window by the kernel, adds it all up{' and its bias' if b is not None else ''}"
        f"{', then the activation ' + _ACTIVATION_WORDS[act] if act != 'linear' else ''}. {pad_words}"
    )
    size, rule = _summed_size(
        act, size, "Σ|window × kernel| + |b|" if b is not None else "Σ|window × kernel|", z, steps[-1].value
    )
    return _Recomputed(tuple(steps), explanation, act, w, b, window, magnitude=size, magnitude_rule=rule)


def _max_pooling(layer: keras.layers.MaxPooling2D, x: np.ndarray) -> _Recomputed:
    (ph, pw), (sh, sw) = tuple(layer.pool_size), tuple(layer.strides)
    if layer.padding != "valid":
        raise ValueError(
            f"Layer {layer.name!r} pools with padding {layer.padding!r}; nnviz traces 'valid' only."
        )
    window = Window((ph, pw), (sh, sw))
    pooled = _windows(x, window).max(axis=(-2, -1))
    step = ComputationStep(f"a[i, j, c] = x[{_span('i', sh, ph)}, {_span('j', sw, pw)}, c].max()", pooled)
    explanation = (
        f"Each output value is the largest value in a {ph}×{pw} window of the input, channel by channel: "
        f"the image shrinks from {x.shape[0]}×{x.shape[1]} to {pooled.shape[0]}×{pooled.shape[1]}, "
        "keeping where each feature responded most. It has no weights."
    )
    return _Recomputed((step,), explanation, window=window)


def _batch_normalization(layer: keras.layers.BatchNormalization, x: np.ndarray) -> _Recomputed:
    def values(weight) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(weight), dtype=np.float64)

    mean, var = values(layer.moving_mean), values(layer.moving_variance)
    channels = mean.shape[0]
    gamma = values(layer.gamma) if layer.scale else np.ones(channels)
    beta = values(layer.beta) if layer.center else np.zeros(channels)
    eps = float(layer.epsilon)
    out = (x - mean) / np.sqrt(var + eps) * gamma + beta
    step = ComputationStep(f"a = (x - mean) / np.sqrt(var + {eps:g}) * gamma + beta", out)
    explanation = (
        f"At inference batch normalisation standardises {'its one channel' if channels == 1 else f'each of the {channels} channels'} with the mean and "
        "variance it averaged over the training batches, then scales it by γ and shifts it by β (both learned)."
    )
    parameters = {"gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": var}
    size = (np.abs(x) + np.abs(mean)) * np.abs(gamma) / np.sqrt(var + eps) + np.abs(beta)
    return _Recomputed(
        (step,),
        explanation,
        parameters=parameters,
        magnitude=size,
        magnitude_rule="(|x| + |mean|)·|γ|/√(var + ε) + |β|",
    )


def _reshape(layer: keras.layers.Reshape, x: np.ndarray) -> _Recomputed:
    shape = tuple(layer.target_shape)
    step = ComputationStep(f"a = x.reshape{shape}", x.reshape(shape))
    explanation = (
        f"Reshape only rearranges the {x.size} values from {' x '.join(map(str, x.shape))} to "
        f"{' x '.join(map(str, shape))}; no value changes."
    )
    return _Recomputed((step,), explanation)


# Order does not matter: none of these classes subclasses another.
_HANDLERS: dict[type, tuple[str, _Handler]] = {
    keras.layers.Dense: ("Dense", _dense),
    keras.layers.Activation: ("Activation", _activation),
    keras.layers.Dropout: ("Dropout", _dropout),
    keras.layers.Flatten: ("Flatten", _flatten),
    keras.layers.Rescaling: ("Rescaling", _rescaling),
    keras.layers.Conv2D: ("Conv2D", _conv2d),
    keras.layers.MaxPooling2D: ("MaxPooling2D", _max_pooling),
    keras.layers.BatchNormalization: ("BatchNormalization", _batch_normalization),
    keras.layers.Reshape: ("Reshape", _reshape),
}


def _handler_for(layer: keras.layers.Layer) -> tuple[str, _Handler]:
    """(kind, handler) for ``layer``; ValueError naming the class if unsupported."""
    for cls, handler in _HANDLERS.items():
        if isinstance(layer, cls):
            return handler
    supported = ", ".join(kind for kind, _ in _HANDLERS.values())
    raise ValueError(
        f"Layer {layer.name!r} is a {type(layer).__name__}, which nnviz cannot trace; "
        f"supported layer types: {supported}."
    )


def _check_input_shape(model: keras.Model, x: np.ndarray) -> None:
    """Raise a friendly ValueError if ``x`` does not match the model's input shape."""
    try:
        expected = tuple(model.input_shape)[1:]
    except (AttributeError, ValueError, TypeError):
        return  # Unknown input shape: let the first layer call complain.
    ok = len(expected) == x.ndim and all(e is None or e == s for e, s in zip(expected, x.shape, strict=True))
    if not ok:
        raise ValueError(
            f"Expected one sample of shape {expected} (without the batch axis), got shape {x.shape}."
        )


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #


def layer_trace(model: keras.Model, x: np.ndarray) -> list[LayerStep]:
    """Step one sample through ``model`` layer by layer, recomputing each in numpy.

    Layer ``k+1`` is fed Keras's own output of layer ``k`` (like
    ``values_1 = layer_0(values_0)``), so each layer's numpy-vs-Keras
    comparison is independent of rounding in earlier layers.

    Args:
        model: A built Keras Sequential model whose layers are all of the
            kinds listed for :attr:`LayerStep.kind`.
        x: One sample WITHOUT batch axis, shape = model input shape, e.g.
            ``(4,)`` or ``(28, 28)``; any numeric dtype (MNIST is uint8).

    Returns:
        One :class:`LayerStep` per entry of ``model.layers``, in order.

    Raises:
        ValueError: If a layer type or activation is not supported (checked
            for every layer before any computation), or ``x`` has the wrong shape.
    """
    # Validate everything up front so a bad model fails fast, before any work.
    handlers = [_handler_for(layer) for layer in model.layers]
    for layer, (kind, _) in zip(model.layers, handlers, strict=True):
        if kind in ("Dense", "Conv2D", "Activation"):
            _check_activation(layer)

    # Copy so that later mutation of the caller's array cannot change the trace.
    values = np.array(x, copy=True)
    _check_input_shape(model, values)

    trace: list[LayerStep] = []
    for index, (layer, (kind, handler)) in enumerate(zip(model.layers, handlers, strict=True)):
        # Keras first: calling the layer also builds it if the model was not
        # built yet, so the Dense handler can then read its kernel.
        # Keras gets float32 (uint8 pixels would otherwise upset Rescaling).
        out = layer(values.astype(np.float32)[None], training=False)
        keras_output = np.asarray(keras.ops.convert_to_numpy(out))[0]

        done = handler(layer, values.astype(np.float64))
        trace.append(
            LayerStep(
                index=index,
                name=layer.name,
                kind=kind,
                activation=done.activation,
                inputs=values,
                weights=done.weights,
                bias=done.bias,
                steps=done.steps,
                numpy_output=done.steps[-1].value,
                keras_output=keras_output,
                explanation=done.explanation,
                window=done.window,
                parameters=done.parameters,
                magnitude=done.magnitude,
                magnitude_rule=done.magnitude_rule,
            )
        )
        values = keras_output
    return trace


def worked_sum(step: LayerStep, unit: int = 0, *, max_inputs: int = 8) -> str | None:
    """The Dense sum for one unit written out term by term, e.g. ``z[0] = 0.44×0.53 + (-0.32)×0.21 + 0.01 = 0.30``.

    Args:
        step: a Dense layer's step of a 1-D input.
        unit: which output unit to write out.
        max_inputs: longer sums are not written out (they would not fit on a line).

    Returns:
        The sum as text, or None when ``step`` is not a Dense layer on a short 1-D input.
    """
    if step.weights is None or step.inputs.ndim != 1 or step.inputs.size > max_inputs:
        return None
    x = np.asarray(step.inputs, dtype=np.float64)
    w = step.weights[:, unit].astype(np.float64)
    terms = [f"{_signed(xi)}×{_signed(wi)}" for xi, wi in zip(x, w)]
    total = float(x @ w)
    if step.bias is not None:
        terms.append(_signed(float(step.bias[unit])))
        total += float(step.bias[unit])
    return f"z[{unit}] = " + " + ".join(terms) + f" = {total:.4g}"


def _signed(value: float) -> str:
    """A number for a written-out sum: negative ones in brackets, so ``+ (-0.3)`` reads clearly."""
    text = f"{value:.3g}"
    return f"({text})" if value < 0 else text


@dataclass(frozen=True, eq=False)
class WorkedWindow:
    """One output cell of a Conv2D or MaxPooling2D layer, worked out from its input window.

    Args:
        row, column: the output cell.
        channel: the filter (Conv2D) or channel (MaxPooling2D) of that cell.
        window: the input values under the window, zero padding included:
            ``(height, width, in_channels)`` for Conv2D, ``(height, width)`` for pooling.
        kernel: the filter's kernel, same shape as ``window`` (Conv2D), else None.
        bias: the filter's bias (Conv2D), else None.
        value: ``(window * kernel).sum() + bias`` before the activation, or ``window.max()``.
    """

    row: int
    column: int
    channel: int
    window: np.ndarray
    kernel: np.ndarray | None
    bias: float | None
    value: float


def worked_window(step: LayerStep, row: int, column: int, channel: int) -> WorkedWindow:
    """The window under output cell ``(row, column)`` and how it gives that cell's value.

    Raises:
        ValueError: ``step`` is not a Conv2D or MaxPooling2D layer, or the cell is outside its output.
    """
    if step.window is None:
        raise ValueError(f"{step.kind} has no sliding window; pick a Conv2D or MaxPooling2D layer.")
    out_h, out_w, out_c = step.numpy_output.shape
    if not (0 <= row < out_h and 0 <= column < out_w and 0 <= channel < out_c):
        raise ValueError(
            f"Cell ({row}, {column}, {channel}) is outside the {out_h}×{out_w}×{out_c} output; "
            f"pick a row below {out_h}, a column below {out_w} and a channel below {out_c}."
        )
    x = np.asarray(step.inputs, dtype=np.float64)
    window = _windows(x, step.window)[row, column].transpose(1, 2, 0)  # (kh, kw, channels)
    if step.weights is None:
        pooled = window[:, :, channel]
        return WorkedWindow(row, column, channel, pooled, None, None, float(pooled.max()))
    kernel = step.weights[:, :, :, channel].astype(np.float64)
    bias = float(step.bias[channel]) if step.bias is not None else None
    value = float((window * kernel).sum() + (bias or 0.0))
    return WorkedWindow(row, column, channel, window, kernel, bias, value)
