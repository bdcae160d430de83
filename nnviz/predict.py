"""From raw network outputs to what a user reads: class probabilities, labels, mistakes."""

from __future__ import annotations

import numpy as np


def network_outputs(model, X: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
    """The model's outputs for ``X`` (inference mode), shape ``(n, n_outputs)``.

    Calls the model directly in chunks: for the small inputs of an interactive app this avoids the
    set-up cost of ``model.predict``.
    """
    import keras

    chunks = [
        keras.ops.convert_to_numpy(
            model(np.asarray(X[start : start + batch_size], dtype=np.float32), training=False)
        )
        for start in range(0, len(X), batch_size)
    ]
    return np.concatenate(chunks) if chunks else np.empty((0, model.output_shape[-1]), dtype=np.float32)


def class_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Per-class probabilities, shape ``(n, n_classes)``, from outputs of shape ``(n, n_outputs)``.

    Softmax outputs are used as they are; a single sigmoid unit p gives ``[1 - p, p]``; a hinge
    score s in [-1, 1] is mapped to ``(s + 1) / 2``, which is a confidence, not a calibrated probability.
    """
    if loss == "sparse_categorical_crossentropy":
        return outputs
    positive = outputs[:, 0]
    if loss == "hinge":
        positive = (np.clip(positive, -1.0, 1.0) + 1.0) / 2.0
    return np.stack([1.0 - positive, positive], axis=1)


def predicted_labels(outputs: np.ndarray, loss: str) -> np.ndarray:
    """The predicted class index for each row, shape ``(n,)``."""
    return class_probabilities(outputs, loss).argmax(axis=1)


def misclassified_indices(model, X: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Indices of the rows of ``X`` whose predicted class differs from ``y``."""
    return np.flatnonzero(predicted_labels(network_outputs(model, X), loss) != y)
