"""The Train page's live charts as Vega-Lite specs whose numbers travel as named datasets.

Streamlit (1.67) replaces a plotly chart's element whenever its figure changes, so a chart redrawn
a few times a second is thrown away and drawn from scratch each time: blank frames. A Vega-Lite
chart whose spec stays byte-for-byte the same and whose datasets change is updated in place by the
browser (Streamlit swaps the datasets of the existing Vega view). So everything that moves during a
run lives in the datasets, and everything in the spec (encodings, axis ranges, titles, colours)
stays fixed for the whole run.

:func:`history_panel` is one panel of the loss chart (loss, or the metric), :func:`boundary_chart`
the decision boundary (class colours blended by probability on a coarse grid, data points on top),
:func:`probability_chart` its 1-D form (one feature: each class's probability against it, the data
as a strip), :func:`regression_chart` predicted against actual values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nnviz.explain.boundary import BoundaryGrid
from nnviz.views.figures import CLASS_COLORS
from nnviz.views.style import PROJECTOR

TRAINING, VALIDATION, RUNNING = "#0072B2", "#D55E00", "#0072B2"
BOUNDARY_CELLS = 50  # per axis: the grid is thinned to about this many cells for the browser


def _config(height: int) -> dict:
    """Size and lettering; larger for a projector (see :mod:`nnviz.views.style`)."""
    projector = PROJECTOR.get()
    size = 22 if projector else 13
    return {
        "height": round(height * 1.25) if projector else height,
        "config": {
            # long names (a CSV's column headers) end in "…" instead of running over the chart
            "axis": {"labelFontSize": size, "titleFontSize": size + 2, "titleLimit": 420, "labelLimit": 180},
            "legend": {"labelFontSize": size, "titleFontSize": size, "orient": "bottom", "labelLimit": 240},
            "title": {"fontSize": size + 4},
        },
        "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
    }


def history_panel(
    history: Sequence[dict[str, float]],
    name: str,
    *,
    title: str,
    running: tuple[float, dict[str, float]] | None = None,
    marker_epoch: int | None = None,
    last_epoch: int | None = None,
) -> dict:
    """One panel of the loss chart: ``name`` (``loss``, ``accuracy`` or ``mae``) per epoch, training
    solid and validation dashed.

    Args:
        history: one dict per epoch with ``name`` and optionally ``val_`` + ``name``.
        name: which number to draw.
        title: the panel's title.
        running: ``(x, logs)`` for an epoch in progress: its training value so far, an open circle
            at fractional epoch ``x``.
        marker_epoch: a vertical line at this epoch (the look back's position).
        last_epoch: the epoch the run in progress ends at; the axis spans to it from the start.

    Returns:
        A Vega-Lite spec with datasets ``curves``, ``running`` and ``marker`` (always all three, so
        the spec itself does not change while only the numbers do).
    """
    rows = [
        {"epoch": epoch, "series": series, "value": row[prefix + name]}
        for epoch, row in enumerate(history, start=1)
        for prefix, series in (("", "training"), ("val_", "validation"))
        if prefix + name in row and np.isfinite(row[prefix + name])
    ]
    running_rows = (
        []
        if running is None or name not in running[1]
        else [{"epoch": running[0], "value": running[1][name]}]
    )
    end = max(len(history), 2, last_epoch or 0, int(np.ceil(running[0])) if running else 0)
    epoch_axis = {"field": "epoch", "type": "quantitative", "title": "epoch", "scale": {"domain": [1, end]}}
    value_axis = {"field": "value", "type": "quantitative", "title": None}
    if name == "accuracy":
        value_axis["scale"] = {"domain": [0, 1.02]}
    line_width = 5 if PROJECTOR.get() else 3
    return {
        "title": title,
        # Fixed column types, also for no rows: a dataset whose types change makes the browser
        # build the chart anew instead of updating it.
        "datasets": {
            "curves": pd.DataFrame(rows, columns=["epoch", "series", "value"]).astype(
                {"epoch": "float64", "series": "str", "value": "float64"}
            ),
            "running": pd.DataFrame(running_rows, columns=["epoch", "value"]).astype("float64"),
            "marker": pd.DataFrame(
                {"epoch": [marker_epoch] if marker_epoch is not None else []}, dtype="float64"
            ),
        },
        "layer": [
            {
                "data": {"name": "curves"},
                "mark": {"type": "line", "strokeWidth": line_width, "clip": True},
                "encoding": {
                    "x": epoch_axis,
                    "y": value_axis,
                    "color": {
                        "field": "series",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["training", "validation"], "range": [TRAINING, VALIDATION]},
                    },
                    "strokeDash": {
                        "field": "series",
                        "type": "nominal",
                        "legend": None,
                        "scale": {"domain": ["training", "validation"], "range": [[1, 0], [6, 4]]},
                    },
                },
            },
            {
                "data": {"name": "running"},
                "mark": {"type": "point", "size": 120, "strokeWidth": 3, "color": RUNNING, "clip": True},
                "encoding": {"x": epoch_axis, "y": value_axis},
            },
            {
                "data": {"name": "marker"},
                "mark": {"type": "rule", "strokeWidth": 2, "color": "black"},
                "encoding": {"x": {"field": "epoch", "type": "quantitative"}},
            },
        ],
        "width": "container",
        **_config(300),
    }


def boundary_chart(
    grid: BoundaryGrid,
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    note: str | None = None,
) -> dict:
    """The predicted class over the view's plane, with the data points on top; over a line (one
    feature), see :func:`probability_chart`.

    Each cell has the colour of its most likely class, strong where the network is sure and fading
    to white where the classes are even, so the boundary shows as a soft band. The grid is thinned
    to about ``BOUNDARY_CELLS`` cells per axis, sent as small whole numbers (cell column and row,
    class) and a confidence: the browser places the cells. The axes are two features or the first
    two principal components (the data points projected onto them).

    Returns:
        A Vega-Lite spec with datasets ``cells`` (i, j, class, sure) and ``points`` (x, y, class).
    """
    if grid.ys is None:
        return probability_chart(grid, X, y, feature_names=feature_names, class_names=class_names, note=note)
    every = max(1, len(grid.xs) // BOUNDARY_CELLS)
    xs, ys, probabilities = grid.xs[::every], grid.ys[::every], grid.probabilities[::every, ::every]
    k = probabilities.shape[-1]
    best = probabilities.argmax(axis=-1)
    # 0 where all classes are equally likely, 1 where one is certain
    sure = (probabilities.max(axis=-1) - 1 / k) / (1 - 1 / k) if k > 1 else np.ones(best.shape)
    rows, columns = np.indices(best.shape)
    names = [str(name) for name in class_names]
    cells = pd.DataFrame(
        {
            "i": columns.ravel().astype(np.int16),
            "j": rows.ravel().astype(np.int16),
            "class": best.ravel().astype(np.int8),
            "sure": np.round(sure.ravel(), 2).astype(np.float32),
        }
    )
    placed = grid.grid.project(X)
    points = pd.DataFrame({"x": placed[:, 0], "y": placed[:, 1], "class": [names[c] for c in y]})
    x_title, y_title = grid.grid.axis_titles(feature_names)
    dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    x0, y0 = float(xs[0]), float(ys[0])
    x_axis = {
        "type": "quantitative",
        "title": x_title,
        "scale": {"domain": [x0, float(xs[-1]) + dx], "nice": False},
    }
    y_axis = {
        "type": "quantitative",
        "title": y_title,
        "scale": {"domain": [y0, float(ys[-1]) + dy], "nice": False},
    }
    colours = _class_colours(len(names))
    size = 110 if PROJECTOR.get() else 45
    return {
        "datasets": {"cells": cells, "points": points},
        "layer": [
            {
                "data": {"name": "cells"},
                "transform": [
                    {"calculate": f"{x0!r} + datum.i * {dx!r}", "as": "x"},
                    {"calculate": f"datum.x + {dx!r}", "as": "x2"},
                    {"calculate": f"{y0!r} + datum.j * {dy!r}", "as": "y"},
                    {"calculate": f"datum.y + {dy!r}", "as": "y2"},
                    {"calculate": "0.08 + 0.47 * datum.sure", "as": "strength"},
                ],
                "mark": {"type": "rect", "clip": True},
                "encoding": {
                    "x": {"field": "x", **x_axis},
                    "x2": {"field": "x2"},
                    "y": {"field": "y", **y_axis},
                    "y2": {"field": "y2"},
                    "color": {
                        "field": "class",
                        "type": "nominal",
                        "legend": None,
                        "scale": {"domain": list(range(len(names))), "range": colours},
                    },
                    "opacity": {"field": "strength", "type": "quantitative", "scale": None},
                },
            },
            _points_layer(names, x_axis, y_axis, size),
        ],
        **({"title": {"text": "", "subtitle": note}} if note else {}),
        "width": "container",
        **_config(420),
    }


PROBABILITY_POINTS = 150  # per line: the 1-D view's curves are thinned to about this many points
_STRIP = 0.07  # height of each class's row of data points below the probability axis


def probability_chart(
    grid: BoundaryGrid,
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    note: str | None = None,
) -> dict:
    """The 1-D view: each class's probability against the one feature on the axis, one line per
    class, with the data points as a strip below it (a row per class, in the class's colour).

    Returns:
        A Vega-Lite spec with datasets ``curves`` (x, class, p) and ``points`` (x, y, class); the
        spec (axes, colours, rows) is the same whatever the probabilities.
    """
    every = max(1, len(grid.xs) // PROBABILITY_POINTS)
    xs, probabilities = grid.xs[::every], grid.probabilities[::every]
    names = [str(name) for name in class_names]
    k = len(names)
    curves = pd.DataFrame(
        {
            "x": np.repeat(xs.astype(np.float64), k),
            "class": np.tile(np.array(names, dtype=object), len(xs)),
            "p": probabilities[:, :k].astype(np.float64).ravel(),
        }
    ).astype({"x": "float64", "class": "str", "p": "float64"})
    placed = grid.grid.project(X)[:, 0]
    labels = np.asarray(y, dtype=int)
    points = pd.DataFrame(
        {
            "x": placed.astype(np.float64),
            "y": -_STRIP * (labels + 0.5),  # class c's row lies between -(c+1) and -c strips
            "class": [names[c] for c in labels],
        }
    )
    [x_title] = grid.grid.axis_titles(feature_names)
    x_axis = {
        "type": "quantitative",
        "title": x_title,
        "scale": {"domain": [float(xs[0]), float(xs[-1])], "nice": False},
    }
    y_axis = {
        "type": "quantitative",
        "title": "probability (data points below)",
        "scale": {"domain": [-_STRIP * k, 1.02], "nice": False},
        "axis": {"values": [0, 0.25, 0.5, 0.75, 1]},
    }
    colours = _class_colours(k)
    size = 80 if PROJECTOR.get() else 30
    return {
        "datasets": {"curves": curves, "points": points},
        "layer": [
            {
                "data": {"name": "curves"},
                "mark": {"type": "line", "strokeWidth": 5 if PROJECTOR.get() else 3, "clip": True},
                "encoding": {
                    "x": {"field": "x", **x_axis},
                    "y": {"field": "p", **y_axis},
                    "color": {
                        "field": "class",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": names, "range": colours},
                    },
                },
            },
            _points_layer(names, x_axis, y_axis, size),
        ],
        **({"title": {"text": "", "subtitle": note}} if note else {}),
        "width": "container",
        **_config(420),
    }


def _class_colours(count: int) -> list[str]:
    return [CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(count)]


def _points_layer(names: list[str], x_axis: dict, y_axis: dict, size: int) -> dict:
    """The data points, coloured by their class (the legend)."""
    return {
        "data": {"name": "points"},
        "mark": {
            "type": "circle",
            "size": size,
            "opacity": 1,
            "stroke": "white",
            "strokeWidth": 1,
            "clip": True,
        },
        "encoding": {
            "x": {"field": "x", **x_axis},
            "y": {"field": "y", **y_axis},
            "color": {
                "field": "class",
                "type": "nominal",
                "title": None,
                "scale": {"domain": names, "range": _class_colours(len(names))},
            },
        },
    }


def regression_chart(actual: np.ndarray, predicted: np.ndarray, *, target_name: str) -> dict:
    """Predicted against actual values of the test rows, with the line where they are equal.

    Returns:
        A Vega-Lite spec with dataset ``rows`` (actual, predicted); the axes span the actual values.
    """
    low, high = float(np.min(actual)), float(np.max(actual))
    pad = (high - low) * 0.05 or 1.0
    domain = [low - pad, high + pad]
    axis = {"type": "quantitative", "scale": {"domain": domain, "nice": False}}
    return {
        "datasets": {
            "rows": pd.DataFrame(
                {"actual": np.asarray(actual, dtype=float), "predicted": np.asarray(predicted, dtype=float)}
            ),
            "equal": pd.DataFrame({"actual": domain, "predicted": domain}),
        },
        "layer": [
            {
                "data": {"name": "equal"},
                "mark": {"type": "line", "color": "black", "strokeDash": [4, 4]},
                "encoding": {"x": {"field": "actual", **axis}, "y": {"field": "predicted", **axis}},
            },
            {
                "data": {"name": "rows"},
                "mark": {"type": "circle", "size": 30, "opacity": 0.6, "color": TRAINING, "clip": True},
                "encoding": {
                    "x": {"field": "actual", **axis, "title": f"actual {target_name}"},
                    "y": {"field": "predicted", **axis, "title": f"predicted {target_name}"},
                },
            },
        ],
        "width": "container",
        **_config(420),
    }
