"""Widgets shared by the pages: persistent inputs, the layer editor and compile settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import streamlit as st

from nnviz.model.build import OPTIMIZER_RULES
from nnviz.model.sharelink import RANGES
from nnviz.model.spec import (
    ACTIVATIONS,
    APIS,
    LAYER_KINDS,
    LAYER_OPTIONS,
    LOSS_LABELS,
    MAX_KERNEL,
    OPTIMIZERS,
    PADDINGS,
    LayerSpec,
    ModelSpec,
    suggested_head,
)
from nnviz.ui import state as state_module
from nnviz.ui.state import LayerRow, Workspace
from nnviz.ui.text import plain
from nnviz.views.words import plural

if TYPE_CHECKING:  # annotations only: loading scikit-learn is not needed to name a Dataset
    from nnviz.data.datasets import Dataset

LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def bound(widget: Callable, label: str, *, key: str, value, **kwargs):
    """Render ``widget`` showing ``value`` and return what the user set.

    The widget's own state is seeded from ``value`` whenever Streamlit has forgotten it (after a
    visit to another page), so the caller's copy of the value stays the one source of truth.
    """
    widget_key = f"w.{key}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = value
    return widget(label, key=widget_key, **kwargs)


def state_widget(widget: Callable, label: str, state_key: str, **kwargs):
    """Render ``widget`` bound to the session key ``state_key`` (see :mod:`nnviz.ui.state`).

    The value is copied into ``state_key`` by an ``on_change`` callback, which Streamlit runs before
    the script: everything drawn earlier in the run (the sidebar) already sees the new value. A
    numeric setting gets its bounds from :data:`nnviz.model.sharelink.RANGES`, the ones a shared link and
    an imported spec are checked against.
    """
    if state_key in RANGES:
        low, high = RANGES[state_key]
        kwargs = {"min_value": low, "max_value": high, **kwargs}

    def copy_to_state() -> None:
        st.session_state[state_key] = st.session_state[f"w.{state_key}"]

    return bound(
        widget, label, key=state_key, value=st.session_state[state_key], on_change=copy_to_state, **kwargs
    )


def forget_widgets(prefix: str) -> None:
    """Drop widget states under ``prefix`` so they are seeded again from the values they show.

    Call it (from a callback) after changing such a value in code.
    """
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"w.{prefix}")]:
        del st.session_state[key]


def layer_editor(ws: Workspace, dataset: Dataset) -> None:
    """Edit the layers of ``ws`` in place: change each one, move it, remove it, or add one."""
    st.caption(f"Input: one sample of shape {dataset.input_shape} (from the dataset).")
    last = len(ws.rows) - 1
    for position, row in enumerate(ws.rows):
        with st.container(border=True):
            _layer_row(ws, dataset, position, row, is_output=position == last)
    if not ws.rows:
        st.warning("No layers yet: add one below, or load the starter network.")
    add_col, button_col, starter_col = st.columns([2, 1.3, 1.7], vertical_alignment="bottom")
    add_col.selectbox("New layer type", LAYER_KINDS, key=f"w.{dataset.key}.new_kind")
    button_col.button(
        "Add layer",
        key=f"{dataset.key}.add",
        on_click=_add_layer,
        args=(ws, dataset),
        icon=":material/add:",
        help="Inserted above the output layer; move it with the arrows.",
        width="stretch",
    )
    with starter_col:
        starters = [("Starter network", False)]
        if dataset.is_image:
            starters = [("Dense starter", False), ("Convolutional starter", True)]
        for label, convolutional in starters:
            st.button(
                label,
                icon=":material/restart_alt:",
                key=f"{dataset.key}.starter.{'cnn' if convolutional else 'dense'}",
                on_click=_load_starter,
                args=(ws, dataset, convolutional),
                width="stretch",
                help="Replace the layers by the starter network for this dataset.",
            )


_OPTIONS_PER_ROW = 3
_WINDOW = {"min_value": 1, "max_value": MAX_KERNEL, "step": 1}
# Each layer option's widget: (widget, label, widget options), in the order of LAYER_OPTIONS.
_OPTION_WIDGETS = {
    "units": ("number_input", "Units", {"min_value": 1, "max_value": 100_000, "step": 1}),
    "activation": ("selectbox", "Activation", {"options": ACTIVATIONS}),
    "rate": ("number_input", "Rate (fraction dropped)", {"min_value": 0.0, "max_value": 0.95, "step": 0.05}),
    "scale": ("number_input", "Scale", {"format": "%.6f", "step": 0.001}),
    "offset": ("number_input", "Offset", {"step": 0.1}),
    "filters": ("number_input", "Filters", {"min_value": 1, "max_value": 100_000, "step": 1}),
    "kernel_size": ("number_input", "Kernel", {**_WINDOW, "help": "Side of the square kernel, in pixels."}),
    "strides": ("number_input", "Stride", {**_WINDOW, "help": "Pixels the kernel moves at each step."}),
    "padding": (
        "selectbox",
        "Padding",
        {"options": PADDINGS, "help": "same: zeros around the image keep its size; valid: no padding."},
    ),
    "pool_size": (
        "number_input",
        "Pool size",
        {**_WINDOW, "help": "Side of the square window, and its step."},
    ),
    "target_shape": (
        "text_input",
        "Target shape",
        {"help": "Sizes separated by commas, e.g. 28, 28, 1 to give a grey image its channel axis."},
    ),
}


def _layer_row(ws: Workspace, dataset: Dataset, position: int, row: LayerRow, *, is_output: bool) -> None:
    prefix = f"{dataset.key}.{row.id}"
    layer = row.layer
    number, kind_col, options_col, tools_col = st.columns([0.3, 2.2, 6.2, 2.0], vertical_alignment="bottom")
    number.markdown(f"**{position + 1}**")
    kind = bound(
        kind_col.selectbox,
        "Output layer" if is_output else "Layer type",
        key=f"{prefix}.kind",
        value=layer.kind,
        options=LAYER_KINDS,
    )
    changes: dict[str, object] = {"kind": kind}
    names = LAYER_OPTIONS[kind]
    columns = []
    with options_col:  # at most three options side by side: Conv2D's five take two rows
        rows = max(-(-len(names) // _OPTIONS_PER_ROW), 1)
        for _ in range(rows):
            # Fewer options share the row: Dense's activation box then shows "softmax" whole.
            columns += st.columns(min(_OPTIONS_PER_ROW, max(len(names), 1)), vertical_alignment="bottom")
    for name, column in zip(names, columns):
        widget, label, options = _OPTION_WIDGETS[name]
        value = getattr(layer, name)
        if name == "target_shape":
            text = bound(
                column.text_input, label, key=f"{prefix}.{name}", value=_shape_text(value), **options
            )
            changes[name] = _parsed_shape(text, value, column)
        else:
            changes[name] = bound(
                getattr(column, widget), label, key=f"{prefix}.{name}", value=value, **options
            )
    ws.set_layer(position, **changes)
    with tools_col, st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        for name, icon, action, args, disabled in (
            ("up", ":material/arrow_upward:", _move, (ws, position, -1), position == 0),
            ("down", ":material/arrow_downward:", _move, (ws, position, 1), is_output),
            ("remove", ":material/delete:", _remove, (ws, position), False),
        ):
            st.button(
                "",
                icon=icon,
                key=f"{prefix}.{name}",
                on_click=action,
                args=args,
                disabled=disabled,
                help={"up": "Move up", "down": "Move down", "remove": "Remove this layer"}[name],
            )


def _move(ws: Workspace, position: int, delta: int) -> None:
    other = position + delta
    ws.rows[position], ws.rows[other] = ws.rows[other], ws.rows[position]


def _remove(ws: Workspace, position: int) -> None:
    del ws.rows[position]


def _shape_text(shape: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in shape)


def _parsed_shape(text: str, previous: tuple[int, ...], column) -> tuple[int, ...]:
    """The sizes typed in ``text``; ``previous`` (with a message under the field) if they are not sizes."""
    try:
        shape = tuple(int(part) for part in text.replace("(", "").replace(")", "").split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or any(n < 1 for n in shape):
        column.error(f"Type positive whole numbers separated by commas, e.g. {_shape_text(previous)}.")
        return previous
    return shape


def _add_layer(ws: Workspace, dataset: Dataset) -> None:
    kind = st.session_state[f"w.{dataset.key}.new_kind"]
    # A Reshape is mostly added to give a grey-scale image its channel axis.
    layer = LayerSpec(kind, target_shape=(*dataset.input_shape, 1))
    ws.rows.insert(max(len(ws.rows) - 1, 0), LayerRow(layer))


def _load_starter(ws: Workspace, dataset: Dataset, convolutional: bool) -> None:
    starter = Workspace.starter(dataset, convolutional=convolutional)
    ws.rows, ws.loss, ws.optimizer, ws.learning_rate = (
        starter.rows,
        starter.loss,
        starter.optimizer,
        starter.learning_rate,
    )
    forget_widgets(dataset.key)


def compile_settings(ws: Workspace, dataset: Dataset) -> None:
    """Loss, optimizer and learning rate of ``ws``, plus a button for the task's suggested output."""
    head, loss = suggested_head(dataset.target)
    # The loss on a row of its own: its names ("Sparse categorical cross-entropy") are cut short in a third.
    loss_col = st.container()
    optimizer_col, rate_col = st.columns(2)
    ws.loss = bound(
        loss_col.selectbox,
        "Loss",
        key=f"{dataset.key}.loss",
        value=ws.loss,
        options=list(LOSS_LABELS),
        format_func=LOSS_LABELS.get,
        help="Hinge treats the two classes as labels −1 and +1 (Keras converts 0/1 itself).",
    )
    ws.optimizer = bound(
        optimizer_col.selectbox,
        "Optimizer",
        key=f"{dataset.key}.optimizer",
        value=ws.optimizer,
        options=OPTIMIZERS,
    )
    rates = sorted({*LEARNING_RATES, ws.learning_rate})
    ws.learning_rate = bound(
        rate_col.select_slider,
        "Learning rate",
        key=f"{dataset.key}.learning_rate",
        value=ws.learning_rate,
        options=rates,
    )
    if ws.optimizer in OPTIMIZER_RULES:
        rule, words = OPTIMIZER_RULES[ws.optimizer]
        with st.expander(f"What {ws.optimizer} does with each gradient g (η = {ws.learning_rate:g})"):
            st.latex(rule)
            st.caption(words + " Keras's default constants are written in.")
    suggest_col, words_col = st.columns([1, 2], vertical_alignment="center")
    suggest_col.button(
        "Use the suggested output",
        key=f"{dataset.key}.suggest",
        on_click=_use_suggested_head,
        args=(ws, dataset),
        width="stretch",
    )
    words_col.caption(f"For this task: {head.label()} with {LOSS_LABELS[loss].lower()}.")


def _use_suggested_head(ws: Workspace, dataset: Dataset) -> None:
    head, loss = suggested_head(dataset.target)
    if ws.rows and ws.rows[-1].layer.kind == "Dense":
        ws.rows[-1].layer = head
        forget_widgets(f"{dataset.key}.{ws.rows[-1].id}.")
    else:
        ws.rows.append(LayerRow(head))
    ws.loss = loss
    forget_widgets(f"{dataset.key}.loss")


def show_problems(problems: Sequence[str], *, fix_page: str | None = None) -> None:
    """Each problem as an error box, with a link to the page where it can be fixed."""
    for problem in problems:
        st.error(plain(problem), icon=":material/error:")  # problems quote the user's values
    if fix_page:
        st.page_link(fix_page, label="Fix it on the Build page", icon=":material/layers:")


def csv_upload(seed: int) -> None:
    """Upload a CSV, choose its target and task; the dataset (or the reason it is refused) goes to
    the session."""
    from nnviz.data.csvdata import TASKS, CsvError, csv_dataset, infer_task, read_csv

    upload = st.file_uploader(
        "Your CSV file (UTF-8, a header line, one row per example)", type=["csv"], key="csv.upload"
    )
    if upload is None:
        st.info(
            "Upload a CSV file to train on your own data: numeric columns become inputs, and you "
            "choose the column to predict.",
            icon=":material/upload:",
        )
        return
    try:
        table = read_csv(upload.getvalue(), name=upload.name)
        columns = list(table.frame.columns)
        target_col, task_col = st.columns(2)
        target = target_col.selectbox(
            "Column to predict (the target)",
            columns,
            index=len(columns) - 1,
            key=f"csv.{table.digest}.target",
        )
        inferred = infer_task(table, target)
        task = task_col.radio(
            f"Task (inferred: {inferred})",
            TASKS,
            horizontal=True,
            key=f"csv.{table.digest}.task",
            format_func=lambda t: "as inferred" if t == "infer" else t,
        )
        dataset, notes = csv_dataset(table, target=target, task=task, random_state=seed)
    except CsvError as err:
        st.error(plain(str(err)), icon=":material/error:")
        st.session_state[state_module.CSV_DATASET] = None
        return
    st.session_state[state_module.CSV_DATASET], st.session_state[state_module.CSV_NOTES] = dataset, notes


def code_view(spec: ModelSpec, dataset: Dataset) -> None:
    """The Keras code of ``spec``: the model alone or a whole training script, Sequential or functional."""
    from nnviz.model.codegen import keras_code, training_script
    from nnviz.ui.notebooks import data_options, fit_settings, setup_notebook

    session = st.session_state
    api_col, scope_col = st.columns(2)
    api = state_widget(
        api_col.radio,
        "API",
        state_module.CODE_API,
        options=APIS,
        format_func={
            "sequential": "Sequential (a list of layers)",
            "functional": "Functional (layer calls)",
        }.get,
        horizontal=True,
    )
    scope = scope_col.radio(
        "What to export",
        ("model", "script", "notebook"),
        horizontal=True,
        key="build.code_scope",
        format_func={
            "model": "The model",
            "script": "Whole script: data, model, fit",
            "notebook": "Jupyter notebook",
        }.get,
    )
    seed = session[state_module.SEED]
    if scope == "model":
        st.caption(f"Builds and compiles exactly this model, with the same initial weights (seed {seed}).")
        st.code(keras_code(spec, seed=seed, api=api), language="python", wrap_lines=True)
        return
    if dataset.key.startswith("csv"):
        st.info(
            "An uploaded CSV cannot be loaded by exported code (the file stays on this server): export "
            "the model, and load your file into X_train, y_train yourself"
            + (
                "; or train it and download the notebook from the Inspect page, which carries your "
                "prepared rows in its .npz."
                if scope == "notebook"
                else "."
            ),
            icon=":material/info:",
        )
        return
    fit = fit_settings()
    if scope == "notebook":
        st.caption(
            f"The data as the app loads it, this model, `model.summary()`, training batch for batch as the app "
            f"trains ({plural(fit.epochs, 'epoch')}, batch size {fit.batch_size}, validation split "
            f"{fit.validation_split:g}, seed {seed}), evaluation, and test row 0 followed through the layers "
            "with numpy beside Keras. The Inspect page's download adds the weights trained here and the "
            "input you inspect."
        )
        st.download_button(
            "Download the notebook (.ipynb)",
            setup_notebook(spec, dataset, api),
            file_name=f"nnviz_{dataset.key}.ipynb",
            mime="application/x-ipynb+json",
            icon=":material/download:",
            key="build.notebook_download",
            on_click="ignore",
        )
        return
    script = training_script(spec, dataset.key, fit, api=api, **data_options(dataset))
    st.caption(
        f"Loads and prepares the data as the app does, builds this model and trains it with the Train "
        f"page's settings ({plural(fit.epochs, 'epoch')}, batch size {fit.batch_size}, validation split "
        f"{fit.validation_split:g}, seed {seed}). Run it with python or paste it into a notebook."
        + (
            " Where the download fails, it prints the same note as this app and uses the same stand-in."
            if dataset.key in ("housing", "mnist")
            else ""
        )
    )
    st.code(script, language="python", wrap_lines=True)
    st.download_button(
        "Download the script (.py)",
        script,
        file_name=f"nnviz_{dataset.key}.py",
        mime="text/x-python",
        icon=":material/download:",
        key="build.code_download",
    )


_PLANES = {
    "features": "Two features (the others at their mean)",
    "pca": "Principal components 1 and 2 (PCA)",
}


def boundary_axes(dataset: Dataset):
    """What the decision boundary is drawn over: the one feature (a 1-D view), the two features, or
    for more features a choice of two (the most informative pair first) or the PCA plane.

    Returns:
        A :class:`nnviz.explain.boundary.BoundaryAxes`, or None (no boundary: regression, images, or the
        same feature picked twice, which is said on screen).
    """
    from nnviz.explain.boundary import PCA_PLANE, BoundaryAxes, informative_pair

    if not dataset.class_names or dataset.is_image:
        return None
    names = list(dataset.feature_names)
    if len(names) <= 2:
        return BoundaryAxes(tuple(range(len(names))))
    plane = st.radio(
        "Boundary over",
        list(_PLANES),
        format_func=_PLANES.get,
        horizontal=True,
        key=f"train.{dataset.key}.plane",
        help="PCA: the plane through the data's mean along the two directions in which the training "
        "rows vary most; every other direction is held at the mean.",
    )
    if plane == "pca":
        return PCA_PLANE
    remembered = st.session_state.get("train.informative_pair")
    if remembered is None or remembered[0] is not dataset:
        remembered = (dataset, informative_pair(dataset.X_train, dataset.y_train))
        st.session_state["train.informative_pair"] = remembered
    x_default, y_default = remembered[1]
    x_col, y_col = st.columns(2)
    features = (
        x_col.selectbox(
            "Boundary: horizontal feature",
            range(len(names)),
            index=x_default,
            format_func=names.__getitem__,
            key=f"train.{dataset.key}.x",
            help="At first the pair of features that sets the classes apart best.",
        ),
        y_col.selectbox(
            "Boundary: vertical feature",
            range(len(names)),
            index=y_default,
            format_func=names.__getitem__,
            key=f"train.{dataset.key}.y",
        ),
    )
    if features[0] == features[1]:
        st.warning("Pick two different features to see the boundary.")
        return None
    return BoundaryAxes(features)
