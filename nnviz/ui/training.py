"""The Train page's moving parts: the model kept in the session, and the live progress view."""

from __future__ import annotations

import itertools
import time

import plotly.graph_objects as go
import streamlit as st

from nnviz import figures
from nnviz.boundary import decision_boundary
from nnviz.build import build_model
from nnviz.datasets import Dataset
from nnviz.engine import EpochReport
from nnviz.predict import network_outputs
from nnviz.spec import ModelSpec, metric_name
from nnviz.ui.state import Workspace


def ensure_model(ws: Workspace, spec: ModelSpec, *, seed: int) -> str | None:
    """Make sure ``ws.model`` is built from ``spec``; rebuild (fresh weights) if the spec changed.

    Returns:
        A sentence for the user when an existing trained model had to be replaced, else None.
    """
    if ws.model is not None and ws.model_spec == spec:
        return None
    replaced = ws.model is not None and bool(ws.history)
    reset_model(ws, spec, seed=seed)
    if replaced:
        return (
            "The architecture changed since the last training, so the model was rebuilt with fresh weights."
        )
    return None


def reset_model(ws: Workspace, spec: ModelSpec, *, seed: int) -> None:
    """Build ``spec`` with weights initialised from ``seed`` and forget the training history."""
    ws.model, ws.model_spec, ws.history = build_model(spec, seed=seed), spec, []


def outcome_figure(ws: Workspace, dataset: Dataset, features: tuple[int, int] | None) -> go.Figure | None:
    """The decision boundary (classification) or predicted vs actual (regression); None for images."""
    if dataset.task == "regression":
        predicted = network_outputs(ws.model, dataset.X_test)[:, 0]
        return figures.predicted_vs_actual_figure(dataset.y_test, predicted, target_name=dataset.target_name)
    if features is None:
        return None
    grid = decision_boundary(ws.model, dataset.X_train, ws.model_spec.loss, features=features)
    note = None
    if grid.held_at:
        held = ", ".join(f"{dataset.feature_names[k]} = {v:.2f}" for k, v in grid.held_at.items())
        note = f"Other features held at their training mean: {held}"
    return figures.boundary_figure(
        grid,
        dataset.X_train,
        dataset.y_train,
        feature_names=dataset.feature_names,
        class_names=dataset.class_names,
        note=note,
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class LiveView:
    """Progress bar, history chart and boundary, redrawn while training runs.

    Redraws are throttled (chart at most ``1 / chart_interval_s`` times a second, the boundary less
    often) so drawing never dominates training; the last epoch is always drawn.

    Args:
        ws: the workspace being trained; each report's metrics are appended to ``ws.history`` at once,
            so an interrupted run keeps every finished epoch.
        dataset: the data, for the boundary.
        features: the boundary's two feature indices, or None when no boundary is drawn.
    """

    def __init__(
        self,
        ws: Workspace,
        dataset: Dataset,
        features: tuple[int, int] | None,
        *,
        chart_interval_s: float = 0.1,
        outcome_interval_s: float = 0.5,
    ):
        self.ws, self.dataset, self.features = ws, dataset, features
        self.chart_interval_s, self.outcome_interval_s = chart_interval_s, outcome_interval_s
        self.progress = st.empty()
        chart_col, outcome_col = st.columns(2, gap="large")
        with chart_col:
            st.subheader("Loss and " + ("accuracy" if dataset.class_names else "error"))
            self.chart = st.empty()
        with outcome_col:
            st.subheader("Decision boundary" if dataset.class_names else "Predicted vs actual (test rows)")
            self.outcome = st.empty()
        self._keys = itertools.count()
        self._last_chart = self._last_outcome = float("-inf")

    def draw(self) -> None:
        """Draw the chart and the boundary for the model as it is now."""
        self._draw_chart()
        self._draw_outcome()

    def on_epoch_end(self, report: EpochReport) -> None:
        self.ws.history.append(report.logs)
        self.progress.progress(
            report.epoch / report.epochs,
            text=f"Epoch {report.epoch} of {report.epochs} · "
            + (
                f"finished in {_duration(report.elapsed_s)}"
                if report.epoch == report.epochs
                else f"{_duration(report.elapsed_s)} so far · about {_duration(report.eta_s)} left"
            ),
        )
        now, last = time.perf_counter(), report.epoch == report.epochs
        if last or now - self._last_chart >= self.chart_interval_s:
            self._draw_chart()
        if last or now - self._last_outcome >= self.outcome_interval_s:
            self._draw_outcome()

    def _draw_chart(self) -> None:
        self._last_chart = time.perf_counter()
        if not self.ws.history:
            self.chart.info("The loss curve appears here as soon as training starts.")
            return
        metric = metric_name(self.ws.model_spec.loss)
        self.chart.plotly_chart(figures.history_figure(self.ws.history, metric), key=self._key("history"))

    def _draw_outcome(self) -> None:
        self._last_outcome = time.perf_counter()
        figure = outcome_figure(self.ws, self.dataset, self.features)
        if figure is None:
            self.outcome.info(
                f"A decision boundary needs two input features; {self.dataset.title} has "
                f"{' × '.join(map(str, self.dataset.input_shape))} pixels. Follow one image through the "
                "network on the Inspect page instead."
            )
        else:
            self.outcome.plotly_chart(figure, key=self._key("outcome"))

    def _key(self, name: str) -> str:
        # Each redraw is a new element: a fresh key keeps Streamlit from seeing duplicates.
        return f"live.{name}.{next(self._keys)}"
