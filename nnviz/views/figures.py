"""Plotly figure builders: arrays in, ``go.Figure`` out. Sized and lettered for a projector."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nnviz.explain.diagram import NetworkPicture
from nnviz.views.style import PROJECTOR
from nnviz.views.words import plural

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
CLASS_COLORS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
)
_FONT = {"size": 15}


# Figures already built, shared by every session: a page reruns on every click and a class looks at
# the same data and (untrained) models, so building a figure again is most of the time wasted.
# Streamlit copies a figure (``to_dict``) before sending it and never changes it, so sharing is safe.
MEMO_ENTRIES = 256
_HASHED_BYTES = 8 << 20  # arrays up to this size are known by their contents, larger ones by identity
_memo: OrderedDict[tuple, go.Figure] = OrderedDict()
_memo_lock = threading.Lock()


class _Same:
    """A large array as part of a memo key: equal only to itself (the key keeps it alive, so its
    id is not reused while the entry exists)."""

    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


def _key_part(value: object) -> object:
    """``value`` as a hashable part of a memo key; TypeError if it has none."""
    if isinstance(value, np.ndarray):
        if value.nbytes > _HASHED_BYTES or value.dtype == object:
            return _Same(value)
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16).digest()
        return ("array", value.shape, value.dtype.str, digest)
    if isinstance(value, (list, tuple, range)):
        return (type(value).__name__, tuple(_key_part(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _key_part(v)) for k, v in sorted(value.items())))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(_key_part(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if value is None or isinstance(value, (str, bytes, int, float, complex, np.generic)):
        return (type(value).__name__, value)
    raise TypeError(f"no value to compare a {type(value).__name__} by")


def memoised(build: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """``build``, remembering its last ``MEMO_ENTRIES`` figures (all builders together) by the
    values of the arguments (arrays by their contents) and the projector setting. The figure
    returned may be shared: never change it, build another."""

    @functools.wraps(build)
    def cached(*args, **kwargs) -> go.Figure:
        try:
            key = (build.__name__, PROJECTOR.get(), _key_part(args), _key_part(kwargs))
        except TypeError:  # an argument that has no value to compare by
            return build(*args, **kwargs)
        with _memo_lock:
            fig = _memo.get(key)
            if fig is not None:
                _memo.move_to_end(key)
                return fig
        fig = build(*args, **kwargs)
        with _memo_lock:
            _memo[key] = fig
            while len(_memo) > MEMO_ENTRIES:
                _memo.popitem(last=False)
        return fig

    cached.uncached = build
    return cached


def _style(fig: go.Figure, *, height: int = 420, title: str | None = None) -> go.Figure:
    projector = PROJECTOR.get()
    fig.update_layout(
        height=round(height * 1.25) if projector else height,
        font={"size": 24, "color": "black"} if projector else _FONT,
        title=title,
        margin={"l": 10, "r": 10, "t": 60 if title else 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    if projector:
        fig.update_layout(template="simple_white")
        fig.update_traces(selector={"type": "scatter"}, line_width=5)
    return fig


def _text(value: object) -> str:
    """A name from the data as plotly text: plotly renders tags like <a href> in labels, data must not."""
    return html.escape(str(value), quote=False)


def _class_color(k: int) -> str:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


@memoised
def predicted_vs_actual_figure(actual: np.ndarray, predicted: np.ndarray, *, target_name: str) -> go.Figure:
    """Regression: each test row as a point; on the dashed diagonal a prediction is exact."""
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    fig = go.Figure(
        [
            go.Scatter(
                x=actual,
                y=predicted,
                mode="markers",
                name="test rows",
                marker={"color": "#0072B2", "size": 6, "opacity": 0.6},
            ),
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                name="perfect prediction",
                line={"color": "#D55E00", "dash": "dash", "width": 2},
            ),
        ]
    )
    fig.update_xaxes(title_text=f"actual {_text(target_name)}")
    fig.update_yaxes(title_text=f"predicted {_text(target_name)}")
    return _style(fig, height=480)


@memoised
def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """The confusion matrix: true classes down, predicted across, each cell's count written in it.

    Colour is the share of the true class (the row), so a class's recall reads along the diagonal
    whatever its size.
    """
    totals = confusion.sum(axis=1, keepdims=True)
    shares = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    names = [_text(name) for name in class_names]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=names,
            y=names,
            text=confusion,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share of<br>true class"}},
            hovertemplate="true %{y}, predicted %{x}: %{text} rows (%{z:.0%})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="predicted", type="category", side="top")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    return _style(fig, height=min(700, 140 + 45 * len(names)))


@memoised
def residuals_figure(predicted: np.ndarray, residuals: np.ndarray, *, target_name: str) -> go.Figure:
    """Regression residuals (true − predicted) against the prediction; a good model scatters them
    evenly around the zero line, with no trend or funnel."""
    fig = go.Figure(
        go.Scatter(
            x=predicted,
            y=residuals,
            mode="markers",
            marker={"color": "#0072B2", "size": 6, "opacity": 0.6},
            hovertemplate="predicted %{x:.3g}, residual %{y:+.3g}<extra></extra>",
            name="test rows",
        )
    )
    fig.add_hline(y=0, line_dash="dash", line_color="black")
    fig.update_xaxes(title_text=f"predicted {_text(target_name)}")
    fig.update_yaxes(title_text="residual (true − predicted)")
    return _style(fig, height=420)


@memoised
def feature_scatter_figure(
    X: np.ndarray,
    y: np.ndarray,
    features: tuple[int, int],
    *,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    target_name: str,
    equal_scale: bool = False,
) -> go.Figure:
    """Two features against each other, coloured by class (or by the target, for regression).

    Args:
        equal_scale: draw one unit the same length on both axes (for features in the same units).
    """
    i, j = features
    if class_names:
        traces = [
            go.Scatter(
                x=X[y == k, i],
                y=X[y == k, j],
                mode="markers",
                name=_text(name),
                marker={"color": _class_color(k), "size": 7, "opacity": 0.8},
            )
            for k, name in enumerate(class_names)
        ]
    else:
        traces = [
            go.Scatter(
                x=X[:, i],
                y=X[:, j],
                mode="markers",
                name=_text(target_name),
                marker={
                    "color": y,
                    "colorscale": "Viridis",
                    "size": 5,
                    "opacity": 0.7,
                    "colorbar": {"title": {"text": _text(target_name)}},
                },
            )
        ]
    fig = go.Figure(traces)
    fig.update_xaxes(title_text=_text(feature_names[i]))
    fig.update_yaxes(title_text=_text(feature_names[j]), scaleanchor="x" if equal_scale else None)
    return _style(fig, height=460)


@memoised
def digit_grid_figure(images: np.ndarray, labels: Sequence[str], *, columns: int = 8) -> go.Figure:
    """A grid of greyscale images (shape ``(n, h, w)``), each titled with its label."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_text(label) for label in labels],
        horizontal_spacing=0.01,
        vertical_spacing=0.06,
    )
    for k, image in enumerate(images):
        fig.add_trace(
            go.Heatmap(
                z=image[::-1],
                colorscale="gray_r",
                showscale=False,
                zmin=0,
                zmax=255,
                hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
            ),
            row=k // columns + 1,
            col=k % columns + 1,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _style(fig, height=150 * rows + 40)


@memoised
def class_balance_figure(
    y_train: np.ndarray, y_test: np.ndarray, *, class_names: Sequence[str], target_name: str
) -> go.Figure:
    """Rows per class in the training and test parts (a histogram of the target for regression)."""
    if class_names:
        names = [_text(name) for name in class_names]
        traces = [
            go.Bar(x=names, y=np.bincount(part, minlength=len(names)), name=label, marker_color=color)
            for part, label, color in ((y_train, "train", "#0072B2"), (y_test, "test", "#E69F00"))
        ]
        fig = go.Figure(traces)
        # A category per class, each labelled: digit names would otherwise make a numeric axis
        # that labels every other digit only.
        fig.update_xaxes(type="category", tickmode="array", tickvals=names, ticktext=names)
        fig.update_yaxes(title_text="rows")
    else:
        fig = go.Figure(
            [
                go.Histogram(x=part, name=label, marker_color=color, opacity=0.7, histnorm="percent")
                for part, label, color in ((y_train, "train", "#0072B2"), (y_test, "test", "#E69F00"))
            ]
        )
        fig.update_layout(barmode="overlay")
        fig.update_xaxes(title_text=_text(target_name))
        fig.update_yaxes(title_text="% of rows")
    return _style(fig, height=340)


@memoised
def values_figure(values: np.ndarray, *, title: str, names: Sequence[str] | None = None) -> go.Figure:
    """One layer's values for one sample: a bar per value, or a heatmap for a 2-D array (an image)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        fig = go.Figure(
            go.Heatmap(
                z=values[::-1],
                colorscale="gray_r",
                showscale=True,
                hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>",
            )
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False, scaleanchor="x")
        return _style(fig, height=320, title=title)
    labels = list(names) if names is not None and len(names) == len(values) else list(range(len(values)))
    colors = np.where(values >= 0, "#0072B2", "#D55E00")
    fig = go.Figure(
        go.Bar(
            x=[_text(label) for label in labels],
            y=values,
            marker_color=colors,
            hovertemplate="%{x}: %{y:.5g}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", showticklabels=len(values) <= 32)
    return _style(fig, height=280, title=title)


@memoised
def gradient_map_figure(gradient: np.ndarray) -> go.Figure:
    """∂L/∂(pixel) over an image, shape ``(height, width)``: red where brightening the pixel would raise
    the loss, blue where it would lower it, centred on zero (a saliency map)."""
    gradient = np.asarray(gradient, dtype=np.float64)
    fig = go.Figure(
        go.Heatmap(
            z=gradient[::-1],
            colorscale="RdBu_r",
            zmid=0,
            hovertemplate="row %{y}, col %{x}: ∂L/∂x = %{z:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _style(fig, height=320, title="")


_ANNOTATED_SIDE = 3  # kernels up to 3×3 have their weights written in their cells


@memoised
def channel_grid_figure(
    values: np.ndarray,
    *,
    name: str = "channel",
    columns: int = 8,
    max_channels: int = 64,
    row_px: int | None = None,
    annotate: bool = False,
    limit: float | None = None,
) -> go.Figure:
    """Each channel of an image-shaped array ``(height, width, channels)`` as its own small heatmap.

    For a Conv2D output these are the activation maps: where in the image each filter responded.
    Each map is titled with its number alone (a title such as "filter 10" is wider than a map in a
    narrow column); the figure's title says what the numbers count.

    Args:
        columns: maps per row; fewer make each map larger.
        row_px: height of one row of maps in pixels (the maps are square, so this sets their size).
        annotate: write each value in its cell (for small kernels).
        limit: one colour scale from -limit to limit for all maps; None gives each map its own.
    """
    values = np.asarray(values, dtype=np.float64)
    shown = min(values.shape[2], max_channels)
    columns = max(1, min(columns, shown))
    rows = -(-shown // columns)
    row_px = row_px or (320 if columns == 1 else 160)  # maps are square: about as tall as they are wide
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[str(k) for k in range(shown)],
        horizontal_spacing=0.02,
        vertical_spacing=min(0.3 / rows, 40 / (row_px * rows)),
    )
    for k in range(shown):
        channel = values[:, :, k]
        scale = {"zmid": 0} if limit is None else {"zmin": -limit, "zmax": limit}
        text = {"text": np.round(channel[::-1], 2), "texttemplate": "%{text}", "textfont": {"size": 11}}
        fig.add_trace(
            go.Heatmap(
                z=channel[::-1],
                colorscale="RdBu",
                showscale=False,
                hovertemplate=f"{name} {k}, row %{{customdata}}, col %{{x}}: %{{z:.4g}}<extra></extra>",
                customdata=np.repeat(np.arange(channel.shape[0])[::-1, None], channel.shape[1], axis=1),
                **scale,
                **(text if annotate else {}),
            ),
            row=k // columns + 1,
            col=k % columns + 1,
        )
    fig.update_annotations(font_size=12)  # the subplot titles
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    title = f"{name}s 0–{shown - 1}" if shown > 1 else f"{name} 0"
    if shown < values.shape[2]:
        title = f"the first {shown} of {values.shape[2]} {name}s"
    return _style(fig, height=row_px * rows + 60, title=title)


@memoised
def kernels_figure(kernel: np.ndarray, *, max_filters: int = 16, max_channels: int = 8) -> go.Figure:
    """A Conv2D kernel ``(height, width, in_channels, filters)``: one row per filter, one column per
    input channel, on one colour scale; a kernel over one input channel is drawn as a grid of all
    its filters (up to 64). Kernels up to 3×3 have their weights written in their cells."""
    kernel = np.asarray(kernel, dtype=np.float64)
    annotate = max(kernel.shape[:2]) <= _ANNOTATED_SIDE
    limit = float(np.abs(kernel).max()) or 1.0  # one colour scale: weights compare across filters
    if kernel.shape[2] == 1:
        return channel_grid_figure(
            kernel[:, :, 0, :], name="filter", columns=8, row_px=130, annotate=annotate, limit=limit
        )
    filters, channels = min(kernel.shape[3], max_filters), min(kernel.shape[2], max_channels)
    fig = make_subplots(
        rows=filters,
        cols=channels,
        row_titles=[f"filter {f}" for f in range(filters)],
        column_titles=[f"in {c}" for c in range(channels)] if channels > 1 else None,
        horizontal_spacing=0.02,
        vertical_spacing=0.02,
    )
    for f in range(filters):
        for c in range(channels):
            cells = kernel[::-1, :, c, f]
            text = {"text": np.round(cells, 2), "texttemplate": "%{text}", "textfont": {"size": 11}}
            fig.add_trace(
                go.Heatmap(
                    z=cells,
                    colorscale="RdBu",
                    zmin=-limit,
                    zmax=limit,
                    showscale=f == 0 and c == 0,
                    colorbar={"len": 250, "lenmode": "pixels", "y": 1, "yanchor": "top"},
                    hovertemplate=f"filter {f}, in {c}: %{{z:.4g}}<extra></extra>",
                    **(text if annotate else {}),
                ),
                row=f + 1,
                col=c + 1,
            )
    fig.update_annotations(font_size=12)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    shown = f"the first {filters} of {kernel.shape[3]} filters" if filters < kernel.shape[3] else None
    if channels < kernel.shape[2]:
        shown = f"{shown or 'all filters'}, over the first {channels} of {kernel.shape[2]} input channels"
    return _style(fig, height=min(110 * filters + 60, 1800), title=shown)


@memoised
def window_figure(window: np.ndarray, kernel: np.ndarray | None) -> go.Figure:
    """One output cell worked out: the input window, the kernel and their products (Conv2D), each
    number written in its cell; for max pooling just the window, its maximum outlined by the title."""
    panels = [("window of x", window)]
    if kernel is not None:
        panels += [("× kernel W", kernel), ("= products (summed)", window * kernel)]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[title for title, _ in panels])
    for k, (_, values) in enumerate(panels, start=1):
        fig.add_trace(
            go.Heatmap(
                z=values[::-1],
                text=np.round(values[::-1], 2),
                texttemplate="%{text}",
                colorscale="RdBu",
                zmid=0,
                showscale=False,
                hovertemplate="%{z:.4g}<extra></extra>",
            ),
            row=1,
            col=k,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _style(fig, height=max(220, 45 * window.shape[0] + 80))


@memoised
def weights_figure(weights: np.ndarray, bias: np.ndarray | None, *, title: str) -> go.Figure:
    """A Dense layer's kernel as a heatmap (inputs down, units across), its bias as the last row.

    Blue is positive and red negative, centred on zero, so the sign of each weight reads at a glance.
    """
    z = weights if bias is None else np.vstack([weights, bias[None, :]])
    row_names = [f"in {k}" for k in range(weights.shape[0])] + ([] if bias is None else ["bias"])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            y=row_names,
            x=[f"unit {k}" for k in range(weights.shape[1])],
            colorscale="RdBu",
            zmid=0,
            hovertemplate="%{y} → %{x}: %{z:.4g}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", showticklabels=len(row_names) <= 40)
    fig.update_xaxes(showticklabels=weights.shape[1] <= 40)
    return _style(fig, height=min(600, 120 + 22 * len(row_names)), title=title)


_WIDTH_STEPS = 4  # edge widths are drawn in this many steps of |weight| (plotly: one width per trace)


@memoised
def network_figure(
    picture: NetworkPicture, *, input_names: Sequence[str] | None = None, title: str | None = None
) -> go.Figure:
    """Neurons as circles in columns, connections as lines: blue for positive weights, red for
    negative, thicker for larger |weight|; a neuron's colour is its bias. Hover gives every value."""
    columns = len(picture.shown)
    positions = []
    for k, shown in enumerate(picture.shown):
        count = len(shown) + (1 if picture.hidden[k] else 0)
        ys = np.linspace(1, -1, count) if count > 1 else np.zeros(1)
        positions.append({int(unit): float(y) for unit, y in zip(shown, ys)})
    largest = max((abs(edge.weight) for edge in picture.edges), default=1.0) or 1.0
    traces = []
    for sign, color in ((1, "#0072B2"), (-1, "#D55E00")):
        for step in range(_WIDTH_STEPS):
            xs, ys = [], []
            for edge in picture.edges:
                share = abs(edge.weight) / largest
                if np.sign(edge.weight) != sign or min(int(share * _WIDTH_STEPS), _WIDTH_STEPS - 1) != step:
                    continue
                xs += [edge.layer, edge.layer + 1, None]
                ys += [positions[edge.layer][edge.source], positions[edge.layer + 1][edge.target], None]
            if xs:
                traces.append(
                    go.Scatter(
                        x=xs,
                        y=ys,
                        mode="lines",
                        hoverinfo="skip",
                        showlegend=False,
                        line={"color": color, "width": 0.5 + 2.5 * step},
                        opacity=0.35 + 0.15 * step,
                    )
                )
    traces.append(
        go.Scatter(
            x=[edge.layer + 0.5 for edge in picture.edges],
            y=[
                (positions[edge.layer][edge.source] + positions[edge.layer + 1][edge.target]) / 2
                for edge in picture.edges
            ],
            mode="markers",
            marker={"size": 6, "opacity": 0},
            showlegend=False,
            hovertext=[
                f"{_neuron(picture, e.layer, e.source, input_names)} → {_neuron(picture, e.layer + 1, e.target, input_names)}: w = {e.weight:.4g}"
                for e in picture.edges
            ],
            hoverinfo="text",
        )
    )
    biases = [b for b in picture.biases[1:] if b is not None and len(b)]
    limit = max((float(np.abs(b).max()) for b in biases), default=1.0) or 1.0
    for k in range(columns):
        units = list(positions[k])
        bias = picture.biases[k]
        text = [
            f"{_neuron(picture, k, unit, input_names)}"
            + ("" if bias is None else f"<br>bias b = {bias[i]:.4g}")
            for i, unit in enumerate(units)
        ]
        traces.append(
            go.Scatter(
                x=[k] * len(units),
                y=[positions[k][u] for u in units],
                mode="markers",
                showlegend=False,
                marker={
                    "size": 22,
                    "line": {"color": "black", "width": 1.5},
                    "color": "#DDDDDD" if bias is None else bias,
                    **({} if bias is None else {"colorscale": "RdBu", "cmin": -limit, "cmax": limit}),
                },
                hovertext=text,
                hoverinfo="text",
            )
        )
        if picture.hidden[k]:
            traces.append(
                go.Scatter(
                    x=[k],
                    y=[-1.0],
                    mode="text",
                    text=[f"+{picture.hidden[k]:,} more"],
                    showlegend=False,
                    textfont={"size": 13},
                    hoverinfo="skip",
                )
            )
    fig = go.Figure(traces)
    fig.update_xaxes(
        tickvals=list(range(columns)),
        ticktext=[_text(name) for name in picture.layer_names],
        showgrid=False,
        zeroline=False,
        range=[-0.4, columns - 0.6],
    )
    fig.update_yaxes(visible=False, range=[-1.25, 1.15])
    drawn = len(picture.edges)
    note = "" if drawn == picture.total_edges else f" (the {drawn:,} strongest of {picture.total_edges:,})"
    return _style(
        fig, height=460, title=title or f"{plural(drawn, 'connection')}{note}; neuron colour = bias"
    )


def _neuron(picture: NetworkPicture, column: int, unit: int, input_names: Sequence[str] | None) -> str:
    if column == 0:
        return (
            _text(input_names[unit])
            if input_names is not None and len(input_names) > unit
            else f"input {unit}"
        )
    return f"{_text(picture.layer_names[column])}, unit {unit}"


@memoised
def per_layer_over_epochs_figure(
    epochs: tuple[int, ...],
    lines: tuple[tuple[str, tuple[float, ...]], ...],
    *,
    title: str,
    y_title: str,
    log_y: bool = False,
    marker_epoch: int | None = None,
) -> go.Figure:
    """One line per layer across the snapshot epochs, e.g. each layer's gradient size.

    Args:
        lines: (layer name, one value per epoch; NaN where the layer has none).
        marker_epoch: the epoch the look back shows, drawn as a dashed vertical line.
    """
    fig = go.Figure()
    for name, values in lines:
        fig.add_trace(
            go.Scatter(
                x=list(epochs),
                y=list(values),
                mode="lines+markers",
                name=_text(name),
                hovertemplate=f"{_text(name)}, after epoch %{{x}}: %{{y:.3g}}<extra></extra>",
            )
        )
    if marker_epoch is not None:
        fig.add_vline(x=marker_epoch, line_dash="dash", line_color="#888")
    fig.update_xaxes(title_text="after epoch")
    fig.update_yaxes(
        title_text=y_title, **({"type": "log", "dtick": 1} if log_y else {})
    )  # a tick per decade
    _style(fig, height=380 + 20 * len(lines), title=_text(title))
    # Below the plot: the layers' names are long, and above it they would cover the title.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0}, margin={"b": 10})
    return fig


@memoised
def weights_over_epochs_figure(
    epochs: Sequence[int], values: Sequence[np.ndarray], *, title: str, bins: int = 30
) -> go.Figure:
    """How one layer's weights spread out over training: a histogram per snapshot, side by side.

    Args:
        epochs: the epoch of each snapshot.
        values: the layer's weights (any shape) at each snapshot.
    """
    flat = [np.ravel(v).astype(np.float64) for v in values]
    low, high = min(float(v.min()) for v in flat), max(float(v.max()) for v in flat)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    counts = np.stack([np.histogram(v, bins=edges)[0] for v in flat], axis=1)  # (bins, snapshots)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[str(epoch) for epoch in epochs],
            y=centres,
            colorscale="Viridis",
            colorbar={"title": {"text": "weights"}},
            hovertemplate="after epoch %{x}: %{z} weights near %{y:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="after epoch", type="category")
    fig.update_yaxes(title_text="weight value")
    return _style(fig, height=320, title=_text(title))
