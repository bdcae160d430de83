"""The architecture as plain data: layer and model specs, their validation and parameter maths.

A :class:`ModelSpec` is the single source of truth for a network. The Keras model
(:mod:`nnviz.model.build`), the exported code (:mod:`nnviz.model.codegen`) and the summary table
(:func:`layer_summary`) are all derived from it. Nothing here imports Keras, so the Build page
can check and explain a network without paying for the TensorFlow import.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nnviz.views.words import plural

LAYER_KINDS = (
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Rescaling",
    "Conv2D",
    "MaxPooling2D",
    "BatchNormalization",
    "Reshape",
)
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
PADDINGS = ("valid", "same")
# The options each kind of layer has (the other LayerSpec fields keep their defaults).
LAYER_OPTIONS = {
    "Dense": ("units", "activation"),
    "Activation": ("activation",),
    "Dropout": ("rate",),
    "Flatten": (),
    "Rescaling": ("scale", "offset"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "MaxPooling2D": ("pool_size",),
    "BatchNormalization": (),
    "Reshape": ("target_shape",),
}
MAX_KERNEL = 11  # the largest convolution kernel or pooling window, in pixels per side
MAX_RATE = 0.95  # the largest Dropout rate (the widget's maximum)
# |scale| and |offset| of a Rescaling: float32 (what Keras computes in) keeps about 7 digits and
# overflows past 3.4e38, so 1e308 would turn every value into inf.
MAX_RESCALE = 1e6
MAX_SHAPE_SIZE = 100_000  # one size of a Reshape target (a sample has at most this many values)
LEARNING_RATE_RANGE = (1e-5, 1.0)  # what a link or a spec may set (the widget offers 0.0001 to 1)
OPTIMIZERS = ("adam", "sgd", "rmsprop")
APIS = ("sequential", "functional")  # how exported code builds the model: a list of layers, or layer calls
TASKS = ("multiclass", "binary", "regression")

LOSS_LABELS = {
    "sparse_categorical_crossentropy": "Sparse categorical cross-entropy",
    "binary_crossentropy": "Binary cross-entropy",
    "hinge": "Hinge (labels as ±1)",
    "mse": "Mean squared error",
}

# Which losses make sense for a task, first one suggested.
_TASK_LOSSES = {
    "multiclass": ("sparse_categorical_crossentropy",),
    "binary": ("binary_crossentropy", "hinge"),
    "regression": ("mse",),
}
# Which final activations each loss expects, first one suggested.
_LOSS_OUTPUT_ACTIVATIONS = {
    "sparse_categorical_crossentropy": ("softmax",),
    "binary_crossentropy": ("sigmoid",),
    "hinge": ("tanh", "linear"),
    "mse": ("linear", "relu"),
}


class SpecError(ValueError):
    """A model spec that cannot be built; ``problems`` lists what to change, one message each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ValueError(f"{name}={raw!r} is not a whole number; unset it or give e.g. {default}") from err


def usable_cpus(cpu_max: Path | str = "/sys/fs/cgroup/cpu.max") -> int:
    """How many CPU cores this process may use: the cores it is pinned to (``sched_getaffinity``),
    fewer if a cgroup v2 CPU quota (``cpu.max``: ``"<quota> <period>"`` or ``"max <period>"``)
    allows less; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path(cpu_max).read_text().split()[:2]
        if quota != "max" and int(period) > 0:
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):  # no cgroup v2 file, or one this does not understand
        pass
    return max(cores, 1)


@dataclass(frozen=True)
class Limits:
    """Server limits on a model, so that one user cannot exhaust a shared machine.

    Args:
        max_layers: most layers in one model (env ``NNVIZ_MAX_LAYERS``).
        max_units: most units in one Dense layer (env ``NNVIZ_MAX_UNITS``).
        max_params: most parameters in one model (env ``NNVIZ_MAX_PARAMS``).
        max_epoch_rows: most epochs × training rows in one run (env ``NNVIZ_MAX_EPOCH_ROWS``).
        max_trainings: most runs training at once in one server; the others queue
            (env ``NNVIZ_MAX_TRAININGS``; by default one per CPU core the server may use,
            :func:`usable_cpus`: a run that shares a core with another only takes longer).
    """

    max_layers: int = 20
    max_units: int = 1024
    max_params: int = 2_000_000
    max_epoch_rows: int = 10_000_000
    max_trainings: int = field(default_factory=lambda: usable_cpus())

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            **{name: _env_int(f"NNVIZ_{name.upper()}", default) for name, default in asdict(cls()).items()}
        )


def check_run(epochs: int, rows: int, limits: Limits | None = None) -> str | None:
    """Why a run of ``epochs`` over ``rows`` training rows is too long for this server, or None."""
    limits = limits or Limits.from_env()
    if epochs * rows <= limits.max_epoch_rows:
        return None
    return (
        f"{epochs:,} epochs × {rows:,} rows is more than this server allows in one run "
        f"({limits.max_epoch_rows:,} row passes): train at most {max(limits.max_epoch_rows // rows, 1):,} "
        "epochs at a time, then press Train again to continue."
    )


@dataclass(frozen=True)
class LayerSpec:
    """One layer. Only the fields its ``kind`` uses matter; the others keep their defaults.

    Args:
        kind: one of ``LAYER_KINDS``; ``LAYER_OPTIONS[kind]`` names the fields it uses.
        units: Dense output size.
        activation: Dense, Conv2D or Activation function, one of ``ACTIVATIONS``.
        rate: Dropout fraction of values zeroed during training, in [0, 1).
        scale, offset: Rescaling computes ``x * scale + offset``.
        filters: Conv2D output channels, one per learned kernel.
        kernel_size: Conv2D kernel side, in pixels (square kernels).
        strides: Conv2D step between kernel positions, in pixels.
        padding: Conv2D ``"valid"`` (no padding: the output shrinks) or ``"same"`` (zero padding).
        pool_size: MaxPooling2D window side and step, in pixels.
        target_shape: Reshape's output shape without the batch axis, e.g. ``(28, 28, 1)``.
    """

    kind: str
    units: int = 8
    activation: str = "relu"
    rate: float = 0.2
    scale: float = 1 / 255
    offset: float = 0.0
    filters: int = 8
    kernel_size: int = 3
    strides: int = 1
    padding: str = "valid"
    pool_size: int = 2
    target_shape: tuple[int, ...] = (28, 28, 1)

    def label(self) -> str:
        """Short human label, e.g. ``Dense(8, relu)`` or ``Conv2D(8, 3×3, relu)``."""
        if self.kind == "Dense":
            return f"Dense({self.units}, {self.activation})"
        if self.kind == "Activation":
            return f"Activation({self.activation})"
        if self.kind == "Dropout":
            return f"Dropout({self.rate:g})"
        if self.kind == "Rescaling":
            return f"Rescaling({_fmt(self.scale)}, offset={_fmt(self.offset)})"
        if self.kind == "Conv2D":
            stride = f", stride {self.strides}" if self.strides != 1 else ""
            padding = ", same" if self.padding == "same" else ""
            size = f"{self.kernel_size}×{self.kernel_size}"
            return f"Conv2D({self.filters}, {size}{stride}{padding}, {self.activation})"
        if self.kind == "MaxPooling2D":
            return f"MaxPooling2D({self.pool_size}×{self.pool_size})"
        if self.kind == "Reshape":
            return f"Reshape({_shape_text(self.target_shape)})"
        return self.kind

    def to_dict(self) -> dict:
        """The fields this kind uses, ready for JSON."""
        used = LAYER_OPTIONS.get(self.kind, ())
        return {
            "kind": self.kind,
            **{name: _json_value(getattr(self, name)) for name in used},
        }


@dataclass(frozen=True)
class ModelSpec:
    """A Sequential network plus how it is compiled.

    Args:
        input_shape: shape of one sample, e.g. ``(4,)`` or ``(28, 28)``.
        layers: the layers in order; the last one produces the output.
        loss: a key of ``LOSS_LABELS``.
        optimizer: one of ``OPTIMIZERS``.
        learning_rate: step size of the optimizer, > 0.
    """

    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    loss: str
    optimizer: str = "adam"
    learning_rate: float = 0.01

    def to_dict(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
            "loss": self.loss,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
        }

    @classmethod
    def from_dict(cls, data: dict, *, limits: Limits | None = None) -> ModelSpec:
        """Inverse of :meth:`to_dict`; raises :class:`SpecError` naming every unknown key, wrong type
        and value outside what the widgets offer (nothing is clamped or replaced)."""
        limits = limits or Limits.from_env()
        problems: list[str] = []
        if not isinstance(data, dict):
            raise SpecError([f"A model spec must be a JSON object, got {type(data).__name__}."])
        unknown = set(data) - {"input_shape", "layers", "loss", "optimizer", "learning_rate"}
        if unknown:
            problems.append(f"Unknown model keys {shown(sorted(unknown))}; remove them.")
        shape = data.get("input_shape")
        if not (isinstance(shape, list) and shape and all(type(n) is int and n > 0 for n in shape)):
            problems.append(f"input_shape must be a list of positive whole numbers, got {shown(shape)}.")
        layers = data.get("layers")
        if not isinstance(layers, list):
            problems.append(f"layers must be a list, got {type(layers).__name__}.")
            layers = []
        if len(layers) > limits.max_layers:  # refused before any layer is read
            raise SpecError(problems + [too_many_layers(len(layers), limits)])
        parsed = []
        for position, layer in enumerate(layers, start=1):
            try:
                parsed.append(layer_from_dict(layer, limits=limits))
            except SpecError as err:
                problems += [f"Layer {position}: {p}" for p in err.problems]
        loss, optimizer = data.get("loss"), data.get("optimizer", "adam")
        if loss not in LOSS_LABELS:
            problems.append(f"loss={shown(loss)} is unknown; use one of {', '.join(LOSS_LABELS)}.")
        if optimizer not in OPTIMIZERS:
            problems.append(f"optimizer={shown(optimizer)} is unknown; use one of {', '.join(OPTIMIZERS)}.")
        rate = data.get("learning_rate", 0.01)
        problem = learning_rate_problem(rate)
        if problem:
            problems.append(problem)
        if problems:
            raise SpecError(problems)
        return cls(
            input_shape=tuple(shape),
            layers=tuple(parsed),
            loss=loss,
            optimizer=optimizer,
            learning_rate=float(rate),
        )


def too_many_layers(count: int, limits: Limits) -> str:
    """The message for a network of ``count`` layers when the server allows fewer."""
    return f"The network has {count:,} layers; this server allows {limits.max_layers} (NNVIZ_MAX_LAYERS): remove some."


def learning_rate_problem(rate: object) -> str | None:
    """Why ``rate`` cannot be a learning rate (it must be a number in ``LEARNING_RATE_RANGE``), or None."""
    low, high = LEARNING_RATE_RANGE
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        return f"learning_rate={shown(rate)} must be a number from {low:g} to {high:g}, e.g. 0.01."
    if not low <= rate <= high:
        return f"learning_rate={shown(rate)} is outside {low:g} to {high:g}; try 0.01."
    return None


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for echoing a user's value in a message."""
    if isinstance(value, str) and len(value) > limit:  # not the repr of a megabyte to show 40 characters
        return f"{repr(value[: limit - 11])[:-1]}…{repr(value[-4:])[1:]} ({len(value) + 2:,} characters)"
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 10]}…{text[-5:]} ({len(text):,} characters)"


def _json_value(value):
    return list(value) if isinstance(value, tuple) else value


_FIELD_TYPES = {
    "units": int,
    "activation": str,
    "rate": float,
    "scale": float,
    "offset": float,
    "filters": int,
    "kernel_size": int,
    "strides": int,
    "padding": str,
    "pool_size": int,
    "target_shape": tuple,
}


def _has_type(value: object, wanted: type) -> bool:
    """Whether a JSON value is of the field type ``wanted`` (a whole number counts as a float)."""
    if wanted is str:
        return isinstance(value, str)
    if wanted is tuple:
        return isinstance(value, list) and 0 < len(value) <= 3 and all(_has_type(n, int) for n in value)
    numbers = (int,) if wanted is int else (int, float)
    return not isinstance(value, bool) and isinstance(value, numbers)


def layer_from_dict(data: object, *, limits: Limits | None = None) -> LayerSpec:
    """A layer from its :meth:`LayerSpec.to_dict` form.

    Raises:
        SpecError: naming each unknown option, wrong type and value outside what the widgets offer.
    """
    if not isinstance(data, dict):
        raise SpecError([f"a layer must be an object, got {type(data).__name__}."])
    kind = data.get("kind")
    if kind not in LAYER_KINDS:
        raise SpecError([f"layer kind {shown(kind)} is not supported; use one of {', '.join(LAYER_KINDS)}."])
    allowed = set(LAYER_OPTIONS[kind])
    problems = [
        f"{kind} has no option {shown(key)}." for key in sorted(set(data) - allowed - {"kind"}, key=str)
    ]
    for key in LAYER_OPTIONS[kind]:
        if key not in data:
            continue
        wanted = _FIELD_TYPES[key]
        if not _has_type(data[key], wanted):
            what = "a list of 1 to 3 whole numbers" if wanted is tuple else wanted.__name__
            problems.append(f"{kind}.{key} must be {what}, got {shown(data[key])}.")
    if problems:
        raise SpecError(problems)
    layer = LayerSpec(
        kind, **{key: _option_value(key, value) for key, value in data.items() if key != "kind"}
    )
    problems = [f"{kind}.{problem}" for problem in option_problems(layer, limits or Limits.from_env())]
    if problems:
        raise SpecError(problems)
    return layer


def _option_value(name: str, value: object) -> object:
    """A JSON value as the field's type: a list as a tuple, a whole number as a float where a float is
    wanted (one too large for a float stays as it is, to be named as out of range)."""
    if isinstance(value, list):
        return tuple(value)
    if _FIELD_TYPES[name] is float:
        try:
            return float(value)
        except OverflowError:
            return value
    return value


_CHOICES = {"activation": ACTIVATIONS, "padding": PADDINGS}


def option_bounds(limits: Limits) -> dict[str, tuple[float, float]]:
    """The smallest and largest value of each numeric layer option (``units`` and ``filters`` from the
    server's limit)."""
    window = (1, MAX_KERNEL)
    return {
        "units": (1, limits.max_units),
        "filters": (1, limits.max_units),
        "kernel_size": window,
        "strides": window,
        "pool_size": window,
        "rate": (0.0, MAX_RATE),
        "scale": (-MAX_RESCALE, MAX_RESCALE),
        "offset": (-MAX_RESCALE, MAX_RESCALE),
    }


def option_problems(layer: LayerSpec, limits: Limits) -> list[str]:
    """What is wrong with ``layer``'s options, each as ``name=value`` with the allowed values and an example."""
    bounds, default, problems = option_bounds(limits), LayerSpec(layer.kind), []
    for name in LAYER_OPTIONS.get(layer.kind, ()):
        value = getattr(layer, name)
        if name in _CHOICES:
            if value not in _CHOICES[name]:
                problems.append(f"{name}={shown(value)} is unknown; use one of {', '.join(_CHOICES[name])}.")
        elif name == "target_shape":
            if not (1 <= len(value) <= 3 and all(1 <= n <= MAX_SHAPE_SIZE for n in value)):
                problems.append(
                    f"target_shape={shown(value)} must be 1 to 3 sizes from 1 to {MAX_SHAPE_SIZE:,}, "
                    "e.g. (28, 28, 1)."
                )
        else:
            low, high = bounds[name]
            if not low <= value <= high:  # NaN is outside every range
                server = name in ("units", "filters") and value > high
                why = f": this server allows {high:,} at most (NNVIZ_MAX_UNITS)" if server else ""
                problems.append(
                    f"{name}={shown(value)} is outside {_bound_text(low)} to {_bound_text(high)}{why}; "
                    f"e.g. {_fmt(getattr(default, name))}."
                )
    return problems


def _bound_text(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Target:
    """What the network must predict: the task and, for classification, how many classes.

    Args:
        task: one of ``TASKS``.
        n_classes: number of classes (2 for binary); 0 for regression.
        name: the target in the user's words, e.g. ``"species"``, used in messages.
    """

    task: str
    n_classes: int = 0
    name: str = "target"

    @property
    def n_outputs(self) -> int:
        """Width of the output layer: one unit per class, or a single unit."""
        return self.n_classes if self.task == "multiclass" else 1


def suggested_head(target: Target) -> tuple[LayerSpec, str]:
    """The output layer and loss that suit a task, e.g. ``Dense(3, softmax)`` + cross-entropy."""
    loss = _TASK_LOSSES[target.task][0]
    return LayerSpec("Dense", units=target.n_outputs, activation=_LOSS_OUTPUT_ACTIVATIONS[loss][0]), loss


def losses_for(task: str) -> tuple[str, ...]:
    """Losses that make sense for ``task``, the suggested one first."""
    return _TASK_LOSSES[task]


def metric_name(loss: str) -> str:
    """The metric reported beside the loss: accuracy for classification, MAE for regression."""
    return "mae" if loss == "mse" else "accuracy"


def output_activation(layers: tuple[LayerSpec, ...]) -> str:
    """The activation that produces the network's output (a trailing linear Activation is skipped)."""
    for layer in reversed(layers):
        if layer.kind == "Activation" and layer.activation != "linear":
            return layer.activation
        if layer.kind in ("Dense", "Conv2D"):
            return layer.activation
    return "linear"


@dataclass(frozen=True)
class LayerRow:
    """One line of the summary table.

    ``params`` counts every weight, as ``model.count_params()`` does; ``non_trainable`` of them
    are updated during training without gradients (BatchNormalization's moving statistics).
    """

    position: int
    label: str
    output_shape: tuple[int, ...]
    params: int
    explanation: str
    non_trainable: int = 0


def layer_summary(spec: ModelSpec) -> list[LayerRow]:
    """Like ``model.summary()``: each layer's output shape and parameter count, explained.

    Computed from the spec alone (no Keras), e.g. ``"4 inputs × 5 units + 5 biases = 25"``.
    Output shapes exclude the batch axis. The rows stop before the first layer that cannot take
    the shape it is given (:func:`check_spec` says why).
    """
    return _walk(spec)[0]


def _walk(spec: ModelSpec) -> tuple[list[LayerRow], str | None]:
    """The summary rows, and the first layer's shape problem (as a message) or None."""
    rows: list[LayerRow] = []
    shape = tuple(spec.input_shape)
    for position, layer in enumerate(spec.layers, start=1):
        try:
            shape, params, non_trainable, explanation = _layer_output(layer, shape)
        except SpecError as err:
            return rows, f"Layer {position} ({layer.kind}): {err.problems[0]}"
        rows.append(LayerRow(position, layer.label(), shape, params, explanation, non_trainable))
    return rows, None


def _layer_output(layer: LayerSpec, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int, str]:
    """``(output shape, parameters, non-trainable parameters, explanation)`` of ``layer`` given
    inputs of ``shape``; :class:`SpecError` when that shape does not fit the layer."""
    if layer.kind == "Dense":
        fan_in = shape[-1]
        params = fan_in * layer.units + layer.units
        explanation = f"{plural(fan_in, 'input')} × {plural(layer.units, 'unit')} + {plural(layer.units, 'bias')} = {params:,}"
        if len(shape) > 1:
            explanation += f" (the same weights are applied along the last axis of {_shape_text(shape)})"
        return shape[:-1] + (layer.units,), params, 0, explanation
    if layer.kind == "Flatten":
        flat = math.prod(shape)
        return (flat,), 0, 0, f"no weights: reshapes {_shape_text(shape)} into one vector of {flat:,}"
    if layer.kind == "Activation":
        if layer.activation == "softmax":  # not value by value: each value depends on all the others
            return (
                shape,
                0,
                0,
                f"no weights: softmax over the last axis turns its {plural(shape[-1], 'value')} into probabilities summing to 1",
            )
        return shape, 0, 0, f"no weights: applies {layer.activation} to each value"
    if layer.kind == "Dropout":
        return (
            shape,
            0,
            0,
            f"no weights: zeroes {layer.rate:.0%} of values while training, passes all at inference",
        )
    if layer.kind == "Rescaling":
        return shape, 0, 0, f"no weights: computes x × {_fmt(layer.scale)} + {_fmt(layer.offset)}"
    if layer.kind == "Reshape":
        if math.prod(layer.target_shape) != math.prod(shape):
            raise SpecError(
                [
                    f"cannot reshape {_shape_text(shape)} ({math.prod(shape):,} values) into "
                    f"{_shape_text(layer.target_shape)} ({math.prod(layer.target_shape):,} values); "
                    f"the sizes must multiply to the same number, e.g. {_shape_text((*shape, 1))}."
                ]
            )
        return (
            tuple(layer.target_shape),
            0,
            0,
            f"no weights: rearranges {_shape_text(shape)} as {_shape_text(layer.target_shape)}",
        )
    if layer.kind == "BatchNormalization":
        channels = shape[-1]
        explanation = (
            f"4 × {plural(channels, 'channel')} = {4 * channels:,}: γ and β ({2 * channels:,}) are trained; the moving "
            f"mean and variance ({2 * channels:,}) are averaged over batches, not trained"
        )
        return shape, 4 * channels, 2 * channels, explanation
    # Conv2D and MaxPooling2D slide a window over images of shape height × width × channels.
    if len(shape) != 3:
        fix = (
            f"add Reshape({_shape_text((*shape, 1))}) before it to give the image a channel axis"
            if len(shape) == 2
            else "it needs images of shape height × width × channels"
        )
        raise SpecError([f"gets inputs of shape {_shape_text(shape)}: {fix}."])
    height, width, channels = shape
    if layer.kind == "MaxPooling2D":
        size = layer.pool_size
        if size > min(height, width):
            raise SpecError(
                [
                    f"the {size}×{size} window is larger than its {height}×{width} input; use a smaller pool size or remove it."
                ]
            )
        out = (height // size, width // size, channels)
        return out, 0, 0, f"no weights: keeps the largest value of each {size}×{size} window, per channel"
    size, step = layer.kernel_size, layer.strides
    if layer.padding == "same":
        out_height, out_width = math.ceil(height / step), math.ceil(width / step)
    else:
        if size > min(height, width):
            raise SpecError(
                [
                    f"the {size}×{size} kernel is larger than its {height}×{width} input; "
                    "use a smaller kernel, padding 'same', or less pooling before it."
                ]
            )
        out_height, out_width = (height - size) // step + 1, (width - size) // step + 1
    filters = layer.filters
    params = size * size * channels * filters + filters
    explanation = (
        f"{size}×{size} kernel × {plural(channels, 'input channel')} × {plural(filters, 'filter')} "
        f"+ {plural(filters, 'bias')} = {params:,} (the same kernels slide over every position)"
    )
    return (out_height, out_width, filters), params, 0, explanation


def count_params(spec: ModelSpec) -> int:
    """Total number of trainable parameters."""
    return sum(row.params for row in layer_summary(spec))


def check_spec(spec: ModelSpec, target: Target, limits: Limits | None = None) -> list[str]:
    """Everything that stops ``spec`` from being built and trained for ``target``.

    Returns:
        A list of messages, each saying what is wrong and what to change; empty when the spec is fine.
    """
    limits = limits or Limits.from_env()
    if not spec.layers:
        head, _ = suggested_head(target)
        return [f"The network has no layers. Add at least an output layer, e.g. {head.label()}."]
    problems = []
    if len(spec.layers) > limits.max_layers:
        problems.append(too_many_layers(len(spec.layers), limits))
    for position, layer in enumerate(spec.layers, start=1):
        problems += [f"Layer {position} ({layer.kind}): {p}" for p in _layer_problems(layer, limits)]
    if spec.optimizer not in OPTIMIZERS:
        problems.append(f"Optimizer {shown(spec.optimizer)} is unknown; pick one of {', '.join(OPTIMIZERS)}.")
    rate_problem = learning_rate_problem(spec.learning_rate)
    if rate_problem:
        problems.append(rate_problem)
    if problems:
        return problems
    return _head_problems(spec, target, limits)


def _layer_problems(layer: LayerSpec, limits: Limits) -> list[str]:
    if layer.kind not in LAYER_KINDS:
        return [f"unknown layer kind; use one of {', '.join(LAYER_KINDS)}."]
    return option_problems(layer, limits)


def _probability_head_problem(layers: tuple[LayerSpec, ...]) -> str | None:
    """Why a softmax or sigmoid that makes the output is not the last layer, or None.

    The loss treats the output as probabilities (Keras computes cross-entropy from the logits of that
    very softmax or sigmoid) and Inspect's way from the output to the loss starts from it: a Dropout,
    Rescaling, reshaping or even linear Activation after it changes or hides them. A softmax in a
    hidden layer followed by a Dense layer is ordinary maths and stays allowed.
    """
    for position in range(len(layers), 0, -1):
        layer = layers[position - 1]
        if layer.kind in ("Dense", "Conv2D", "Activation") and (
            layer.kind != "Activation" or layer.activation != "linear"
        ):
            break
    else:
        return None
    if layer.activation not in ("softmax", "sigmoid") or position == len(layers):
        return None
    after = ", ".join(
        f"{other.label()} (layer {n})" for n, other in enumerate(layers[position:], start=position + 1)
    )
    what = "probabilities" if layer.activation == "softmax" else "a probability between 0 and 1"
    return (
        f"Layer {position} ({layer.label()}) ends in {layer.activation}, which turns the outputs into {what} "
        f"and must be the last layer: remove {after} after it, or move {layer.activation} to the last layer."
    )


def _head_problems(spec: ModelSpec, target: Target, limits: Limits) -> list[str]:
    problems = []
    rows, shape_problem = _walk(spec)
    if shape_problem:
        return [shape_problem]
    total = sum(row.params for row in rows)
    if total > limits.max_params:
        problems.append(
            f"The model has {total:,} parameters, more than this server allows ({limits.max_params:,}); "
            "use fewer units, filters or layers (or pool before flattening)."
        )
    head, suggested_loss = suggested_head(target)
    out_shape = rows[-1].output_shape
    if out_shape != (target.n_outputs,):
        if len(out_shape) > 1:
            fix = "add a Flatten layer before the first Dense layer"
        else:
            fix = f"make the last layer {head.label()}"
        problems.append(
            f"The network ends with shape {_shape_text(out_shape)} but predicting {target.name} needs "
            f"{target.n_outputs} output value{'s' if target.n_outputs > 1 else ''}: {fix}."
        )
    if spec.loss not in LOSS_LABELS:
        problems.append(f"Loss {spec.loss!r} is unknown; use {LOSS_LABELS[suggested_loss]}.")
        return problems
    if spec.loss not in _TASK_LOSSES[target.task]:
        problems.append(
            f"{LOSS_LABELS[spec.loss]} does not fit a {target.task} task; use {LOSS_LABELS[suggested_loss]}."
        )
        return problems
    head_problem = _probability_head_problem(spec.layers)
    if head_problem:
        problems.append(head_problem)
        return problems
    activation, wanted = output_activation(spec.layers), _LOSS_OUTPUT_ACTIVATIONS[spec.loss]
    if activation not in wanted:
        why = {
            "softmax": "softmax turns the outputs into class probabilities that sum to 1",
            "sigmoid": "binary cross-entropy needs a probability between 0 and 1",
            "tanh": "hinge compares a score with labels -1 and +1",
            "linear": "a regression output must be free to take any value",
        }[wanted[0]]
        problems.append(
            f"The output activation is {activation} but {LOSS_LABELS[spec.loss]} needs "
            f"{' or '.join(wanted)} ({why}); change the last layer's activation to {wanted[0]}."
        )
    return problems


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def _fmt(value: float) -> str:
    """A float as a student would write it: 1/255 rather than 0.00392156862745098, 0.00123 rather
    than 0.0012345."""
    if value and abs(value) < 1e-2 and 1 / round(1 / value) == value:
        return f"1/{round(1 / value)}" if value > 0 else f"-1/{round(-1 / value)}"
    return f"{value:.3g}" if value and abs(value) < 1e-2 else f"{value:g}"


def starter_spec(input_shape: tuple[int, ...], target: Target, *, convolutional: bool = False) -> ModelSpec:
    """A small network that trains well on a dataset of this shape, as a first thing to try.

    Images get ``Rescaling(1/255)`` and ``Flatten`` first, as in the Keras course material. With
    ``convolutional`` (images only), two Conv2D + MaxPooling2D blocks come before the Flatten,
    after a Reshape that adds the channel axis a grey-scale image lacks.
    """
    head, loss = suggested_head(target)
    if len(input_shape) > 1 and convolutional:
        channel = (LayerSpec("Reshape", target_shape=(*input_shape, 1)),) if len(input_shape) == 2 else ()
        hidden = (
            *channel,
            LayerSpec("Rescaling"),
            LayerSpec("Conv2D", filters=8, kernel_size=3, padding="same"),
            LayerSpec("MaxPooling2D", pool_size=2),
            LayerSpec("Conv2D", filters=16, kernel_size=3, padding="same"),
            LayerSpec("MaxPooling2D", pool_size=2),
            LayerSpec("Flatten"),
        )
    elif len(input_shape) > 1:
        hidden = (LayerSpec("Rescaling"), LayerSpec("Flatten"), LayerSpec("Dense", units=64))
    elif target.task == "regression":
        hidden = (LayerSpec("Dense", units=32), LayerSpec("Dense", units=16))
    else:
        hidden = (LayerSpec("Dense", units=8), LayerSpec("Dense", units=8))
    return ModelSpec(tuple(input_shape), (*hidden, head), loss, "adam", 0.01 if not convolutional else 0.003)


__all__ = [
    "ACTIVATIONS",
    "LAYER_KINDS",
    "LAYER_OPTIONS",
    "LOSS_LABELS",
    "MAX_KERNEL",
    "OPTIMIZERS",
    "PADDINGS",
    "TASKS",
    "LayerRow",
    "LayerSpec",
    "Limits",
    "ModelSpec",
    "SpecError",
    "Target",
    "check_spec",
    "count_params",
    "layer_summary",
    "losses_for",
    "metric_name",
    "output_activation",
    "starter_spec",
    "suggested_head",
]
