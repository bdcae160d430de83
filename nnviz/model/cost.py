"""How much work a network is: multiply-adds per sample, per training run and per evaluation.

The parameter limit does not bound the work: a Conv2D with 1,024 filters of 11×11 has about 124,000
weights but reuses each of them at every position of the image, 1.5 billion multiply-adds per 28×28
image after a 16-channel layer. So the server also limits **FLOPs**, counted here from the spec and
the input shape alone (no Keras), one per multiply-add of a forward pass, as TensorFlow's profiler
counts them (it counts a multiply-add as two):

- Dense: positions × inputs × units (positions = 1 for a vector; a Dense layer on a matrix applies
  its weights at every position of the leading axes).
- Conv2D: out height × out width × kernel² × input channels × filters (padding positions included,
  as the convolution computes them).
- MaxPooling2D: one comparison per window value, out height × out width × channels × pool².
- BatchNormalization, Rescaling, Activation: one per value (inference folds BN into x·a + b).
- Dropout (inference), Flatten, Reshape: none.

The bias and activation inside Dense and Conv2D (one per output value) are left out: they are a
small fraction of the multiply-adds. A training step costs about three forward passes (the forward
pass, the gradients of the inputs and of the weights): :data:`TRAINING_FACTOR`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from nnviz.model.spec import ModelSpec, _env_int, layer_summary

TRAINING_FACTOR = 3  # a training step ≈ forward + two backward passes of the same size


@dataclass(frozen=True)
class CostLimits:
    """Server limits on work, so that one user's network cannot hold the machine for minutes.

    Defaults from measurements on the 2-core development machine (README, "Limits for a shared
    server"), with 2 TensorFlow threads: a forward pass of large convolutions and Dense layers takes
    0.005–0.02 s per GFLOP on a quiet machine and ~0.07 s with the other core busy; training takes
    ~0.03 s per GFLOP counted (three per sample and row).

    Args:
        max_sample_flops: most FLOPs of one forward pass of one sample (env
            ``NNVIZ_MAX_SAMPLE_FLOPS``): 20 MFLOP predicts MNIST's 10,000 test images (200 GFLOP)
            in ~2–4 s, ~14 s on a busy machine.
        max_run_flops: most FLOPs of one training run (×3 per sample, × rows × epochs) or one
            evaluation (per sample × rows) (env ``NNVIZ_MAX_RUN_FLOPS``): 5 TFLOP, ~2.5 minutes
            of training, about what the 10,000,000 row passes of ``NNVIZ_MAX_EPOCH_ROWS`` take a
            small network.
    """

    max_sample_flops: int = 20_000_000
    max_run_flops: int = 5_000_000_000_000

    @classmethod
    def from_env(cls) -> CostLimits:
        return cls(
            **{name: _env_int(f"NNVIZ_{name.upper()}", default) for name, default in asdict(cls()).items()}
        )


@dataclass(frozen=True)
class LayerCost:
    """FLOPs of one layer's forward pass for one sample.

    Attributes:
        position: the layer's place in the network, from 1.
        label: the layer as the summary shows it, e.g. ``Conv2D(8, 3×3, relu)``.
        kind: its kind, e.g. ``"Conv2D"``.
        input_shape: the shape it is given, without the batch axis.
        flops: multiply-adds (or comparisons, or element-wise operations) per sample.
    """

    position: int
    label: str
    kind: str
    input_shape: tuple[int, ...]
    flops: int


def layer_costs(spec: ModelSpec) -> list[LayerCost]:
    """The FLOPs of each layer for one sample, in order (up to the first layer that cannot take
    its input's shape: :func:`nnviz.model.spec.check_spec` names that one)."""
    costs = []
    shape = tuple(spec.input_shape)
    for row, layer in zip(layer_summary(spec), spec.layers):
        flops = _layer_flops(layer, shape, row.output_shape)
        costs.append(LayerCost(row.position, row.label, layer.kind, shape, flops))
        shape = row.output_shape
    return costs


def _layer_flops(layer, shape: tuple[int, ...], out: tuple[int, ...]) -> int:
    if layer.kind == "Dense":
        return math.prod(shape) * layer.units  # positions × inputs × units
    if layer.kind == "Conv2D":
        height, width, filters = out
        return height * width * layer.kernel_size**2 * shape[-1] * filters
    if layer.kind == "MaxPooling2D":
        return math.prod(out) * layer.pool_size**2
    if layer.kind in ("BatchNormalization", "Rescaling", "Activation"):
        return math.prod(shape)
    return 0  # Dropout at inference, Flatten, Reshape: values are passed on or rearranged


def sample_flops(spec: ModelSpec) -> int:
    """FLOPs of one forward pass of one sample through the whole network."""
    return sum(cost.flops for cost in layer_costs(spec))


VIEW_FLOPS = 500_000_000  # one redraw of a view over the input plane: ~5-35 ms here


def view_resolution(
    spec: ModelSpec, *, dims: int, most: int, least: int = 20, budget: float = VIEW_FLOPS
) -> int:
    """Points per axis of a view over the input plane (``dims=2``) or line (``dims=1``): the most
    up to ``most`` whose prediction costs at most ``budget`` FLOPs, but not fewer than ``least``.

    The live boundary is predicted every redraw while training: a wide network within the
    parameter limit (~2 MFLOP per point) over 150×150 points would cost 45 GFLOP per redraw.
    """
    fits = int((budget / max(sample_flops(spec), 1)) ** (1 / dims))
    return max(least, min(most, fits))


def rows_per_call(spec: ModelSpec, *, flops: float = 5e9, memory_bytes: int = 64 * 2**20) -> int:
    """Rows to compute in one call: about ``flops`` FLOPs (~0.1–0.25 s here) and no layer's float32
    output for them larger than ``memory_bytes``; 1 to 4,096."""
    rows = layer_summary(spec)
    largest = max([math.prod(spec.input_shape), *(math.prod(row.output_shape) for row in rows)])
    by_work = flops // max(sample_flops(spec), 1)
    by_memory = memory_bytes // (4 * largest)
    return int(max(1, min(4096, by_work, by_memory)))


def flops_text(flops: float) -> str:
    """E.g. ``1.55 GFLOP``, ``200 MFLOP``, ``80 FLOP``: three significant figures."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if flops >= factor:
            return f"{flops / factor:.3g} {prefix}FLOP"
    return f"{flops:.3g} FLOP"


def _per(spec: ModelSpec) -> str:
    return "image" if len(spec.input_shape) >= 2 else "row"


_FIXES = {
    "Conv2D": "use fewer filters, a smaller kernel or a larger stride, or pool before this layer",
    "Dense": "use fewer units",
    "MaxPooling2D": "pool fewer channels (fewer filters before it)",
}


def sample_problems(spec: ModelSpec, limits: CostLimits | None = None) -> list[str]:
    """Why one forward pass of ``spec`` is more work than this server allows, or ``[]``.

    The message names the figure, the limit, the heaviest layer and what to change there, e.g.
    "This network needs 1.55 GFLOP per image; the limit is 50 MFLOP: …".
    """
    limits = limits or CostLimits.from_env()
    costs = layer_costs(spec)
    total = sum(cost.flops for cost in costs)
    if total <= limits.max_sample_flops:
        return []
    heaviest = max(costs, key=lambda cost: cost.flops)
    fix = _FIXES.get(heaviest.kind, "make the layers before it smaller")
    if heaviest.kind == "Dense" and len(heaviest.input_shape) > 1:
        fix = "Flatten (and pool) before it: on a matrix a Dense layer repeats its weights at every row"
    return [
        f"This network needs {flops_text(total)} (multiply-adds) per {_per(spec)}; the limit on this server "
        f"is {flops_text(limits.max_sample_flops)} (NNVIZ_MAX_SAMPLE_FLOPS). Layer {heaviest.position} "
        f"({heaviest.label}) needs {flops_text(heaviest.flops)} of it: {fix}."
    ]


def training_flops(spec: ModelSpec, *, rows: int, epochs: int) -> int:
    """FLOPs of training ``epochs`` epochs over ``rows`` rows: ×:data:`TRAINING_FACTOR` per sample."""
    return TRAINING_FACTOR * sample_flops(spec) * rows * epochs


def run_problem(spec: ModelSpec, *, epochs: int, rows: int, limits: CostLimits | None = None) -> str | None:
    """Why training ``epochs`` epochs over ``rows`` rows is more work than one run may be, or None."""
    limits = limits or CostLimits.from_env()
    needed = training_flops(spec, rows=rows, epochs=epochs)
    if needed <= limits.max_run_flops:
        return None
    per_epoch = training_flops(spec, rows=rows, epochs=1)
    fit = limits.max_run_flops // per_epoch if per_epoch else epochs
    what = (
        f"{epochs:,} epoch{'s' if epochs != 1 else ''} × {rows:,} {_per(spec)}s × {flops_text(sample_flops(spec))} per "
        f"{_per(spec)} × {TRAINING_FACTOR} (forward and backward) is {flops_text(needed)}, more than this "
        f"server allows in one run ({flops_text(limits.max_run_flops)}, NNVIZ_MAX_RUN_FLOPS)"
    )
    if fit >= 1:
        return (
            f"{what}: train at most {fit:,} epoch{'s' if fit != 1 else ''} at a time, then press Train again."
        )
    return f"{what}: even one epoch is too much; make the network smaller (fewer filters or units, pool earlier)."


def evaluation_problem(spec: ModelSpec, *, rows: int, limits: CostLimits | None = None) -> str | None:
    """Why computing the outputs of ``rows`` rows is more work than this server allows, or None."""
    limits = limits or CostLimits.from_env()
    needed = sample_flops(spec) * rows
    if needed <= limits.max_run_flops:
        return None
    return (
        f"Predicting {rows:,} {_per(spec)}s × {flops_text(sample_flops(spec))} per {_per(spec)} is {flops_text(needed)}, "
        f"more than this server allows at once ({flops_text(limits.max_run_flops)}, NNVIZ_MAX_RUN_FLOPS): "
        "make the network smaller (fewer filters or units, pool earlier)."
    )


__all__ = [
    "TRAINING_FACTOR",
    "CostLimits",
    "LayerCost",
    "evaluation_problem",
    "flops_text",
    "layer_costs",
    "rows_per_call",
    "run_problem",
    "sample_flops",
    "sample_problems",
    "training_flops",
]
