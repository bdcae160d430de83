"""Decision boundaries: the model's class probabilities over a line or a plane of input space.

The view spans one feature, two features (every other one held at its training mean), or the plane
of the first two principal components of the training rows (every other component held at the
mean: the grid lives in component scores and is mapped back to feature space). :func:`informative_pair`
picks the pair of features that shows the classes apart best, for the default view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnviz.data.datasets import Dataset
from nnviz.explain.predict import class_probabilities, network_outputs


@dataclass(frozen=True)
class BoundaryAxes:
    """What the outcome view spans.

    Attributes:
        features: the feature index on the horizontal axis, then the one on the vertical axis; a single
            index is a 1-D view (probability against that feature); empty for the PCA plane.
        pca: the plane of the first two principal components of the training rows.
    """

    features: tuple[int, ...] = (0, 1)
    pca: bool = False

    def __post_init__(self) -> None:
        if self.pca:
            if self.features:
                raise ValueError(f"The PCA plane has no feature axes, got features={self.features}.")
        elif len(self.features) not in (1, 2):
            raise ValueError(
                f"A boundary spans one or two features, got {len(self.features)}: {self.features}."
            )
        elif len(set(self.features)) < len(self.features):
            raise ValueError(
                f"Pick two different features for the plane, got feature {self.features[0]} twice."
            )

    @property
    def dims(self) -> int:
        """1 for a line, 2 for a plane."""
        return 2 if self.pca else len(self.features)


PCA_PLANE = BoundaryAxes((), pca=True)


def as_axes(features) -> BoundaryAxes:
    """``features`` as :class:`BoundaryAxes` (a tuple of one or two feature indices is accepted)."""
    return features if isinstance(features, BoundaryAxes) else BoundaryAxes(tuple(int(f) for f in features))


@dataclass(frozen=True)
class InputGrid:
    """A regular grid over the view's axes, and the network input at each of its points.

    Attributes:
        axes: what the grid spans.
        coords: one array per axis (horizontal, then vertical), shape ``(resolution,)`` each, in the
            view's units: feature values, or principal-component scores.
        points: network inputs, shape ``(resolution ** dims, n_features)``, row-major (y outer, x inner).
        held_at: for each feature off the axes, the value (its training mean) it is held at; empty for
            the PCA plane.
        mean, components: the PCA plane's centre ``(n_features,)`` and unit directions
            ``(2, n_features)``: ``points = mean + scores @ components``. None for feature views.
        explained: the fraction of the variance along each of the two components (PCA plane).
    """

    axes: BoundaryAxes
    coords: tuple[np.ndarray, ...]
    points: np.ndarray
    held_at: dict[int, float] = field(default_factory=dict)
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    explained: tuple[float, ...] = ()

    def project(self, X: np.ndarray) -> np.ndarray:
        """Where rows of ``X`` lie on the view's axes, shape ``(n, dims)``."""
        if self.axes.pca:
            return (np.asarray(X, dtype=np.float64) - self.mean) @ self.components.T
        return np.asarray(X)[:, list(self.axes.features)]

    def axis_titles(self, feature_names) -> tuple[str, ...]:
        """One title per axis, e.g. ``("petal length", "petal width")`` or ``("PC1 (92 % of variance)", …)``."""
        if self.axes.pca:
            return tuple(
                f"PC{k + 1} ({share * 100:.0f} % of variance)" for k, share in enumerate(self.explained)
            )
        return tuple(str(feature_names[f]) for f in self.axes.features)

    def note(self, feature_names) -> str | None:
        """What the view holds fixed, in words; None when nothing is."""
        if self.axes.pca:
            return (
                "The plane of the first two principal components of the training rows; every other "
                "direction is held at the mean."
            )
        if not self.held_at:
            return None
        held = ", ".join(f"{feature_names[k]} = {v:.2f}" for k, v in self.held_at.items())
        return f"Other features held at their training mean: {held}"


def _principal_plane(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """Mean, the first two principal directions (signs fixed: each one's largest loading is
    positive, so the picture does not flip between runs) and their shares of the variance."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    mean = X.mean(axis=0)
    centred = X - mean
    # The eigenvectors of the d × d scatter matrix: the same directions as an SVD of the rows, at a
    # fraction of the cost for long data.
    variance, directions = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(variance)[::-1][:2]
    components = directions[:, order].T.copy()
    for row in components:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    total = float(np.clip(variance, 0, None).sum()) or 1.0
    return mean, components, tuple(float(max(variance[k], 0.0) / total) for k in order)


def _span(values: np.ndarray, resolution: int, margin: float) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    pad = (high - low) * margin if high > low else 1.0  # a constant feature still gets a range
    return np.linspace(low - pad, high + pad, resolution, dtype=np.float32)


def input_grid(X: np.ndarray, axes, *, resolution: int = 150, margin: float = 0.1) -> InputGrid:
    """A grid over ``axes`` (a :class:`BoundaryAxes`, or a tuple of one or two feature indices) that
    spans the rows of ``X`` with ``margin`` of each axis' range added on both sides.

    Args:
        X: training rows, shape ``(n, n_features)``; they set the range, the means and the PCA plane.
        axes: what the grid spans.
        resolution: points per axis.
    """
    axes = as_axes(axes)
    X = np.asarray(X)
    if axes.pca:
        if X.shape[1] < 2:
            raise ValueError(f"The PCA plane needs at least two features, got {X.shape[1]}.")
        mean, components, explained = _principal_plane(X)
        scores = (X - mean) @ components.T
        xs, ys = (_span(scores[:, k], resolution, margin) for k in (0, 1))
        grid_x, grid_y = np.meshgrid(xs, ys)
        plane = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float64)
        points = (mean + plane @ components).astype(np.float32)  # PCA's inverse transform
        return InputGrid(axes, (xs, ys), points, {}, mean, components, explained)
    for f in axes.features:
        if not 0 <= f < X.shape[1]:
            raise ValueError(
                f"Feature {f} does not exist: the data has {X.shape[1]} features (0..{X.shape[1] - 1})."
            )
    coords = tuple(_span(X[:, f], resolution, margin) for f in axes.features)
    points = np.tile(X.mean(axis=0).astype(np.float32), (resolution**axes.dims, 1))
    if axes.dims == 1:
        points[:, axes.features[0]] = coords[0]
    else:
        grid_x, grid_y = np.meshgrid(*coords)
        points[:, axes.features[0]] = grid_x.ravel()
        points[:, axes.features[1]] = grid_y.ravel()
    held = {k: float(X[:, k].mean()) for k in range(X.shape[1]) if k not in axes.features}
    return InputGrid(axes, coords, points, held)


def feature_plane(
    X: np.ndarray, features: tuple[int, int], *, resolution: int = 150, margin: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over two features of ``X`` with every other feature held at its mean.

    Returns:
        ``xs`` and ``ys`` of shape ``(resolution,)``, and ``points`` of shape
        ``(resolution * resolution, n_features)`` in row-major order (y outer, x inner).
    """
    if len(features) != 2:
        raise ValueError(f"A plane needs two features, got {len(features)}.")
    grid = input_grid(X, tuple(features), resolution=resolution, margin=margin)
    return grid.coords[0], grid.coords[1], grid.points


@dataclass(frozen=True)
class BoundaryGrid:
    """Class probabilities over an :class:`InputGrid`.

    Attributes:
        grid: the points, their coordinates on the view's axes and what is held fixed.
        probabilities: ``(resolution, resolution, n_classes)`` over a plane (row i is ``ys[i]``,
            column j is ``xs[j]``), ``(resolution, n_classes)`` over a line.
    """

    grid: InputGrid
    probabilities: np.ndarray

    @property
    def features(self) -> tuple[int, ...]:
        return self.grid.axes.features

    @property
    def xs(self) -> np.ndarray:
        return self.grid.coords[0]

    @property
    def ys(self) -> np.ndarray | None:
        return self.grid.coords[1] if len(self.grid.coords) > 1 else None

    @property
    def held_at(self) -> dict[int, float]:
        return self.grid.held_at


def decision_boundary(
    model, X: np.ndarray, loss: str, *, features=(0, 1), resolution: int = 150, grid: InputGrid | None = None
) -> BoundaryGrid:
    """The model's class probabilities over ``features`` (see :func:`input_grid`), or over ``grid``
    when one is given (it does not change while a run goes on: compute it once)."""
    grid = grid or input_grid(X, features, resolution=resolution)
    probabilities = class_probabilities(network_outputs(model, grid.points), loss)
    shape = tuple(len(c) for c in reversed(grid.coords))  # (ys, xs) or (xs,)
    return BoundaryGrid(grid, probabilities.reshape(*shape, -1))


def outcome_rendering(model, *, dataset: Dataset, loss: str, features, grid: InputGrid | None = None):
    """The numbers behind the Train page's outcome view for the model as it is now.

    Args:
        features: a :class:`BoundaryAxes` (or feature indices), or None for no boundary.
        grid: the view's grid, computed once for a run (see :func:`input_grid`).

    Returns:
        A :class:`BoundaryGrid` for classification, ``(actual, predicted)`` test targets for
        regression, or None when there is nothing to draw (images, or no axes).
    """
    if dataset.task == "regression":
        return dataset.y_test, network_outputs(model, dataset.X_test)[:, 0]
    if features is None and grid is None:
        return None
    return decision_boundary(model, dataset.X_train, loss, features=features, grid=grid)


def informative_pair(
    X: np.ndarray, y: np.ndarray, *, max_rows: int = 2000, max_features: int = 30
) -> tuple[int, int]:
    """The pair of features on which the classes lie furthest apart: the best accuracy of a nearest
    class-mean rule on the two standardised features (ties: the first pair).

    For iris that is petal length × petal width (96 % of the training rows) rather than sepal
    length × sepal width (82 %). Wide data is judged on its ``max_features`` best single features,
    long data on ``max_rows`` evenly spread rows.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(
            f"A pair of features needs data with two or more feature columns, got shape {X.shape}."
        )
    rows = np.linspace(0, len(X) - 1, min(len(X), max_rows)).astype(int)
    X, y = X[rows], y[rows]
    scale = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    classes = np.unique(y)
    centres = np.stack([Z[y == c].mean(axis=0) for c in classes])  # (k, d)
    distance = (Z[:, :, None] - centres.T[None]) ** 2  # (n, d, k): squared distance per feature
    truth = np.searchsorted(classes, y)
    single = (distance.argmin(axis=2) == truth[:, None]).mean(axis=0)
    candidates = np.sort(np.argsort(-single, kind="stable")[:max_features])
    best, best_accuracy = (int(candidates[0]), int(candidates[1])), -1.0
    for a, i in enumerate(candidates[:-1]):
        others = candidates[a + 1 :]
        nearest = (distance[:, i, None, :] + distance[:, others, :]).argmin(axis=2)  # (n, pairs)
        accuracy = (nearest == truth[:, None]).mean(axis=0)
        top = int(np.argmax(accuracy))
        if accuracy[top] > best_accuracy:
            best, best_accuracy = (int(i), int(others[top])), float(accuracy[top])
    return best


def neuron_maps(model, X: np.ndarray, *, features=(0, 1), resolution: int = 60):
    """What each neuron of each Dense layer computes over the view (a plane, a line or the PCA
    plane), as TensorFlow Playground draws it.

    Returns:
        ``xs``, ``ys`` (the grid, see :func:`input_grid`; ``ys`` is None over a line) and a list of
        ``(layer position, maps)`` (the position in ``model.layers``) with ``maps`` of shape
        ``(units, resolution, resolution)`` over a plane (row i is ``ys[i]``) or ``(units, resolution)``
        over a line: each unit's output (after its activation) at each point.
    """
    import keras

    grid = input_grid(X, features, resolution=resolution)
    shape = tuple(len(c) for c in reversed(grid.coords))
    values, maps = grid.points, []
    for position, layer in enumerate(model.layers):
        values = layer(values, training=False)
        if isinstance(layer, keras.layers.Dense):
            outputs = np.asarray(keras.ops.convert_to_numpy(values))
            maps.append((position, outputs.T.reshape(-1, *shape)))
    return grid.coords[0], (grid.coords[1] if len(grid.coords) > 1 else None), maps
