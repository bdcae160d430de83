"""The Train page's look back: pick an epoch and see the curve, the boundary, the network and its
weights as they were then (from the run's bounded weight snapshots)."""

from __future__ import annotations

import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.explain.boundary import BoundaryAxes, input_grid, neuron_maps
from nnviz.explain.diagram import dense_chain, network_picture
from nnviz.model.cost import view_resolution
from nnviz.model.spec import ModelSpec
from nnviz.ui import state
from nnviz.ui.state import Workspace
from nnviz.ui.text import plain
from nnviz.views import figures
from nnviz.views.words import plural

_VIEWS_KEPT = 24  # per workspace: a slider dragged over every snapshot redraws from memory


def cached(ws: Workspace, key: tuple, compute):
    """``compute()``'s result for the model state ``key`` names, computed once per state.

    ``key`` must name everything the result depends on (model, epoch, data, options); the oldest
    results are dropped beyond ``_VIEWS_KEPT``.
    """
    if key not in ws.views:
        while len(ws.views) >= _VIEWS_KEPT:
            del ws.views[next(iter(ws.views))]
        ws.views[key] = compute()
    return ws.views[key]


def replay_epoch(ws: Workspace, dataset: Dataset) -> int | None:
    """A slider over the epochs that have a weight snapshot; the epoch chosen, or None before training.

    After more training the slider starts again at the newest epoch.
    """
    epochs = ws.snapshots.epochs
    if not ws.history or len(epochs) < 2:
        return None
    key = f"replay.{dataset.key}.epoch"
    if ws.replay_for != len(ws.history):
        ws.replay_for = len(ws.history)
        st.session_state.pop(key, None)
    return st.select_slider(
        "Show the network after epoch",
        options=epochs,
        value=epochs[-1],
        key=key,
        help=f"{plural(len(epochs), 'snapshot')} of the weights are kept, spread over the "
        f"{plural(len(ws.history), 'epoch')} "
        "(0 = the starting weights). The curve, the boundary and the pictures below follow the slider.",
    )


def model_at(ws: Workspace, epoch: int):
    """The model with its weights as they were after ``epoch`` (a copy, when that is not the latest)."""
    import keras

    if epoch == len(ws.history):
        return ws.model
    if ws.replay_model is None:
        ws.replay_model = keras.models.clone_model(ws.model)
    ws.replay_model.set_weights(ws.snapshots.at(epoch))
    return ws.replay_model


def look_inside(
    ws: Workspace, dataset: Dataset, spec: ModelSpec, model, epoch: int, features: BoundaryAxes | None
) -> None:
    """The network picture, what each neuron responds to over the boundary's plane or line (tabular
    classification) and how the weights spread over training."""
    st.subheader(f"Inside the network after epoch {epoch}")
    state_shown = (id(dataset), id(ws.model), len(ws.history), epoch)
    picture = cached(ws, ("network", *state_shown), lambda: _network_figure(model, dataset))
    if isinstance(picture, str):
        st.caption(plain(picture))
    else:
        st.plotly_chart(picture, key="replay.network")
    if features is not None:
        _neuron_maps(ws, model, dataset, spec, features, state_shown)
    # Switches, not expanders: an expander's content is computed even while it is closed.
    if st.toggle(
        "Show what training does inside: gradient sizes, dead ReLU units, activation spread",
        key="replay.health",
    ):
        _training_health(ws, dataset, spec, epoch)
    if not st.toggle(
        "Show how each layer's weights and biases spread out over the epochs", key="replay.spreads"
    ):
        return
    epochs = ws.snapshots.epochs
    index = {id(weight): k for k, weight in enumerate(model.weights)}  # a snapshot's order
    for position, layer in enumerate(model.layers):
        if not layer.weights:
            continue
        for weight, column in zip(layer.weights, st.columns(len(layer.weights))):
            values = [ws.snapshots.at(e)[index[id(weight)]] for e in epochs]
            name = weight.path.rsplit("/", 1)[-1]  # kernel, bias, gamma, …
            column.plotly_chart(
                figures.weights_over_epochs_figure(
                    epochs,
                    values,
                    title=f"Layer {position + 1} · {spec.layers[position].label()}: {name}",
                ),
                key=f"replay.hist.{position}.{name}",
            )


def _network_figure(model, dataset: Dataset):
    """The network picture, or why there is none (a sentence)."""
    weights = [(type(layer).__name__, layer.get_weights()) for layer in model.layers]
    try:
        picture = network_picture(dense_chain(weights))
    except ValueError as err:
        return str(err)
    names = None if dataset.is_image else list(dataset.feature_names)
    return figures.network_figure(picture, input_names=names)


def neuron_map_title(spec: ModelSpec, position: int) -> str:
    """What a row of neuron maps is called: the layer as the Build page names it (``position`` counts
    from 0 in ``model.layers``)."""
    return f"Layer {position + 1} · {spec.layers[position].label()}"


def _neuron_maps(
    ws: Workspace, model, dataset: Dataset, spec: ModelSpec, features: BoundaryAxes, state_shown: tuple
) -> None:
    import pandas as pd

    titles = input_grid(dataset.X_train, features, resolution=2).axis_titles(dataset.feature_names)

    def computed():
        resolution = view_resolution(spec, dims=features.dims, most=60)
        xs, _, maps = neuron_maps(model, dataset.X_train, features=features, resolution=resolution)
        shown = maps[:-1]  # the last layer's map is the decision boundary above
        if features.dims == 1:  # each unit's output along the line, one curve per unit
            return [
                (
                    neuron_map_title(spec, position),
                    pd.DataFrame(
                        {f"unit {u}": unit for u, unit in enumerate(layer_maps)},
                        index=pd.Index(xs, name=titles[0]),
                    ),
                )
                for position, layer_maps in shown
            ]
        return [
            (
                neuron_map_title(spec, position),
                figures.channel_grid_figure(layer_maps.transpose(1, 2, 0)[::-1], name="unit"),
            )
            for position, layer_maps in shown
        ]

    maps = cached(ws, ("neurons", *state_shown, features), computed)
    if features.dims == 1:
        st.markdown(
            f"**What each neuron responds to** along {plain(titles[0])}: each unit's output "
            "(after its activation) against the feature."
        )
    else:
        st.markdown(
            f"**What each neuron responds to** over the plane of {plain(titles[0])} (across) and "
            f"{plain(titles[1])} (up): blue where its output is positive, red where negative."
        )
    for name, view in maps:
        st.caption(plain(name))
        if features.dims == 1:
            st.line_chart(view, x_label=titles[0], y_label="output")
        else:
            st.plotly_chart(view, key=f"replay.maps.{name}")


# What each picture looks like when training is healthy, and when it is not.
_HEALTH_VIEWS = (
    (
        "gradient_norm",
        "Gradient size ‖∂L/∂W‖ per layer",
        "‖∂L/∂W‖ (log scale)",
        True,
        "Healthy: every layer's gradient within a factor of 10–100 of the others, shrinking as the loss "
        "falls. Vanishing: the first layers' gradients are orders of magnitude below the last ones' (deep "
        "sigmoid or tanh networks), so they barely learn. Exploding: gradients that grow epoch after epoch "
        "(often too high a learning rate), usually followed by a loss of NaN.",
    ),
    (
        "dead_share",
        "Dead ReLU units per layer",
        "share of units that output 0 for every probe row",
        False,
        "Healthy: few dead units (under ~10–20 %). A dead ReLU unit outputs 0 for every input, so its "
        "gradient is 0 and it never recovers: a share that jumps up after some epochs usually means too "
        "high a learning rate; many dead units from the start, a bad initialisation.",
    ),
    (
        "spread",
        "Spread of each layer's outputs",
        "standard deviation of the outputs",
        False,
        "Healthy: spreads of similar size from layer to layer and stable over the epochs. A spread that "
        "collapses towards 0 means the layer passes on almost no information; one that grows without "
        "bound, that the weights are blowing up. Sigmoid outputs stuck near 0 or 1 (spread near 0.5) are "
        "saturated: their slope, and so their gradient, is almost 0.",
    ),
)


def _training_health(ws: Workspace, dataset: Dataset, spec: ModelSpec, epoch: int) -> None:
    """Per layer and per snapshot: gradient size, dead ReLU share, activation spread (probe batch)."""
    from nnviz.explain.diagnostics import health_over_epochs, probe_rows
    from nnviz.model.build import build_model

    epochs = tuple(ws.snapshots.epochs)
    rows = probe_rows(len(dataset.X_train), seed=st.session_state[state.SEED])

    def computed():
        return health_over_epochs(
            build_model(spec), ws.snapshots.at, epochs, dataset.X_train[rows], dataset.y_train[rows]
        )

    with st.spinner(f"Measuring {plural(len(epochs), 'snapshot')} on {plural(len(rows), 'training row')}…"):
        report = cached(ws, ("health", id(ws.model), len(ws.history), epochs), computed)
    st.caption(
        f"Measured on the same {plural(len(rows), 'training row')} after every epoch that has a snapshot "
        "(inference mode), with the weights as they were then; the dashed line is the epoch shown above."
    )
    names = [neuron_map_title(spec, k) for k in range(len(spec.layers))]
    for field, title, y_title, log_y, advice in _HEALTH_VIEWS:
        lines = tuple(
            (names[k], tuple(_or_nan(getattr(report[e][k], field)) for e in epochs))
            for k in range(len(spec.layers))
            if getattr(report[epochs[-1]][k], field) is not None
        )
        if not lines:
            continue
        chart, words = st.columns([3, 2], gap="medium")
        chart.plotly_chart(
            figures.per_layer_over_epochs_figure(
                epochs, lines, title=title, y_title=y_title, log_y=log_y, marker_epoch=epoch
            ),
            key=f"replay.health.{field}",
        )
        words.caption(advice)


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value
