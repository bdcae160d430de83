"""What training does inside: per layer and per weight snapshot, the gradient's size, dead ReLU units
and the spread of the activations, all on one fixed probe batch so that epochs compare.

A deep sigmoid network's first layers get gradients orders of magnitude smaller than its last
(vanishing gradients); too high a learning rate makes them grow epoch after epoch (exploding); a ReLU
unit whose input is negative for every row outputs 0 and gets no gradient again (dead). These are
computed after the run from the snapshots the look back keeps, so training itself does not slow
down. Inference mode, as the rest of the look back. Pure numpy and Keras: no Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from nnviz.explain.trace import _activation_name

__all__ = ["LayerHealth", "health_over_epochs", "layer_health", "probe_rows"]

PROBE_ROWS = 256


@dataclass(frozen=True)
class LayerHealth:
    """One layer on the probe batch.

    Args:
        position: the layer's place in ``model.layers`` (0 = first).
        gradient_norm: ``‖∂L/∂kernel‖`` (square root of the sum of squares) of the compiled loss,
            the batch mean; None for a layer without a kernel.
        dead_share: for a ReLU layer, the share of its units (a Dense unit, a Conv2D filter) that
            output 0 for every probe row; None for other layers.
        spread: the standard deviation of the layer's outputs over the rows and units.
    """

    position: int
    gradient_norm: float | None
    dead_share: float | None
    spread: float


def probe_rows(n_rows: int, *, seed: int, rows: int = PROBE_ROWS) -> np.ndarray:
    """The training rows every snapshot is measured on: ``rows`` of them (all if fewer), chosen by
    ``seed`` and nothing else, shape ``(min(rows, n_rows),)``."""
    return np.sort(np.random.default_rng([seed, 2**31 - 1]).permutation(n_rows)[:rows])


def layer_health(model: keras.Model, X: np.ndarray, y: np.ndarray) -> list[LayerHealth]:
    """Every layer's :class:`LayerHealth` for the probe batch ``(X, y)``, in layer order.

    Args:
        model: a compiled model (its compiled loss is differentiated).
        X: probe rows, shape ``(n, *input_shape)``.
        y: their labels or targets, shape ``(n,)``.
    """
    import tensorflow as tf

    x = tf.constant(np.asarray(X, dtype=np.float32))
    target = tf.constant(np.asarray(y, dtype=np.float32))
    kernels = [getattr(layer, "kernel", None) for layer in model.layers]
    with tf.GradientTape() as tape:
        outputs, h = [], x
        for layer in model.layers:
            h = layer(h, training=False)
            outputs.append(h)
        loss = model.compute_loss(x=x, y=target, y_pred=h, training=False)
    present = [k for k in kernels if k is not None]
    gradients = iter(tape.gradient(loss, present))
    health = []
    for position, (layer, kernel, out) in enumerate(zip(model.layers, kernels, outputs, strict=True)):
        norm = None if kernel is None else float(tf.norm(next(gradients)))
        values = np.asarray(out, dtype=np.float64)
        dead = None
        if _activation_name(layer) == "relu":
            per_unit = values.reshape(len(values), -1, values.shape[-1])  # rows, positions, units
            dead = float(np.mean(np.all(per_unit <= 0, axis=(0, 1))))
        health.append(LayerHealth(position, norm, dead, float(values.std())))
    return health


def health_over_epochs(
    model: keras.Model,
    weights_at: Callable[[int], list[np.ndarray]],
    epochs: Sequence[int],
    X: np.ndarray,
    y: np.ndarray,
) -> dict[int, list[LayerHealth]]:
    """:func:`layer_health` after each of ``epochs``, with ``model`` given ``weights_at(epoch)``
    (``model.weights`` order) first; ``model`` is left with the last epoch's weights."""
    report = {}
    for epoch in epochs:
        model.set_weights(weights_at(epoch))
        report[epoch] = layer_health(model, X, y)
    return report
