"""Figure builders: the traces a user should see are there, with the data they were given."""

import numpy as np

from nnviz import figures


def test_weights_heatmap_adds_the_bias_as_last_row():
    fig = figures.weights_figure(np.ones((3, 2)), np.array([5.0, 6.0]), title="W")
    assert np.asarray(fig.data[0].z).shape == (4, 2) and fig.data[0].y[-1] == "bias"


def test_values_figure_draws_images_as_heatmaps_and_vectors_as_bars():
    assert figures.values_figure(np.zeros((28, 28)), title="").data[0].type == "heatmap"
    bars = figures.values_figure(np.array([1.0, -2.0]), title="", names=["a", "b"]).data[0]
    assert bars.type == "bar" and list(bars.x) == ["a", "b"]


def test_class_balance_counts_rows_per_class():
    fig = figures.class_balance_figure(
        np.array([0, 0, 1]), np.array([1]), class_names=("x", "y"), target_name="t"
    )
    assert [list(t.y) for t in fig.data] == [[2, 1], [0, 1]]


def test_projector_style_enlarges_lettering_only_where_it_is_on():
    from nnviz.style import projector_style

    normal = figures.weights_figure(np.ones((3, 2)), None, title="W")
    with projector_style(True):
        projected = figures.weights_figure(np.ones((3, 2)), None, title="W")
    after = figures.weights_figure(np.ones((3, 2)), None, title="W")
    assert projected.layout.font.size >= 1.5 * normal.layout.font.size
    assert projected.layout.height > normal.layout.height
    assert after.layout.font.size == normal.layout.font.size


def test_filters_are_all_drawn_or_the_title_says_which_are():
    import numpy as np

    from nnviz.figures import kernels_figure

    grey = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 1, 32)))
    assert len(grey.data) == 32  # one map per filter of a grey-image convolution
    deep = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 12, 20)))
    assert len(deep.data) == 16 * 8
    assert deep.layout.title.text == "the first 16 of 20 filters, over the first 8 of 12 input channels"
