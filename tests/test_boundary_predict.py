"""Decision-boundary grids and the step from network outputs to classes."""

import numpy as np
import pytest

from nnviz.boundary import decision_boundary, feature_plane
from nnviz.build import build_model
from nnviz.predict import class_probabilities, misclassified_indices, network_outputs, predicted_labels
from nnviz.spec import LayerSpec, ModelSpec


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

    from nnviz.boundary import feature_plane, neuron_maps

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
