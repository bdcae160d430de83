"""Counted words: singular for one, plural otherwise, irregular plurals as given."""

import pytest

from nnviz.views.words import plural


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [
        (1, "unit", "1 unit"),
        (2, "unit", "2 units"),
        (0, "unit", "0 units"),
        (1, "bias", "1 bias"),
        (8, "bias", "8 biases"),
        (1, "comparison", "1 comparison"),
        (3, "comparison", "3 comparisons"),
        (1, "input channel", "1 input channel"),
        (3, "input channel", "3 input channels"),
        (2, "class", "2 classes"),
        (2, "box", "2 boxes"),
        (2, "batch", "2 batches"),
        (2, "epoch", "2 epochs"),  # a "ch" said as k: not "epoches"
        (30, "epoch", "30 epochs"),
        (2, "weight array", "2 weight arrays"),
        (2, "empty or NaN value", "2 empty or NaN values"),
        (1024, "filter", "1,024 filters"),
        (-1, "unit", "-1 units"),
    ],
)
def test_one_is_singular_and_every_other_count_plural(count, word, expected):
    assert plural(count, word) == expected


def test_an_irregular_plural_is_used_as_given():
    assert plural(2, "matrix", "matrices") == "2 matrices" and plural(1, "matrix", "matrices") == "1 matrix"


def _summary(*layers, shape):
    from nnviz.model.spec import ModelSpec, layer_summary

    return [row.explanation for row in layer_summary(ModelSpec(shape, layers, "mse", "adam", 0.01))]


def test_the_build_summary_counts_one_of_a_kind_in_the_singular():
    from nnviz.model.spec import LayerSpec

    dense = _summary(LayerSpec("Dense", 1), LayerSpec("Dense", 2), LayerSpec("Dense", 1), shape=(1,))
    assert dense == [
        "1 input × 1 unit + 1 bias = 2",
        "1 input × 2 units + 2 biases = 4",
        "2 inputs × 1 unit + 1 bias = 3",
    ]
    conv = _summary(
        LayerSpec("Conv2D", filters=1, kernel_size=3),
        LayerSpec("BatchNormalization"),
        LayerSpec("Conv2D", filters=2, kernel_size=1),
        shape=(5, 5, 1),
    )
    assert conv[0].startswith("3×3 kernel × 1 input channel × 1 filter + 1 bias = 10")
    assert conv[1].startswith("4 × 1 channel = 4:")
    assert conv[2].startswith("1×1 kernel × 1 input channel × 2 filters + 2 biases = 4")


@pytest.mark.parametrize("shape", [(3,), (4, 6)])
def test_softmax_is_described_over_the_whole_vector_not_value_by_value(shape):
    from nnviz.model.spec import LayerSpec

    softmax, relu = _summary(
        LayerSpec("Activation", activation="softmax"), LayerSpec("Activation", activation="relu"), shape=shape
    )
    assert "each value" not in softmax and "softmax over the last axis" in softmax
    assert f"its {shape[-1]} values into probabilities summing to 1" in softmax
    assert relu == "no weights: applies relu to each value"  # element-wise activations are value by value


def test_a_network_of_one_connection_says_so_in_the_singular():
    import numpy as np

    from nnviz.explain.diagram import dense_chain, network_picture
    from nnviz.views.figures import network_figure

    picture = network_picture(dense_chain([("Dense", [np.array([[0.5]]), np.array([0.1])])]))
    assert network_figure(picture).layout.title.text.startswith("1 connection;")


@pytest.mark.parametrize(
    ("units", "inputs", "start"),
    [
        (1, 3, "The one neuron multiplies the 3 inputs"),
        (2, 1, "Each of the 2 neurons multiplies the 1 input "),
    ],
)
def test_the_trace_counts_neurons_and_inputs_in_the_singular(units, inputs, start):
    import keras
    import numpy as np

    from nnviz.explain.trace import layer_trace

    model = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(units)])
    assert layer_trace(model, np.ones(inputs, dtype=np.float32))[0].explanation.startswith(start)
