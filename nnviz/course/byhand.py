"""The course's sums by hand, numpy beside Keras: one neuron, a softmax, a batch's cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from nnviz.explain.lossmath import LossStep, loss_steps
from nnviz.explain.trace import layer_trace

_SOFTMAX_STEPS = ("z", "exp(z)", "sum", "p")


@dataclass(frozen=True, eq=False)
class Neuron:
    """One neuron worked out: ``z = w·x + b``, ``a = f(z)``, and what a Keras ``Dense(1)`` with the same
    weight and bias gives.

    Args:
        products: ``w[i] * x[i]`` for each input, shape ``(n_inputs,)``.
        z: the weighted sum plus the bias.
        a: the activation of ``z`` (numpy).
        keras_a: the Dense(1) layer's output.
    """

    products: np.ndarray
    z: float
    a: float
    keras_a: float


def neuron(inputs: Sequence[float], weights: Sequence[float], bias: float, activation: str) -> Neuron:
    """One neuron with ``weights`` and ``bias`` on ``inputs``, in numpy beside a Keras ``Dense(1)``.

    Args:
        inputs, weights: equally long.
        activation: ``"linear"``, ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
    """
    x, w = np.asarray(inputs, np.float64), np.asarray(weights, np.float64)
    layer = keras.layers.Dense(1, activation=activation)
    model = keras.Sequential([keras.Input((len(x),)), layer])
    layer.set_weights([w[:, None].astype(np.float32), np.array([bias], np.float32)])
    step = layer_trace(model, x.astype(np.float32))[0]  # the trace's own numpy beside Keras
    z = float(x @ w + bias)
    return Neuron(x * w, z, float(np.ravel(step.numpy_output)[0]), float(np.ravel(step.keras_output)[0]))


def softmax_steps(logits: Sequence[float]) -> list[LossStep]:
    """The logits → exp → sum → softmax steps of the Inspect page, for ``logits`` given by hand."""
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max())
    steps = loss_steps(e / e.sum(), z, 0, "sparse_categorical_crossentropy")
    return [step for step in steps if step.name in _SOFTMAX_STEPS]


@dataclass(frozen=True, eq=False)
class CrossEntropyBatch:
    """A batch's cross-entropy from its logits, row by row.

    Args:
        probabilities: softmax of each row, shape ``(n_rows, n_classes)``.
        losses: ``-log p[true]`` per row (numpy), shape ``(n_rows,)``.
        keras_sparse: ``keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)``.
        keras_one_hot: ``keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True)``.
        keras_mean: the batch's loss as ``fit`` reports it: ``SparseCategoricalCrossentropy(from_logits=True)``.
    """

    probabilities: np.ndarray
    losses: np.ndarray
    keras_sparse: np.ndarray
    keras_one_hot: np.ndarray
    keras_mean: float


def cross_entropy(logits: Sequence[Sequence[float]], labels: Sequence[int]) -> CrossEntropyBatch:
    """Cross-entropy of rows of ``logits`` (shape ``(n_rows, n_classes)``) against class ``labels``, in numpy
    beside Keras's sparse and one-hot forms."""
    z, y = np.asarray(logits, np.float64), np.asarray(labels, np.int64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    losses = -np.log(p[np.arange(len(y)), y])
    z32, one_hot = z.astype(np.float32), np.eye(z.shape[1], dtype=np.float32)[y]
    sparse = keras.losses.sparse_categorical_crossentropy(y, z32, from_logits=True)
    categorical = keras.losses.categorical_crossentropy(one_hot, z32, from_logits=True)
    mean = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, z32)
    return CrossEntropyBatch(
        p,
        losses,
        np.asarray(keras.ops.convert_to_numpy(sparse), np.float64),
        np.asarray(keras.ops.convert_to_numpy(categorical), np.float64),
        float(keras.ops.convert_to_numpy(mean)),
    )
