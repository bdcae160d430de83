"""Figure builders: the traces a user should see are there, with the data they were given."""

import base64
import io

import numpy as np
from PIL import Image

from nnviz import figures
from nnviz.boundary import BoundaryGrid


def test_history_has_validation_lines_only_when_there_is_validation():
    with_val = figures.history_figure(
        [{"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4}] * 3, "accuracy"
    )
    without = figures.history_figure([{"loss": 1.0, "mae": 0.5}] * 3, "mae")
    assert sorted(t.name for t in with_val.data) == ["training", "training", "validation", "validation"]
    assert [t.name for t in without.data] == ["training", "training"]
    assert list(with_val.data[0].x) == [1, 2, 3]


def test_boundary_image_blends_class_colours_and_plots_every_point():
    xs, ys = np.linspace(0, 1, 4), np.linspace(0, 2, 5)
    probabilities = np.zeros((5, 4, 2))
    probabilities[..., 0] = 1.0
    probabilities[-1, :, :] = [0.0, 1.0]  # the top row is certain of class 1
    grid = BoundaryGrid((0, 1), xs, ys, probabilities, {})
    X = np.array([[0.1, 0.2], [0.5, 1.5], [0.9, 1.9]])
    fig = figures.boundary_figure(
        grid, X, np.array([0, 1, 1]), feature_names=("a", "b"), class_names=("zero", "one")
    )
    png = base64.b64decode(fig.data[0].source.removeprefix("data:image/png;base64,"))
    image = np.asarray(Image.open(io.BytesIO(png)))
    assert image.shape == (5, 4, 3)
    assert not np.array_equal(image[0, 0], image[-1, 0])  # rows follow the probabilities
    assert sum(len(trace.x) for trace in fig.data[1:]) == 3
    assert fig.layout.yaxis.range == (0, 2)  # y goes up, as on a plane


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


def test_projector_style_enlarges_lettering_and_lines_only_where_it_is_on():
    from nnviz.figures import history_figure
    from nnviz.style import projector_style

    history = [{"loss": 1.0 / k, "accuracy": 1 - 1.0 / k} for k in range(1, 6)]
    normal = history_figure(history, "accuracy")
    with projector_style(True):
        projected = history_figure(history, "accuracy")
    after = history_figure(history, "accuracy")
    assert projected.layout.font.size >= 1.5 * normal.layout.font.size
    assert projected.layout.height > normal.layout.height
    assert all(trace.line.width >= 5 for trace in projected.data)
    assert projected.layout.template.layout.plot_bgcolor in ("white", "rgb(255,255,255)")
    assert after.layout.font.size == normal.layout.font.size  # the style ends with the block


def test_filters_are_all_drawn_or_the_title_says_which_are():
    import numpy as np

    from nnviz.figures import kernels_figure

    grey = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 1, 32)))
    assert len(grey.data) == 32  # one map per filter of a grey-image convolution
    deep = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 12, 20)))
    assert len(deep.data) == 16 * 8
    assert deep.layout.title.text == "the first 16 of 20 filters, over the first 8 of 12 input channels"
