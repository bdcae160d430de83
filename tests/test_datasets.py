"""Dataset loaders, including the offline stand-ins that must never switch silently."""

import re
import urllib.error

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from nnviz.data.catalog import BUILT_IN_DATASETS, dataset_title
from nnviz.data.datasets import (
    load_dataset,
    load_housing,
    load_iris_data,
    load_mnist,
    load_two_moons,
    preview_table,
)


def test_iris_is_split_stratified_with_three_species():
    data = load_iris_data(test_size=0.2, random_state=0)
    assert data.X_train.shape == (120, 4) and data.X_test.shape == (30, 4)
    assert np.bincount(data.y_test).tolist() == [10, 10, 10]
    assert data.task == "multiclass" and data.class_names == ("setosa", "versicolor", "virginica")
    assert data.target.n_outputs == 3 and data.fallback_reason is None


def test_moons_follow_their_options_and_seed():
    a = load_two_moons(200, noise=0.1, random_state=3)
    b = load_two_moons(200, noise=0.1, random_state=3)
    c = load_two_moons(200, noise=0.3, random_state=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert len(a.X_train) + len(a.X_test) == 200 and a.input_shape == (2,)
    assert a.task == "binary" and a.target.n_outputs == 1


def test_arrays_are_read_only_because_one_copy_is_shared():
    data = load_two_moons(50)
    with pytest.raises(ValueError):
        data.X_train[0, 0] = 1.0


def _offline(*_args, **_kwargs):
    raise OSError("[Errno -2] Name or service not known")


def test_housing_offline_falls_back_to_diabetes_and_says_so():
    data = load_housing(fetch=_offline)
    assert data.fallback_reason.startswith("California housing could not be downloaded")
    assert "diabetes" in data.fallback_reason and "internet connection" in data.fallback_reason
    assert data.title == "Diabetes progression (offline stand-in for California housing)"
    assert data.task == "regression" and data.input_shape == (10,)


_NETWORK_ERRORS = [
    OSError("[Errno -2] Name or service not known"),
    urllib.error.URLError(OSError(-3, "Temporary failure in name resolution")),
    urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
    TimeoutError("timed out " + "while reading the response " * 20),
    ConnectionResetError(104, ""),
]


def _raising(err):
    def fetch(*_args, **_kwargs):
        raise err

    return fetch


@pytest.mark.parametrize("err", _NETWORK_ERRORS, ids=lambda err: type(err).__name__)
@pytest.mark.parametrize("loader", [load_housing, load_mnist], ids=["housing", "mnist"])
def test_offline_notes_are_whole_friendly_sentences_whatever_the_error(loader, err):
    """No raw error text (``<urlopen error …>``, errno), nothing cut mid-word: what happened, what is
    shown instead, and that the real data loads with a connection."""
    note = loader(fetch=_raising(err)).fallback_reason
    assert not re.search(r"urlopen|errno|Errno|<|>|…|\.\.\.|Connection refused|timed out", note)
    assert note.endswith(".") and "  " not in note
    assert "could not be downloaded" in note and "Shown instead" in note
    assert "With an internet connection" in note
    assert len(note) == len(note.strip())


def test_the_loaded_stand_in_names_the_dataset_everywhere():
    """Once a download failed, the sidebar and the dataset box (``dataset_title``) name the stand-in;
    once it succeeds again, the real data."""
    load_housing(fetch=_offline)
    assert dataset_title("housing") == load_housing(fetch=_offline).title
    assert "California housing" in dataset_title("housing") and "Diabetes" in dataset_title("housing")
    load_mnist(fetch=_raising(OSError("offline")))
    assert dataset_title("mnist") == "MNIST digits, 5,000-image subset (offline stand-in for the full set)"
    rng = np.random.default_rng(0)
    bunch = Bunch(data=rng.normal(size=(20, 8)), target=rng.uniform(size=20), feature_names=list("abcdefgh"))
    load_housing(fetch=lambda: bunch)
    assert dataset_title("housing") == "California housing (regression)"
    assert dataset_title("iris") == "Iris flowers (4 features, three classes)"


def _housing_from_csv(path):
    """scikit-learn's 8 derived California features, rebuilt from the raw census columns."""
    raw = pd.read_csv(path).dropna(subset=["total_bedrooms"])
    features = pd.DataFrame(
        {
            "MedInc": raw.median_income,
            "HouseAge": raw.housing_median_age,
            "AveRooms": raw.total_rooms / raw.households,
            "AveBedrms": raw.total_bedrooms / raw.households,
            "Population": raw.population,
            "AveOccup": raw.population / raw.households,
            "Latitude": raw.latitude,
            "Longitude": raw.longitude,
        }
    )
    return Bunch(
        data=features.to_numpy(),
        target=raw.median_house_value.to_numpy() / 100_000,
        feature_names=list(features.columns),
    )


def test_housing_standardises_eight_features_on_the_training_rows(shared_data):
    bunch = _housing_from_csv(shared_data / "california_housing.csv.gz")
    data = load_housing(fetch=lambda: bunch, random_state=0)
    assert data.fallback_reason is None and data.title == "California housing"
    assert data.input_shape == (8,) and len(data.X_train) + len(data.X_test) == len(bunch.target)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-3)
    assert 0.1 < data.y_train.min() and data.y_train.max() <= 5.00002


def test_mnist_offline_uses_the_real_5000_image_subset_and_says_so():
    def unreachable():
        raise Exception("URL fetch failure on https://storage.googleapis.com/…: Name or service not known")

    data = load_mnist(fetch=unreachable)
    assert (
        "5,000 real MNIST images" in data.fallback_reason and "URL fetch failure" not in data.fallback_reason
    )
    assert data.title == "MNIST digits, 5,000-image subset (offline stand-in for the full set)"
    assert data.X_train.shape == (4000, 28, 28) and data.X_test.shape == (1000, 28, 28)
    assert data.X_train.dtype == np.uint8 and data.X_train.max() == 255
    assert np.bincount(data.y_test).tolist() == [100] * 10
    assert data.is_image and data.target.n_outputs == 10


def test_mnist_online_keeps_the_download_as_uint8():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = np.arange(12) % 10
    data = load_mnist(fetch=lambda: ((images[:10], labels[:10]), (images[10:], labels[10:])))
    assert data.fallback_reason is None and data.X_train.dtype == np.uint8
    np.testing.assert_array_equal(data.X_test, images[10:])


def test_the_default_mnist_loader_works_offline():
    data = load_mnist()  # keras.datasets: downloads where there is a network, else the stand-in
    assert data.X_train.dtype == np.uint8 and data.input_shape == (28, 28)
    assert (data.fallback_reason is None) == (len(data.X_train) == 60_000)


def test_preview_table_names_classes():
    table = preview_table(load_iris_data(), rows=5)
    assert list(table.columns) == ["sepal length", "sepal width", "petal length", "petal width", "species"]
    assert set(table["species"]) <= {"setosa", "versicolor", "virginica"} and len(table) == 5


def test_every_registered_dataset_loads_offline():
    for key in BUILT_IN_DATASETS:
        assert load_dataset(key).key == key
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_sum_of_five_is_the_course_data_seeded_like_moons():
    """250 rows to train on, then 200 fresh ones: one seeded stream of uniform numbers, labelled by hand."""
    data = load_dataset("sum5", random_state=4)
    stream = np.random.default_rng(4).random((450, 5)).astype(np.float32)  # the same draws, in one go
    np.testing.assert_array_equal(np.concatenate([data.X_train, data.X_test]), stream)
    labels = [1 if sum(float(v) for v in row) > 2.5 else 0 for row in stream]
    assert list(np.concatenate([data.y_train, data.y_test])) == labels
    assert (len(data.y_train), len(data.y_test), data.input_shape, data.task) == (250, 200, (5,), "binary")
    assert 0.35 < data.y_train.mean() < 0.65  # both labels well represented
    assert not np.array_equal(load_dataset("sum5", random_state=5).X_train, data.X_train)
    np.testing.assert_array_equal(load_dataset("sum5", random_state=4).X_test, data.X_test)
