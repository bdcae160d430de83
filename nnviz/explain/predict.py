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


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def find_row(train_rows: np.ndarray, test_rows: np.ndarray, row: int) -> tuple[str, int]:
    """Where original dataset row ``row`` went in the split: ``("train" or "test", position there)``.

    Raises:
        ValueError: naming the row and the rows there are, when no part holds it.
    """
    for part, rows in (("test", test_rows), ("train", train_rows)):
        found = np.flatnonzero(np.asarray(rows) == row)
        if len(found):
            return part, int(found[0])
    total = len(train_rows) + len(test_rows)
    raise ValueError(f"row={row} is not a row of this dataset; pick one of 0–{total - 1:,}.")


def typed_input(
    values, names, *, mean: np.ndarray | None = None, scale: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A row typed by hand, in the data's own units, made ready for the network.

    Args:
        values: one number per feature, in raw units (e.g. cm for iris).
        names: the feature names, for the messages.
        mean, scale: the standardisation the dataset applies (``(x - mean) / scale``), or None.

    Returns:
        ``(raw, network_input)``: the values as float64, and what the network gets (scaled as the
        dataset's rows were) as float32, each of shape ``(n_features,)``.

    Raises:
        ValueError: listing every value that is missing, not finite, or beyond float32's range
        (±3.4e38) before or after scaling, and how to fix it.
    """
    if len(values) != len(names):
        raise ValueError(f"{len(values)} values were typed for {len(names)} features; type one per feature.")
    problems, raw = [], np.zeros(len(names), dtype=np.float64)
    for k, (name, value) in enumerate(zip(names, values)):
        try:
            raw[k] = float(value)
        except (TypeError, ValueError, OverflowError):
            problems.append(f"{name}={value!r} is not a number; type one, e.g. 1.5.")
            continue
        if not np.isfinite(raw[k]):
            problems.append(f"{name}={value!r} is not a finite number; type an ordinary number.")
        elif abs(raw[k]) > _FLOAT32_MAX:
            problems.append(
                f"{name}={raw[k]:g} is beyond float32's range (±3.4e38), the numbers the network computes "
                "with; type a smaller value."
            )
    if problems:
        raise ValueError(" ".join(problems))
    with np.errstate(over="ignore"):  # a value beyond float64 after scaling is named just below
        scaled = (
            raw
            if mean is None
            else (raw - np.asarray(mean, dtype=np.float64)) / np.asarray(scale, dtype=np.float64)
        )
    too_big = [k for k in range(len(names)) if not abs(scaled[k]) <= _FLOAT32_MAX]
    if too_big:
        raise ValueError(
            " ".join(
                f"{names[k]}={raw[k]:g} becomes {scaled[k]:g} after the dataset's scaling, beyond float32's "
                "range (±3.4e38); type a value nearer the training rows' values."
                for k in too_big
            )
        )
    return raw, scaled.astype(np.float32)
