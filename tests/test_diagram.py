"""The network picture: every connection of a small network, the strongest ones of a large one."""

import numpy as np
import pytest

from nnviz.explain.diagram import dense_chain, network_picture
from nnviz.views.figures import network_figure


def _chain(*widths, seed=0):
    rng = np.random.default_rng(seed)
    return [("Dense", rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in zip(widths, widths[1:])]


def test_a_small_network_is_drawn_whole_with_its_true_weights_and_biases():
    chain = _chain(2, 8, 8, 1)
    picture = network_picture(chain)
    assert [len(s) for s in picture.shown] == [2, 8, 8, 1] and picture.hidden == [0, 0, 0, 0]
    assert len(picture.edges) == picture.total_edges == 2 * 8 + 8 * 8 + 8
    for edge in picture.edges:
        assert edge.weight == chain[edge.layer][1][edge.source, edge.target]
    np.testing.assert_array_equal(picture.biases[2], chain[1][2])


def test_a_wide_network_collapses_neurons_and_keeps_the_strongest_connections():
    chain = _chain(784, 64, 10, seed=1)
    picture = network_picture(chain, max_nodes=12, max_edges=100)
    assert [len(s) for s in picture.shown] == [11, 11, 10]
    assert picture.hidden == [784 - 11, 64 - 11, 0]
    assert len(picture.edges) <= 100
    for k in range(2):  # within each pair of columns, no connection left out is stronger than one drawn
        drawn = [e for e in picture.edges if e.layer == k]
        block = np.abs(chain[k][1][np.ix_(picture.shown[k], picture.shown[k + 1])])
        weakest_drawn = min(abs(e.weight) for e in drawn)
        assert np.sum(block > weakest_drawn) <= len(drawn)


def test_layers_without_weights_are_passed_over_and_convolutions_are_refused():
    kernel, bias = np.ones((3, 4)), np.zeros(4)
    chain = dense_chain(
        [
            ("Flatten", []),
            ("Dense", [kernel, bias]),
            ("Dropout", []),
            ("Dense", [np.ones((4, 2)), np.zeros(2)]),
        ]
    )
    assert [k.shape for _, k, _ in chain] == [(3, 4), (4, 2)]
    with pytest.raises(ValueError, match="Dense layers only, not Conv2D"):
        dense_chain([("Conv2D", [np.ones((3, 3, 1, 8)), np.zeros(8)])])


def test_the_figure_colours_connections_by_sign_and_hovers_every_value():
    chain = [("Dense", np.array([[0.5, -2.0]]), np.array([0.1, -0.3]))]
    figure = network_figure(network_picture(chain), input_names=["x1"])
    lines = [t for t in figure.data if t.mode == "lines"]
    assert {t.line.color for t in lines} == {"#0072B2", "#D55E00"}
    hover = [text for t in figure.data if t.hovertext for text in t.hovertext]
    assert "x1 → Dense 1, unit 1: w = -2" in hover
    assert any("bias b = -0.3" in text for text in hover)
