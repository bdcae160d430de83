"""Figure builders: the traces a user should see are there, with the data they were given."""

import html

import numpy as np
import pytest

from nnviz.views import figures


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
    from nnviz.views.style import projector_style

    normal = figures.weights_figure(np.ones((3, 2)), None, title="W")
    with projector_style(True):
        projected = figures.weights_figure(np.ones((3, 2)), None, title="W")
    after = figures.weights_figure(np.ones((3, 2)), None, title="W")
    assert projected.layout.font.size >= 1.5 * normal.layout.font.size
    assert projected.layout.height > normal.layout.height
    assert after.layout.font.size == normal.layout.font.size


def test_filters_are_all_drawn_or_the_title_says_which_are():
    import numpy as np

    from nnviz.views.figures import kernels_figure

    grey = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 1, 32)))
    assert len(grey.data) == 32  # one map per filter of a grey-image convolution
    deep = kernels_figure(np.random.default_rng(0).normal(size=(3, 3, 12, 20)))
    assert len(deep.data) == 16 * 8
    assert deep.layout.title.text == "the first 16 of 20 filters, over the first 8 of 12 input channels"


def _title_overlaps(fig, plot_px: float) -> list[tuple[str, str]]:
    """Pairs of subplot titles on one row whose text would overlap when the plot is ``plot_px`` wide
    (text width estimated generously: 0.6 × font size per character, the default font if unset)."""
    titles = [a for a in fig.layout.annotations if a.yref == "paper" and a.text]
    font = fig.layout.font.size or 12
    clashes = []
    for a in titles:
        for b in titles:
            if a is b or abs(a.y - b.y) > 1e-9 or a.x >= b.x:
                continue
            size_a, size_b = (t.font.size or font for t in (a, b))
            half_widths = 0.3 * (len(a.text) * size_a + len(b.text) * size_b)
            if (b.x - a.x) * plot_px < half_widths + 4:
                clashes.append((a.text, b.text))
    return clashes


@pytest.mark.parametrize(
    ("channels", "columns", "plot_px"),
    [
        (1, 4, 280),  # the input of a first Conv2D, a third of the page
        (8, 4, 280),  # 8 channels as the input of the next layer
        (16, 4, 280),
        (64, 4, 280),
        (8, 4, 560),  # activation maps, two thirds of the page
        (32, 4, 560),
        (8, 8, 800),  # neuron maps of the look back, the whole page
        (100, 8, 800),  # more than are drawn: the title says which
    ],
)
def test_map_titles_never_run_into_each_other(channels, columns, plot_px):
    fig = figures.channel_grid_figure(np.zeros((6, 6, channels)), name="filter", columns=columns)
    assert not _title_overlaps(fig, plot_px)
    shown = min(channels, 64)
    assert len(fig.data) == shown
    assert [a.text for a in fig.layout.annotations][:shown] == [str(k) for k in range(shown)]


@pytest.mark.parametrize("filters", [1, 8, 16, 32, 64])
def test_grey_image_kernels_have_room_and_their_numbers_written_in(filters):
    kernel = np.random.default_rng(filters).normal(size=(3, 3, 1, filters)) * 0.2
    fig = figures.kernels_figure(kernel)
    assert not _title_overlaps(fig, 800)  # drawn across the whole page
    rows = -(-filters // 8)
    assert (fig.layout.height - 60) / rows >= 120  # each 3×3 kernel at least ~100 px tall
    for f, heatmap in enumerate(fig.data):
        np.testing.assert_allclose(np.asarray(heatmap.text, dtype=float), np.round(kernel[::-1, :, 0, f], 2))
        assert heatmap.texttemplate == "%{text}"
    limits = {(h.zmin, h.zmax) for h in fig.data}
    assert len(limits) == 1  # one colour scale: the filters compare


def test_deep_kernels_are_annotated_when_small_and_left_plain_when_large():
    small = figures.kernels_figure(np.ones((3, 3, 4, 2)))
    assert all(h.texttemplate == "%{text}" for h in small.data)
    assert small.layout.height >= 2 * 100
    large = figures.kernels_figure(np.ones((5, 5, 4, 2)))
    assert all(h.texttemplate is None for h in large.data)  # 25 numbers would not fit a small map


@pytest.mark.parametrize("classes", [2, 3, 10, 26])
def test_class_balance_labels_every_class(classes):
    names = tuple(str(k) for k in range(classes))  # MNIST's digits look numeric to plotly
    y = np.arange(classes).repeat(3)
    fig = figures.class_balance_figure(y, y, class_names=names, target_name="digit")
    assert fig.layout.xaxis.type == "category"
    assert list(fig.layout.xaxis.tickvals) == list(names) and list(fig.layout.xaxis.ticktext) == list(names)


# Plotly renders a subset of HTML in every label (<a href> becomes a link, <b>, <span style>, <br>):
# names from a CSV header or its class column must reach a figure as text.
HOSTILE_NAMES = (
    "<a href='http://evil.example/x'>log in</a>",
    "<b>bold</b><br><span style='color:red'>red</span>",
    "<img src='http://evil.example/p.png'>",
)
RAW_TAGS = ("<a ", "<a>", "<b>", "<img", "<span", "<i>", "<sup>", "<em>")


def _strings(value):
    """Every string in a figure's JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for item in list(value):
            yield from _strings(item)


def _hostile_figures():
    from nnviz.explain.diagram import dense_chain, network_picture

    rng = np.random.default_rng(0)
    names = list(HOSTILE_NAMES)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    chain = dense_chain([("Dense", [rng.normal(size=(3, 4)), rng.normal(size=4)])])
    yield figures.feature_scatter_figure(
        X, y, (0, 1), feature_names=names, class_names=names, target_name=names[2]
    )
    yield figures.feature_scatter_figure(
        X, X[:, 2], (0, 1), feature_names=names, class_names=(), target_name=names[2]
    )
    yield figures.confusion_figure(np.eye(3, dtype=int), names)
    yield figures.class_balance_figure(y, y, class_names=names, target_name=names[0])
    yield figures.class_balance_figure(X[:, 0], X[:, 1], class_names=(), target_name=names[0])
    yield figures.digit_grid_figure(rng.integers(0, 255, size=(3, 28, 28)), names)
    yield figures.predicted_vs_actual_figure(X[:, 0], X[:, 1], target_name=names[0])
    yield figures.residuals_figure(X[:, 0], X[:, 1], target_name=names[1])
    yield figures.values_figure(X[0], title="The input", names=names)
    yield figures.network_figure(network_picture(chain), input_names=names)


def test_hostile_names_reach_plotly_as_text_never_as_tags():
    shown = []
    for fig in _hostile_figures():
        strings = list(_strings(fig.to_plotly_json()))
        assert not [s for s in strings if any(tag in s for tag in RAW_TAGS)], strings
        shown += strings
    # The names are still there, as entities plotly shows as the characters themselves.
    for name in HOSTILE_NAMES:
        assert any(html.escape(name, quote=False) in s for s in shown)


# --- figures are built once per content and shared (a rerun or another session reuses them) ---


def _fresh_memo(monkeypatch):
    from collections import OrderedDict

    monkeypatch.setattr(figures, "_memo", OrderedDict())


def test_same_values_give_the_same_figure_without_building_it_again(monkeypatch):
    _fresh_memo(monkeypatch)
    calls = []
    build = figures.weights_figure.uncached
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(4, 8)), rng.normal(size=8)
    counted = figures.memoised(lambda *a, **k: calls.append(1) or build(*a, **k))
    first = counted(W, b, title="")
    again = counted(W.copy(), b.copy(), title="")  # new arrays, same numbers: a rerun
    assert again is first and len(calls) == 1
    # every input that changes the picture gives another figure
    changed_weight = W.copy()
    changed_weight[2, 3] += 1e-6
    others = [
        counted(changed_weight, b, title=""),
        counted(W, b + 1, title=""),
        counted(W, None, title=""),
        counted(W, b, title="Layer 1"),
        counted(W.astype(np.float32), b, title=""),  # another dtype: other numbers on hover
        counted(W.reshape(8, 4), b[:4], title=""),  # the same bytes in another shape
    ]
    assert len(calls) == 7 and len({id(f) for f in [first, *others]}) == 7
    np.testing.assert_allclose(np.asarray(others[0].data[0].z)[2, 3], W[2, 3] + 1e-6)


def test_memoised_figure_equals_a_freshly_built_one(monkeypatch):
    _fresh_memo(monkeypatch)
    y_train, y_test = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 2])
    kwargs = {"class_names": ["a", "b", "c"], "target_name": "t"}
    figures.class_balance_figure(y_train, y_test, **kwargs)
    shared = figures.class_balance_figure(y_train.copy(), y_test.copy(), **kwargs)
    assert shared.to_dict() == figures.class_balance_figure.uncached(y_train, y_test, **kwargs).to_dict()
    assert list(shared.data[0].y) == [1, 2, 3] and list(shared.data[1].y) == [1, 0, 1]


def test_projector_setting_is_part_of_what_a_figure_is_kept_by(monkeypatch):
    from nnviz.views.style import projector_style

    _fresh_memo(monkeypatch)
    W = np.ones((2, 2))
    plain_fig = figures.weights_figure(W, None, title="")
    with projector_style(True):
        big = figures.weights_figure(W, None, title="")
    assert big is not plain_fig and big.layout.font.size > plain_fig.layout.font.size
    assert figures.weights_figure(W, None, title="") is plain_fig


def test_large_arrays_are_known_by_identity_and_the_memo_is_bounded(monkeypatch):
    _fresh_memo(monkeypatch)
    monkeypatch.setattr(figures, "_HASHED_BYTES", 64)  # everything larger counts as "large"
    monkeypatch.setattr(figures, "MEMO_ENTRIES", 3)
    big = np.arange(100.0).reshape(10, 10)
    first = figures.values_figure(big, title="")
    assert figures.values_figure(big, title="") is first  # the same array object
    assert figures.values_figure(big.copy(), title="") is not first  # another object: built again
    for k in range(5):
        figures.values_figure(np.full(3, float(k)), title="")
    assert len(figures._memo) == 3


def test_arguments_without_a_value_are_never_memoised(monkeypatch):
    _fresh_memo(monkeypatch)

    class Mutable:  # an object whose contents could change under the same identity
        def __init__(self):
            self.values = [1.0]

    calls = []
    counted = figures.memoised(lambda thing: calls.append(thing.values[0]) or figures.go.Figure())
    thing = Mutable()
    counted(thing)
    thing.values[0] = 2.0
    counted(thing)
    assert calls == [1.0, 2.0] and len(figures._memo) == 0
