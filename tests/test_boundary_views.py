"""The Train page's boundary views beyond two features: the most informative pair by default, the
PCA plane, and a 1-D view for data with a single numeric feature (live and in the look back)."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _choose(at: AppTest, key: str) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.dataset").set_value(key).run()
    assert not at.exception, at.exception
    return at


def _train(at: AppTest, epochs: int) -> AppTest:
    """Train on the Train page and rerun as the live view's timer would until the run is over."""
    at.number_input(key="w.epochs").set_value(epochs).run()
    at.button(key="train.start").click().run()
    for _ in range(200):
        assert not at.exception, at.exception
        if not any(ws.job is not None and ws.job.running for ws in at.session_state["workspaces"].values()):
            break
        at.run()
    at.run()
    assert not at.exception, at.exception
    return at


def _outcome_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of the outcome view (the boundary or its 1-D form), not the loss panels."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    return [
        spec
        for spec in specs
        if any(layer.get("data", {}).get("name") == "points" for layer in spec.get("layer", []))
    ]


def _axis_titles(spec: dict) -> tuple[str, str]:
    encoding = spec["layer"][0]["encoding"]
    return encoding["x"]["title"], encoding["y"]["title"]


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_iris_boundary_starts_on_the_petals_and_offers_the_pca_plane():
    at = _choose(_app(), "iris")
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="train.iris.x").value == 2 and at.selectbox(key="train.iris.y").value == 3
    _train(at, 3)
    [boundary] = _outcome_specs(at)
    assert _axis_titles(boundary) == ("petal length", "petal width")
    assert "sepal length = " in boundary["title"]["subtitle"]  # the others held at their mean
    at.radio(key="train.iris.plane").set_value("pca").run()
    assert not at.exception, at.exception
    assert "train.iris.x" not in {box.key for box in at.selectbox}  # no feature boxes for the PCA plane
    [boundary] = _outcome_specs(at)
    x_title, y_title = _axis_titles(boundary)
    assert x_title.startswith("PC1 (9") and y_title.startswith("PC2 (")  # PC1 carries ~92 % of the variance
    assert "principal components" in boundary["title"]["subtitle"]
    assert "over the plane of PC1" in _texts(at.markdown)  # the look back's neuron maps follow
    at.select_slider(key="replay.iris.epoch").set_value(0).run()
    assert not at.exception and _axis_titles(_outcome_specs(at)[0])[0].startswith("PC1")


def _one_feature_csv(labels: str, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=80)
    names = labels.split("/")
    cut = np.quantile(x, np.linspace(0, 1, len(names) + 1)[1:-1])
    rows = [f"{v:.4f},{names[int(np.searchsorted(cut, v + rng.normal(scale=0.2)))]}" for v in x]
    return ("dose,outcome\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("labels", ["low/high", "low/mid/high"])
def test_a_csv_with_one_numeric_feature_trains_with_a_1d_view(labels):
    at = _choose(_app(), "csv")
    at.get("file_uploader")[0].set_value(("one.csv", _one_feature_csv(labels), "text/csv")).run()
    assert not at.exception and not at.error, _texts(at.error)
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    keys = {widget.key for widget in [*at.selectbox, *at.radio]}
    assert not any(key.startswith("train.csv") for key in keys)  # no axis choice to make
    _train(at, 3)
    assert not at.error, _texts(at.error)
    [view] = _outcome_specs(at)
    assert view["layer"][0]["mark"]["type"] == "line"  # probability against the feature
    assert _axis_titles(view)[0] == "dose"
    names = labels.split("/")
    assert set(view["layer"][0]["encoding"]["color"]["scale"]["domain"]) == set(names)
    assert "along dose" in _texts(at.markdown)  # the look back's neuron responses, as lines
    [look_back] = at.select_slider  # the look back at the starting weights
    look_back.set_value(0).run()
    assert not at.exception, at.exception
    assert "Inside the network after epoch 0" in _texts(at.subheader)
    assert len(_outcome_specs(at)) == 1
    # Evaluate and Inspect work with one feature too, down to a typed value
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception and not at.error, (at.exception, _texts(at.error))
    assert any(metric.label == "Accuracy" for metric in at.metric)
    at.switch_page("pages/inspect.py").run()
    assert not at.exception and not at.error, (at.exception, _texts(at.error))
    at.radio(key="inspect.how").set_value("Type your own").run()
    assert not at.exception and not at.error, (at.exception, _texts(at.error))
    assert any(h.value.startswith("Prediction: ") for h in at.subheader)


def test_a_csv_with_one_numeric_feature_and_a_numeric_target_trains_as_regression():
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    rows = "\n".join(f"{v:.4f},{2 * v + rng.normal(scale=0.1):.4f}" for v in x)
    at = _choose(_app(), "csv")
    at.get("file_uploader")[0].set_value(("line.csv", f"x,y\n{rows}\n".encode(), "text/csv")).run()
    assert not at.exception and not at.error, _texts(at.error)
    at.switch_page("pages/train.py").run()
    _train(at, 2)
    assert not at.error and "Predicted vs actual (test rows)" in _texts(at.subheader)
