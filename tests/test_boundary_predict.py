"""Decision-boundary grids and the step from network outputs to classes."""

from itertools import combinations

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestCentroid
from sklearn.preprocessing import StandardScaler

from nnviz.explain.boundary import (
    PCA_PLANE,
    BoundaryAxes,
    decision_boundary,
    feature_plane,
    informative_pair,
    input_grid,
    neuron_maps,
)
from nnviz.explain.predict import (
    class_probabilities,
    misclassified_indices,
    network_outputs,
    predicted_labels,
)
from nnviz.model.build import build_model
from nnviz.model.spec import LayerSpec, ModelSpec


def test_plane_varies_two_features_and_holds_the_rest_at_the_mean():
    X = np.array([[0.0, 10.0, 5.0], [2.0, 20.0, 7.0], [4.0, 30.0, 9.0]], dtype=np.float32)
    xs, ys, points = feature_plane(X, (2, 0), resolution=5, margin=0.0)
    np.testing.assert_allclose(xs, np.linspace(5, 9, 5))
    np.testing.assert_allclose(ys, np.linspace(0, 4, 5))
    assert points.shape == (25, 3)
    np.testing.assert_allclose(points[:, 1], 20.0)  # the mean of feature 1
    k = 7  # row-major: y outer, x inner
    assert (points[k, 2], points[k, 0]) == (xs[k % 5], ys[k // 5])


def test_plane_needs_two_different_features():
    with pytest.raises(ValueError, match="two different features"):
        feature_plane(np.zeros((3, 2)), (1, 1))


def test_boundary_probabilities_match_the_model_at_grid_points():
    spec = ModelSpec(
        (3,),
        (LayerSpec("Dense", 5, "tanh"), LayerSpec("Dense", 3, "softmax")),
        "sparse_categorical_crossentropy",
    )
    model = build_model(spec, seed=1)
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    grid = decision_boundary(model, X, spec.loss, features=(0, 2), resolution=20)
    assert grid.probabilities.shape == (20, 20, 3) and set(grid.held_at) == {1}
    np.testing.assert_allclose(grid.probabilities.sum(axis=-1), 1, atol=1e-5)
    point = np.array([[grid.xs[4], X[:, 1].mean(), grid.ys[11]]], dtype=np.float32)
    np.testing.assert_allclose(grid.probabilities[11, 4], model.predict(point, verbose=0)[0], atol=1e-5)


def test_class_probabilities_for_each_kind_of_output():
    np.testing.assert_allclose(class_probabilities(np.array([[0.2]]), "binary_crossentropy"), [[0.8, 0.2]])
    np.testing.assert_allclose(
        class_probabilities(np.array([[-0.5], [3.0]]), "hinge"), [[0.75, 0.25], [0, 1]]
    )
    softmax = np.array([[0.1, 0.7, 0.2]])
    np.testing.assert_array_equal(class_probabilities(softmax, "sparse_categorical_crossentropy"), softmax)
    assert predicted_labels(np.array([[0.2], [0.9]]), "binary_crossentropy").tolist() == [0, 1]


def test_network_outputs_equal_predict_and_misclassified_rows_are_found():
    spec = ModelSpec((2,), (LayerSpec("Dense", 4), LayerSpec("Dense", 1, "sigmoid")), "binary_crossentropy")
    model = build_model(spec, seed=2)
    X = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(network_outputs(model, X, batch_size=16), expected, atol=1e-6)
    labels = (expected[:, 0] > 0.5).astype(int)
    flipped = labels.copy()
    flipped[[3, 17]] = 1 - flipped[[3, 17]]
    assert misclassified_indices(model, X, flipped, spec.loss).tolist() == [3, 17]


def test_neuron_maps_are_each_units_output_over_the_plane():
    import keras

    from nnviz.explain.boundary import feature_plane, neuron_maps

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    X = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    xs, ys, maps = neuron_maps(model, X, features=(2, 0), resolution=9)
    assert [position for position, _ in maps] == [0, 2]  # the Dense layers' places in model.layers
    _, _, points = feature_plane(X, (2, 0), resolution=9)
    kernel, bias = model.layers[0].get_weights()
    hidden = np.tanh(points @ kernel + bias)  # by hand: the first layer's units at every grid point
    first_layer = maps[0][1]  # (units, 9, 9)
    np.testing.assert_allclose(first_layer[1].reshape(-1), hidden[:, 1], atol=1e-5)
    np.testing.assert_allclose(maps[-1][1][0].reshape(-1), model.predict(points, verbose=0)[:, 0], atol=1e-5)


# Views other than two features: the most informative pair, the PCA plane and a single feature.


def _best_pair_by_sklearn(X, y):
    """Independently: scikit-learn's NearestCentroid on each standardised pair, best training accuracy."""
    Z = StandardScaler().fit_transform(X)
    scores = {
        pair: NearestCentroid().fit(Z[:, pair], y).score(Z[:, pair], y)
        for pair in combinations(range(X.shape[1]), 2)
    }
    best = max(scores.values())
    return [pair for pair, score in scores.items() if score == best]


def test_iris_defaults_to_petal_length_by_petal_width():
    iris = load_iris()
    assert informative_pair(iris.data, iris.target) == (2, 3)
    assert [iris.feature_names[k] for k in (2, 3)] == ["petal length (cm)", "petal width (cm)"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pair_that_separates_the_classes_is_found_among_noise(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 7))
    X[:, 5] += 3.0 * (y == 1)  # only features 5 and 2 carry the classes, each half of them
    X[:, 2] += 3.0 * (y == 2)
    X[:, 4] = 7.0  # a constant column is harmless
    assert informative_pair(X, y) == (2, 5)
    assert informative_pair(X, y) in _best_pair_by_sklearn(X, y)


def test_the_informative_pair_agrees_with_sklearn_on_real_data():
    wine = load_wine()
    assert informative_pair(wine.data, wine.target) in _best_pair_by_sklearn(wine.data, wine.target)


def test_the_pca_plane_is_sklearns_pca_mapped_back_with_the_inverse_transform():
    iris = load_iris()
    X = iris.data.astype(np.float32)
    grid = input_grid(X, PCA_PLANE, resolution=7)
    pca = PCA(n_components=2).fit(X.astype(np.float64))
    np.testing.assert_allclose(grid.explained, pca.explained_variance_ratio_, rtol=1e-6)
    signs = np.sign(np.sum(grid.components * pca.components_, axis=1))  # a component's sign is arbitrary
    np.testing.assert_allclose(grid.components, pca.components_ * signs[:, None], atol=1e-6)
    np.testing.assert_allclose(grid.project(X), pca.transform(X) * signs, atol=1e-4)
    xs, ys = grid.coords
    scores = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(grid.points, pca.inverse_transform(scores * signs), atol=1e-4)
    assert grid.axis_titles(iris.feature_names) == ("PC1 (92 % of variance)", "PC2 (5 % of variance)")
    assert grid.held_at == {} and "principal components" in grid.note(iris.feature_names)
    scores_of_data = grid.project(X)
    assert xs[0] < scores_of_data[:, 0].min() and scores_of_data[:, 0].max() < xs[-1]  # the data fits


def test_one_feature_varies_along_a_line_with_the_others_at_their_mean():
    X = np.array([[0.0, 10.0, 5.0], [2.0, 20.0, 7.0], [4.0, 30.0, 9.0]], dtype=np.float32)
    grid = input_grid(X, (1,), resolution=11, margin=0.0)
    assert len(grid.coords) == 1 and grid.points.shape == (11, 3)
    np.testing.assert_allclose(grid.points[:, 1], np.linspace(10, 30, 11))
    np.testing.assert_allclose(grid.points[:, [0, 2]], np.tile([2.0, 7.0], (11, 1)))
    assert grid.held_at == {0: 2.0, 2: 7.0}


def test_a_single_feature_dataset_gets_a_line_boundary_and_line_neuron_maps():
    spec = ModelSpec(
        (1,), (LayerSpec("Dense", 3, "tanh"), LayerSpec("Dense", 1, "sigmoid")), "binary_crossentropy"
    )
    model = build_model(spec, seed=4)
    X = np.random.default_rng(2).normal(size=(30, 1)).astype(np.float32)
    grid = decision_boundary(model, X, spec.loss, features=(0,), resolution=40)
    assert grid.probabilities.shape == (40, 2) and grid.ys is None and grid.held_at == {}
    expected = model.predict(grid.grid.points, verbose=0)[:, 0]
    np.testing.assert_allclose(grid.probabilities[:, 1], expected, atol=1e-5)
    xs, ys, maps = neuron_maps(model, X, features=BoundaryAxes((0,)), resolution=25)
    assert ys is None and [m.shape for _, m in maps] == [(3, 25), (1, 25)]
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(maps[0][1].T, np.tanh(xs[:, None] @ kernel + bias), atol=1e-5)


def test_neuron_maps_over_the_pca_plane_use_the_mapped_back_points():
    spec = ModelSpec(
        (4,),
        (LayerSpec("Dense", 2, "relu"), LayerSpec("Dense", 3, "softmax")),
        "sparse_categorical_crossentropy",
    )
    model = build_model(spec, seed=0)
    X = load_iris().data.astype(np.float32)
    _, _, maps = neuron_maps(model, X, features=PCA_PLANE, resolution=9)
    points = input_grid(X, PCA_PLANE, resolution=9).points
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(maps[0][1].reshape(2, -1).T, np.maximum(points @ kernel + bias, 0), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"features": (1, 1)}, "two different features"),
        ({"features": (0, 1, 2)}, "one or two features"),
        ({"features": ()}, "one or two features"),
        ({"features": (0,), "pca": True}, "no feature axes"),
    ],
)
def test_boundary_axes_refuse_what_cannot_be_drawn(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BoundaryAxes(**kwargs)


def test_a_grid_refuses_a_feature_the_data_lacks_and_pca_of_one_feature():
    with pytest.raises(ValueError, match="Feature 3 does not exist: the data has 2 features"):
        input_grid(np.zeros((4, 2)), (0, 3))
    with pytest.raises(ValueError, match="at least two features"):
        input_grid(np.zeros((4, 1)), PCA_PLANE)
