"""Decision boundaries: the model's class probabilities over a plane of two chosen features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnviz.datasets import Dataset
from nnviz.predict import class_probabilities, network_outputs


@dataclass(frozen=True)
class BoundaryGrid:
    """Class probabilities on a regular grid.

    Attributes:
        features: the two feature indices on the x and y axes.
        xs, ys: grid coordinates, shape ``(resolution,)`` each.
        probabilities: shape ``(resolution, resolution, n_classes)``; row i is ``ys[i]``, column j is ``xs[j]``.
        held_at: for each other feature index, the value (its training mean) it is held at.
    """

    features: tuple[int, int]
    xs: np.ndarray
    ys: np.ndarray
    probabilities: np.ndarray
    held_at: dict[int, float]


def feature_plane(
    X: np.ndarray, features: tuple[int, int], *, resolution: int = 150, margin: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over two features of ``X`` with every other feature held at its mean.

    Args:
        X: data of shape ``(n, n_features)`` that sets the range of the grid.
        features: indices of the x-axis and y-axis features.
        resolution: points per axis.
        margin: fraction of each feature's range added on both sides.

    Returns:
        ``xs`` and ``ys`` of shape ``(resolution,)``, and ``points`` of shape
        ``(resolution * resolution, n_features)`` in row-major order (y outer, x inner).
    """
    i, j = features
    if i == j:
        raise ValueError(f"Pick two different features for the plane, got feature {i} twice.")
    axes = []
    for column in (X[:, i], X[:, j]):
        low, high = float(column.min()), float(column.max())
        pad = (high - low) * margin if high > low else 1.0  # a constant feature still gets a range
        axes.append(np.linspace(low - pad, high + pad, resolution, dtype=np.float32))
    xs, ys = axes
    points = np.tile(X.mean(axis=0).astype(np.float32), (resolution * resolution, 1))
    grid_x, grid_y = np.meshgrid(xs, ys)
    points[:, i] = grid_x.ravel()
    points[:, j] = grid_y.ravel()
    return xs, ys, points


def decision_boundary(
    model, X: np.ndarray, loss: str, *, features: tuple[int, int] = (0, 1), resolution: int = 150
) -> BoundaryGrid:
    """The model's class probabilities over the plane of ``features`` (see :func:`feature_plane`)."""
    xs, ys, points = feature_plane(X, features, resolution=resolution)
    probabilities = class_probabilities(network_outputs(model, points), loss)
    held = {k: float(X[:, k].mean()) for k in range(X.shape[1]) if k not in features}
    return BoundaryGrid(tuple(features), xs, ys, probabilities.reshape(resolution, resolution, -1), held)


def outcome_rendering(model, *, dataset: Dataset, loss: str, features: tuple[int, int] | None):
    """The numbers behind the Train page's outcome view for the model as it is now.

    Returns:
        A :class:`BoundaryGrid` over ``features`` for classification, ``(actual, predicted)`` test
        targets for regression, or None when there is no plane to draw (images, or no features).
    """
    if dataset.task == "regression":
        return dataset.y_test, network_outputs(model, dataset.X_test)[:, 0]
    if features is None:
        return None
    return decision_boundary(model, dataset.X_train, loss, features=features)


def neuron_maps(model, X: np.ndarray, *, features: tuple[int, int] = (0, 1), resolution: int = 60):
    """What each neuron of each Dense layer computes over the plane of two features, as TensorFlow
    Playground draws it.

    Returns:
        ``xs``, ``ys`` (the grid, see :func:`feature_plane`) and a list of ``(layer position, maps)``
        (the position in ``model.layers``) with ``maps`` of shape ``(units, resolution, resolution)``:
        each unit's output (after its activation) at each point; row i is ``ys[i]``.
    """
    import keras

    xs, ys, points = feature_plane(X, features, resolution=resolution)
    values, maps = points, []
    for position, layer in enumerate(model.layers):
        values = layer(values, training=False)
        if isinstance(layer, keras.layers.Dense):
            outputs = np.asarray(keras.ops.convert_to_numpy(values))
            maps.append((position, outputs.T.reshape(-1, resolution, resolution)))
    return xs, ys, maps
