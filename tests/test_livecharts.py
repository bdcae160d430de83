"""The live charts' Vega-Lite specs: the numbers given are in the datasets, and the spec stays the
same while only the numbers change (so the browser updates the chart in place)."""

import json

import numpy as np
import pandas as pd

from nnviz.explain.boundary import PCA_PLANE, BoundaryAxes, BoundaryGrid, InputGrid, decision_boundary
from nnviz.views import livecharts
from nnviz.views.style import projector_style


def _plane(features, xs, ys, probabilities, held) -> BoundaryGrid:
    """A boundary over two features with the given grid and probabilities (no model needed)."""
    points = np.zeros((len(xs) * len(ys), 2 + len(held)))
    return BoundaryGrid(InputGrid(BoundaryAxes(features), (xs, ys), points, held), probabilities)


def _spec_without_data(spec: dict) -> str:
    return json.dumps({key: value for key, value in spec.items() if key != "datasets"}, sort_keys=True)


def test_history_panel_has_validation_only_when_there_is_validation_and_a_running_point():
    history = [
        {"loss": 1.0 / k, "accuracy": 0.5, "val_loss": 1.1 / k, "val_accuracy": 0.4} for k in (1, 2, 3)
    ]
    panel = livecharts.history_panel(
        history, "loss", title="Loss", running=(3.5, {"loss": 0.2}), last_epoch=50
    )
    curves = panel["datasets"]["curves"]
    assert sorted(set(curves["series"])) == ["training", "validation"]
    np.testing.assert_allclose(curves[curves.series == "validation"]["value"], [1.1, 0.55, 1.1 / 3])
    assert panel["datasets"]["running"].to_dict("records") == [{"epoch": 3.5, "value": 0.2}]
    without = livecharts.history_panel([{"loss": 1.0, "mae": 0.5}] * 3, "mae", title="MAE")
    assert set(without["datasets"]["curves"]["series"]) == {"training"}
    assert panel["layer"][0]["encoding"]["x"]["scale"]["domain"] == [1, 50]  # the whole run from the start


def test_the_spec_stays_the_same_while_a_run_adds_epochs():
    rows = [{"loss": 1.0 / k, "val_loss": 1.2 / k} for k in range(1, 40)]
    specs = [
        livecharts.history_panel(
            rows[:n], "loss", title="Loss", running=(n + 0.5, {"loss": 0.1}), last_epoch=300
        )
        for n in (5, 20, 39)
    ]
    assert len({_spec_without_data(spec) for spec in specs}) == 1
    assert len({len(spec["datasets"]["curves"]) for spec in specs}) == 3


def test_boundary_cells_carry_the_likeliest_class_and_how_sure_it_is():
    xs, ys = np.linspace(0, 1, 4), np.linspace(0, 2, 5)
    probabilities = np.zeros((5, 4, 2))
    probabilities[..., 0] = 1.0
    probabilities[-1, :, :] = [0.0, 1.0]  # the top row is certain of class 1
    probabilities[0, 0] = [0.5, 0.5]  # one cell undecided
    grid = _plane((0, 1), xs, ys, probabilities, {})
    X = np.array([[0.1, 0.2], [0.5, 1.5], [0.9, 1.9]])
    spec = livecharts.boundary_chart(
        grid, X, np.array([0, 1, 1]), feature_names=("a", "<b>"), class_names=("zero", "one")
    )
    cells: pd.DataFrame = spec["datasets"]["cells"]
    assert len(cells) == 20
    top = cells[cells.j == 4]
    assert set(top["class"]) == {1} and set(cells[cells.j < 4]["class"]) == {0}
    assert cells[(cells.i == 0) & (cells.j == 0)]["sure"].item() == 0.0 and top["sure"].min() == 1.0
    assert spec["datasets"]["points"]["class"].tolist() == ["zero", "one", "one"]
    y_axis = spec["layer"][0]["encoding"]["y"]
    assert y_axis["title"] == "<b>" and y_axis["scale"]["domain"][0] == 0.0  # text, and y goes up


def test_a_finer_grid_is_thinned_for_the_browser_and_changing_probabilities_keep_the_spec():
    xs = ys = np.linspace(-1, 1, 150)
    specs = []
    for bias in (0.2, 0.8):
        p = np.full((150, 150, 3), (1 - bias) / 2)
        p[..., 0] = bias
        grid = _plane((0, 1), xs, ys, p, {2: 0.5})
        X = np.zeros((4, 3))
        specs.append(
            livecharts.boundary_chart(grid, X, np.array([0, 1, 2, 0]), feature_names="abc", class_names="xyz")
        )
    assert len(specs[0]["datasets"]["cells"]) == livecharts.BOUNDARY_CELLS**2
    assert _spec_without_data(specs[0]) == _spec_without_data(specs[1])


def test_regression_chart_draws_every_test_row_and_the_line_of_equality():
    spec = livecharts.regression_chart(
        np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5]), target_name="price"
    )
    assert spec["datasets"]["rows"]["predicted"].tolist() == [1.5, 2.0, 2.5]
    equal = spec["datasets"]["equal"]
    assert equal["actual"].tolist() == equal["predicted"].tolist()


def test_projector_style_enlarges_lettering_and_lines():
    normal = livecharts.history_panel([{"loss": 1.0}] * 3, "loss", title="Loss")
    with projector_style(True):
        projected = livecharts.history_panel([{"loss": 1.0}] * 3, "loss", title="Loss")
    assert projected["config"]["axis"]["labelFontSize"] >= 1.5 * normal["config"]["axis"]["labelFontSize"]
    assert projected["layer"][0]["mark"]["strokeWidth"] >= 5 and projected["height"] > normal["height"]


class _Fixed:
    """A stand-in model whose outputs are a fixed function of the input (for the chart tests)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, X, training=False):
        return self.fn(np.asarray(X))


def _softmax_of(weights):
    def fn(X):
        z = X @ weights
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype("float32")

    return fn


def test_one_feature_gives_probability_curves_per_class_and_a_strip_of_points():
    X = np.array([[-2.0], [-1.0], [0.5], [3.0]], dtype=np.float32)
    y = np.array([0, 0, 1, 2])
    model = _Fixed(_softmax_of(np.array([[-1.0, 0.0, 1.0]])))
    grid = decision_boundary(model, X, "sparse_categorical_crossentropy", features=(0,), resolution=300)
    assert grid.ys is None and grid.probabilities.shape == (300, 3)
    spec = livecharts.boundary_chart(grid, X, y, feature_names=["dose <mg>"], class_names=("a", "b", "c"))
    curves: pd.DataFrame = spec["datasets"]["curves"]
    assert (
        len(curves) == 3 * len(curves.x.unique()) and len(curves.x.unique()) <= livecharts.PROBABILITY_POINTS
    )
    # By hand: at x the probabilities are softmax(-x, 0, x).
    for _, row in curves.sample(12, random_state=0).iterrows():
        z = np.array([-row.x, 0.0, row.x])
        expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        assert abs(row.p - expected["abc".index(row["class"])]) < 1e-5
    points = spec["datasets"]["points"]
    assert points.x.tolist() == X[:, 0].tolist() and points["class"].tolist() == ["a", "a", "b", "c"]
    assert (points.y < 0).all() and points.y.nunique() == 3  # one row per class, below the probabilities
    x_axis = spec["layer"][0]["encoding"]["x"]
    assert (
        x_axis["title"] == "dose <mg>"
        and x_axis["scale"]["domain"][0] < -2.0 < 3.0 < x_axis["scale"]["domain"][1]
    )


def test_the_one_feature_chart_keeps_its_spec_while_the_probabilities_change():
    X = np.linspace(-1, 1, 20, dtype=np.float32)[:, None]
    y = (X[:, 0] > 0).astype(int)
    specs = []
    for w in (0.1, 5.0):
        model = _Fixed(lambda X, w=w: (1 / (1 + np.exp(-w * X))).astype("float32"))
        grid = decision_boundary(model, X, "binary_crossentropy", features=BoundaryAxes((0,)))
        specs.append(livecharts.boundary_chart(grid, X, y, feature_names=["x"], class_names=("no", "yes")))
    assert _spec_without_data(specs[0]) == _spec_without_data(specs[1])
    assert not specs[0]["datasets"]["curves"].equals(specs[1]["datasets"]["curves"])
    assert sorted(specs[0]["datasets"]["curves"]["class"].unique()) == ["no", "yes"]


def test_the_pca_plane_places_the_points_on_the_components_and_names_the_axes():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(60, 4)) * [3.0, 1.0, 0.3, 0.1]).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = _Fixed(lambda X: (X[:, :1] > 0).astype("float32"))
    grid = decision_boundary(model, X, "binary_crossentropy", features=PCA_PLANE, resolution=60)
    spec = livecharts.boundary_chart(grid, X, y, feature_names="abcd", class_names=("-", "+"))
    titles = [spec["layer"][0]["encoding"][axis]["title"] for axis in ("x", "y")]
    assert titles[0].startswith("PC1 (") and titles[1].startswith("PC2 (") and "% of variance" in titles[0]
    points = spec["datasets"]["points"]
    centred = X - X.mean(axis=0)
    np.testing.assert_allclose(np.abs(points.x), np.abs(centred[:, 0]), atol=0.35)  # PC1 ≈ feature a
    assert np.hypot(points.x, points.y).max() <= np.linalg.norm(centred, axis=1).max() + 1e-4
