"""The benchmark's pieces run and measure what they say (no timing targets here: see README)."""

import json

import numpy as np

from nnviz import bench
from nnviz.data.datasets import load_two_moons
from nnviz.model.spec import LayerSpec, ModelSpec


def _tiny_case() -> bench.Case:
    spec = ModelSpec((2,), (LayerSpec("Dense", 4), LayerSpec("Dense", 1, "sigmoid")), "binary_crossentropy")
    return bench.Case("tiny", load_two_moons(60), spec, epochs=3, batch_size=8)


def test_plain_fit_and_engine_report_the_same_metrics():
    case = _tiny_case()
    fit_s, fit_logs = bench.plain_fit(case)
    engine_s, engine_logs, redraws, snapshots = bench.engine_with_live_view(case)
    assert fit_s > 0 and engine_s > 0
    assert set(fit_logs) == set(engine_logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert redraws >= 2  # at least the final chart and the final boundary, as the page draws them
    assert snapshots.epochs == [0, 1, 2, 3]  # kept as the app keeps them, for the look back
    assert bench.diagnostics_s(case, snapshots) > 0


def test_cases_follow_the_issue():
    iris, moons, mnist = bench.cases(quick=True)
    assert [layer.label() for layer in iris.spec.layers] == ["Dense(8, relu)", "Dense(3, softmax)"]
    assert (iris.batch_size, iris.validation_split, len(iris.dataset.X_train)) == (32, 0.1, 150)
    assert moons.batch_size == 1 and len(bench._X_y(moons)[0]) == 300
    assert [layer.kind for layer in mnist.spec.layers] == ["Rescaling", "Flatten", "Dense", "Dense"]
    assert mnist.dataset.X_train.dtype == np.uint8


def test_boundary_timing_is_for_a_150_by_150_grid(monkeypatch):
    shapes = []
    real = bench.decision_boundary

    def spy(*args, **kwargs):
        grid = real(*args, **kwargs)
        shapes.append(grid.probabilities.shape)
        return grid

    monkeypatch.setattr(bench, "decision_boundary", spy)
    timings = bench.boundary_ms(repeats=2)
    assert set(shapes) == {(150, 150, 2)} and timings["boundary_ms"] > 0
    json.dumps(timings)  # what --json prints must serialise
