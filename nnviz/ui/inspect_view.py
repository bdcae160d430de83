"""How the Inspect page shows one layer of a trace: input, weights, numpy code, numpy beside Keras, verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.data.drawing import MNIST_SIDE, ink, to_mnist
from nnviz.explain.lossmath import LossStep, clipping_note
from nnviz.explain.trace import LayerStep, worked_sum, worked_window
from nnviz.ui.widgets import plain
from nnviz.views import figures
from nnviz.views.words import plural

TEST_ROW, DATASET_ROW, MISTAKE, TYPED, DRAW = (
    "Test row",
    "Dataset row",
    "A misclassified one",
    "Type your own",
    "Draw a digit",
)

_CANVAS_TOOLBAR_PX = 48  # room above the canvas for its toolbar (2.65rem tall, shown on hover)
_TABLE_MAX = 32  # outputs up to this many values are tabulated number by number; longer ones are drawn


@dataclass(frozen=True, eq=False)
class Sample:
    """The input followed through the network.

    Args:
        x: what the network gets, no batch axis.
        truth: the true class index or value; None when there is none (a drawing, a typed row).
        heading: a Markdown line saying what this input is (user text in it already escaped).
        row: ``("train" or "test", position)`` for a row of the data; None for a typed or drawn input.
    """

    x: np.ndarray
    truth: int | float | None
    heading: str
    row: tuple[str, int] | None = None


def input_choices(dataset: Dataset) -> list[str]:
    """The ways this dataset offers to pick the input to follow."""
    choices = [TEST_ROW]
    if dataset.test_rows is not None and dataset.train_rows is not None:
        choices.append(DATASET_ROW)
    if dataset.class_names:
        choices.append(MISTAKE)
    if not dataset.is_image:
        choices.append(TYPED)
    elif dataset.input_shape == (MNIST_SIDE, MNIST_SIDE):
        choices.append(DRAW)
    return choices


def row_sample(dataset: Dataset, part: str, position: int, heading: str) -> Sample:
    """Row ``position`` of the training or test part, headed with its true target."""
    X, y = (dataset.X_test, dataset.y_test) if part == "test" else (dataset.X_train, dataset.y_train)
    truth = int(y[position]) if dataset.class_names else float(y[position])
    heading = f"#### {heading} · true {_truth_text(dataset, truth)}"
    return Sample(np.asarray(X[position]), truth, heading, (part, position))


def _truth_text(dataset: Dataset, truth: int | float) -> str:
    value = plain(dataset.class_names[truth]) if dataset.class_names else f"{truth:.3f}"
    return f"{plain(dataset.target_name)}: **{value}**"


def dataset_row_sample(dataset: Dataset) -> Sample:
    """Pick a row by its number in the data as published (iris row 0 is [5.1, 3.5, 1.4, 0.2]) and say
    which side of the split it fell on."""
    from nnviz.explain.predict import find_row

    total = len(dataset.train_rows) + len(dataset.test_rows)
    row = st.number_input(
        f"Dataset row (0 to {total - 1:,}), numbered as in the original data",
        min_value=0,
        max_value=total - 1,
        step=1,
        key=f"inspect.{dataset.key}.row",
    )
    part, position = find_row(dataset.train_rows, dataset.test_rows, int(row))
    if part == "test":
        st.caption(
            f"Dataset row {row} is test row {position}: one of the {len(dataset.test_rows):,} rows held out, "
            "so the model never trained on it."
        )
        heading = f"Dataset row {row} = test row {position}"
    else:
        st.caption(
            f"Dataset row {row} is training row {position}: one of the {len(dataset.train_rows):,} rows the "
            "model learnt from (with a validation split, maybe one it was validated on), so expect it to "
            "fit better than a test row."
        )
        heading = f"Dataset row {row} = training row {position}"
    return row_sample(dataset, part, position, heading)


def typed_sample(dataset: Dataset) -> Sample | None:
    """Number inputs, one per feature in the data's own units; the row scaled as the dataset's rows
    are. None (with the reason on screen) while a value cannot be used."""
    from nnviz.explain.predict import typed_input

    names = list(dataset.feature_names)
    first = np.asarray(dataset.X_test[0], dtype=np.float64)
    if dataset.feature_mean is not None:
        first = first * dataset.feature_scale + dataset.feature_mean  # back to raw units
    st.caption(
        "Type one value per feature, in the data's own units (these start at test row 0's values)."
        + (
            " The network gets them scaled as the dataset's rows are: (value − training mean) / training std."
            if dataset.feature_mean is not None
            else ""
        )
    )
    per_row = min(len(names), 4)
    values = []
    for start in range(0, len(names), per_row):
        for k, column in zip(range(start, min(start + per_row, len(names))), st.columns(per_row)):
            values.append(
                column.number_input(
                    plain(names[k]),
                    value=float(f"{first[k]:.6g}"),
                    format="%g",
                    key=f"inspect.{dataset.key}.typed.{k}",
                )
            )
    try:
        raw, x = typed_input(values, names, mean=dataset.feature_mean, scale=dataset.feature_scale)
    except ValueError as err:
        st.error(plain(str(err)), icon=":material/error:")
        return None
    if dataset.feature_mean is not None:
        st.dataframe(
            pd.DataFrame(
                {
                    "you typed": raw,
                    "training mean": dataset.feature_mean,
                    "training std": dataset.feature_scale,
                    "network input": x.astype(np.float64),
                },
                index=names,
            ).rename_axis("feature"),
            column_config={
                "you typed": st.column_config.NumberColumn(format="%.6g"),
                "training mean": st.column_config.NumberColumn(format="%.4g"),
                "training std": st.column_config.NumberColumn(format="%.4g"),
                "network input": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    truth = _typed_truth(dataset)
    heading = "#### Your input" + (
        f" · true {_truth_text(dataset, truth)}" if truth is not None else " · no true label"
    )
    return Sample(x, truth, heading)


def _typed_truth(dataset: Dataset) -> int | float | None:
    """The true label the user gives a typed row, if any (the loss needs one)."""
    if dataset.class_names:
        return st.selectbox(
            f"True {plain(dataset.target_name)}, for the loss (optional)",
            [None, *range(len(dataset.class_names))],
            format_func=lambda k: "no label" if k is None else dataset.class_names[k],
            key=f"inspect.{dataset.key}.typed.truth",
        )
    value = st.number_input(
        f"True {plain(dataset.target_name)}, for the loss (optional)",
        value=None,
        format="%g",
        key=f"inspect.{dataset.key}.typed.truth",
    )
    if value is None:
        return None
    if not abs(value) <= float(np.finfo(np.float32).max):
        st.error(f"The true value {value:g} is beyond float32's range (±3.4e38): type a smaller one.")
        return None
    return float(value)


def drawn_digit() -> np.ndarray | None:
    """A canvas to draw a digit on; the drawing as a 28×28 MNIST-style image, or None before any ink."""
    from streamlit_drawable_canvas import st_canvas  # the component's assets load only where it is used

    canvas_col, help_col = st.columns([1, 2])
    with canvas_col:
        # The canvas's toolbar (undo, redo, clear) appears 2.65rem above it on hover: leave that room
        # empty so it never covers the choice of input above.
        st.space(_CANVAS_TOOLBAR_PX)
        drawn = st_canvas(
            stroke_width=22,
            stroke_color="#000000",
            background_color="#FFFFFF",
            width=280,
            height=280,
            drawing_mode="freedraw",
            return_image_data=True,
            key="inspect.canvas",
        )
    help_col.caption(
        "Draw one digit, large, in the middle. It is then cropped, shrunk to fit a 20×20 box and "
        "centred by its mass in 28×28 pixels, as MNIST's digits were. Point at the box for its tools: "
        "undo, redo and the trash can, which clears it."
    )
    image = drawn.image_data if drawn is not None else None
    return None if image is None else to_mnist(ink(image))


def show_values(
    values: np.ndarray,
    *,
    title: str,
    names: Sequence[str] | None = None,
    key: str,
    channel_name: str = "channel",
    columns: int = 8,
) -> None:
    """A short vector as a column of numbers; a long vector or an image as a chart; an image with
    channels (``height × width × channels``) as one small map per channel, ``columns`` to a row.
    ``key`` names the chart for the page's whole life, so a rerun updates it rather than making
    a new one."""
    values = np.asarray(values)
    st.markdown(f"**{title}** · shape {values.shape}")
    if values.ndim == 1 and values.size <= _TABLE_MAX:
        index = list(names) if names is not None else range(values.size)
        st.dataframe(
            pd.DataFrame({"value": values.astype(np.float64)}, index=index),
            width="content",
            column_config={"value": st.column_config.NumberColumn(format="%.4f")},
        )
    elif values.ndim == 3:
        st.plotly_chart(
            figures.channel_grid_figure(values, name=channel_name, columns=columns),
            key=f"values.{key}",
        )
    else:
        st.plotly_chart(figures.values_figure(values, title="", names=names), key=f"values.{key}")


def comparison_table(step: LayerStep) -> pd.DataFrame:
    """One row per output value: each numpy step, Keras's output and their difference."""
    columns = {f"{c.label.split(' = ')[0]} (numpy)": c.value for c in step.steps}
    columns |= {
        "Keras": np.asarray(step.keras_output, dtype=np.float64),
        "|numpy − Keras|": np.abs(step.numpy_output - step.keras_output),
    }
    return pd.DataFrame(columns).rename_axis("unit")


def show_layer_step(step: LayerStep, label: str, *, input_names: Sequence[str] | None = None) -> None:
    """One layer of the trace: what goes in (left), the numpy recomputation beside Keras's own output (right)."""
    with st.container(border=True):
        st.markdown(f"### Layer {step.index + 1} · {plain(label)}")
        st.caption(step.explanation)
        if step.kind == "Conv2D":  # the whole width: small kernels need room for their numbers
            with st.expander(
                f"The {plural(step.weights.shape[3], 'filter')}: kernel W {step.weights.shape}", expanded=True
            ):
                st.plotly_chart(figures.kernels_figure(step.weights), key=f"kernels.{step.index}")
                st.caption(
                    "Blue weights add, red ones subtract: a filter responds where the image looks like it."
                )
        if step.parameters:  # the whole width: four columns of numbers do not fit a third of it
            st.markdown("**Per-channel statistics and learned scale and shift**")
            st.dataframe(
                pd.DataFrame(step.parameters).rename_axis("channel"),
                column_config={
                    name: st.column_config.NumberColumn(format="%.4f") for name in step.parameters
                },
            )
        in_col, out_col = st.columns([1, 2], gap="large")
        with in_col:
            # A third of the page: four maps to a row keep each map and its number readable.
            show_values(
                step.inputs, title="x — the input", names=input_names, columns=4, key=f"{step.index}.in"
            )
            if step.weights is not None and step.kind != "Conv2D":
                with st.expander(
                    f"Weights W {step.weights.shape} and bias b", expanded=step.weights.size <= 200
                ):
                    st.plotly_chart(
                        figures.weights_figure(step.weights, step.bias, title=""),
                        key=f"weights.{step.index}",
                    )
        with out_col:
            st.markdown("**numpy**")
            st.code("\n".join(c.label for c in step.steps), language="python", wrap_lines=True)
            example = worked_sum(step)
            if example:
                st.caption(f"For the first unit: {example}")
            if step.window is not None:
                _worked_cell(step)
            st.markdown(f"**numpy beside Keras** — Keras computes `{step.name}(x)` itself")
            if step.numpy_output.ndim == 1 and step.numpy_output.size <= _TABLE_MAX:
                table = comparison_table(step)
                formats = {name: st.column_config.NumberColumn(format="%.6f") for name in table.columns}
                formats["|numpy − Keras|"] = st.column_config.NumberColumn(format="%.1e")
                st.dataframe(table, column_config=formats, key=f"compare.{step.index}")
            elif step.numpy_output.ndim == 3:
                maps = "activation maps, one per filter" if step.kind == "Conv2D" else "one map per channel"
                name = "filter" if step.kind == "Conv2D" else "channel"
                show_values(
                    step.numpy_output,
                    title=f"numpy: {maps}",
                    channel_name=name,
                    columns=4,
                    key=f"{step.index}.numpy",
                )
                with st.expander("Keras's own maps, to compare"):
                    show_values(
                        step.keras_output,
                        title="Keras",
                        channel_name=name,
                        columns=4,
                        key=f"{step.index}.keras",
                    )
            else:
                numpy_col, keras_col = st.columns(2)
                with numpy_col:
                    show_values(step.numpy_output, title="numpy", key=f"{step.index}.numpy")
                with keras_col:
                    show_values(step.keras_output, title="Keras", key=f"{step.index}.keras")
        verdict(_rounding_words(step), step.agrees, ("they agree", "they differ"))


def _worked_cell(step: LayerStep) -> None:
    """Pick one output cell of a Conv2D or MaxPooling2D layer and show how its value comes about."""
    out_h, out_w, out_c = step.numpy_output.shape
    is_conv = step.kind == "Conv2D"
    st.markdown("**One output value, worked out**")
    row_col, column_col, channel_col = st.columns(3)
    key = f"inspect.cell.{step.index}"
    row = row_col.number_input("Row", 0, out_h - 1, out_h // 2, key=f"{key}.row")
    column = column_col.number_input("Column", 0, out_w - 1, out_w // 2, key=f"{key}.column")
    channel = channel_col.number_input(
        "Filter" if is_conv else "Channel", 0, out_c - 1, 0, key=f"{key}.channel"
    )
    cell = worked_window(step, int(row), int(column), int(channel))
    if is_conv:
        channels = cell.window.shape[2]
        shown = min(channels, 3)
        for c in range(shown):
            if channels > 1:
                st.caption(f"Input channel {c}")
            st.plotly_chart(
                figures.window_figure(cell.window[:, :, c], cell.kernel[:, :, c]),
                key=f"cell.{step.index}.{c}",
            )
        more = f" (only the first {shown} of {channels} are drawn)" if channels > shown else ""
        bias = f" + bias {cell.bias:.4g}" if cell.bias is not None else ""
        st.caption(
            f"z[{row}, {column}, {channel}] = the sum of the products over "
            f"{'the one input channel' if channels == 1 else f'all {channels} input channels'}{more}{bias} "
            f"= **{cell.value:.4g}**"
            + (f", then {step.activation}" if step.activation not in (None, "linear") else "")
        )
    else:
        st.plotly_chart(figures.window_figure(cell.window, None), key=f"cell.{step.index}")
        st.caption(f"a[{row}, {column}, {channel}] = the largest value in this window = **{cell.value:.4g}**")


def _keras_line(step: LossStep) -> str:
    """``step``'s Keras call with the step's name as a comment (after the call's own, if any)."""
    call, _, note = step.keras_code.partition("  # ")
    return f"{call}  # {step.name}" + (f": {note}" if note else "")


_NAME_WIDTH = 150  # px: a class or step name
_NUMBER_WIDTH = 115  # px: "-12345.678901" at the table's type size


def show_loss_steps(
    steps: Sequence[LossStep], *, class_names: Sequence[str] | None, what: str = "loss"
) -> None:
    """The way from the output to the loss (or ``what`` the steps reach): the numpy code, then each
    value beside Keras's."""
    st.code("\n".join(step.code for step in steps), language="python", wrap_lines=True)
    per_class = [step for step in steps if np.ndim(step.numpy_value) == 1 and np.size(step.numpy_value) > 1]
    if per_class:
        index = list(class_names) if class_names else None
        table = pd.DataFrame({step.name: step.numpy_value for step in per_class}, index=index)
        for step in per_class:
            if step.keras_value is not None:
                table[f"{step.name} (Keras)"] = step.keras_value
        # Fixed widths: sized to the data, the grid kept the first sample's widths for the next one
        # and cut long negative logits on the left.
        st.dataframe(
            table.rename_axis("class"),
            column_config={
                "_index": st.column_config.TextColumn(width=_NAME_WIDTH),
                **{
                    name: st.column_config.NumberColumn(format="%.6f", width=_NUMBER_WIDTH)
                    for name in table.columns
                },
            },
        )
    rows = [
        {
            "step": step.name,
            "numpy": float(np.ravel(step.numpy_value)[0]),
            "Keras": None if step.keras_value is None else float(np.ravel(step.keras_value)[0]),
            "|numpy − Keras|": step.max_abs_diff,
        }
        for step in steps
        if step not in per_class
    ]
    # The meanings and the Keras calls go below: columns of them pushed the table past the page's width.
    st.dataframe(
        pd.DataFrame(rows).set_index("step"),
        column_config={
            "_index": st.column_config.TextColumn(width=_NAME_WIDTH),
            "numpy": st.column_config.NumberColumn(format="%.6f", width=_NUMBER_WIDTH),
            "Keras": st.column_config.NumberColumn(format="%.6f", width=_NUMBER_WIDTH),
            "|numpy − Keras|": st.column_config.NumberColumn(format="%.1e", width=_NUMBER_WIDTH),
        },
        placeholder="—",
    )
    if any(step.keras_value is None for step in steps):
        st.caption("— : Keras has no function of its own for this step; it happens inside the next call.")
    st.markdown("**Keras computes the same with**")
    st.code(
        "\n".join(_keras_line(step) for step in steps if step.keras_code),
        language="python",
        wrap_lines=True,
    )
    if any((step.keras_code or "").startswith("model.compute_loss") for step in steps):
        st.caption(
            "model.compute_loss: the loss compiled into the model, given model(x) — the number fit() "
            "and evaluate() compute for this sample."
        )
    for step in steps:
        st.caption(f"**{step.name}**: {step.meaning}")
    note = clipping_note(list(steps))
    if note:
        st.info(note, icon=":material/info:")
    compared = [step for step in steps if step.agrees is not None]
    worst = max(step.max_abs_diff for step in compared)
    verdict(
        f"max |numpy − Keras| over {len(compared)} comparison{'s' if len(compared) != 1 else ''} = "
        f"{worst:.2e} (float32 rounding allows 1e-5 · (1 + the size of the values added up)): ",
        all(step.agrees for step in compared),
        (f"numpy's {what} agrees with Keras's", f"numpy's {what} differs from Keras's"),
    )


def _rounding_words(step: LayerStep) -> str:
    """The largest difference and what float32 rounding allows there, for the verdict."""
    diff = np.abs(np.asarray(step.numpy_output, np.float64) - np.asarray(step.keras_output, np.float64))
    if diff.shape != step.tolerance.shape:
        return "numpy's and Keras's outputs have different shapes: "
    if diff.size == 0:
        return "no values to compare: "
    worst = np.unravel_index(int(np.nanargmax(diff / step.tolerance)), diff.shape)
    return (
        f"max |numpy − Keras| = {step.max_abs_diff:.2e}; float32 rounding allows "
        f"{step.tolerance_rule} ({step.tolerance[worst]:.1e} at the value that differs most): "
    )


def verdict(measured: str, agrees: bool, words: tuple[str, str]) -> None:
    """A green box when numpy and Keras agree, a red one when not; ``words`` = (agree, differ)."""
    if agrees:
        st.success(measured + words[0], icon=":material/check_circle:")
    else:
        st.error(measured + words[1], icon=":material/cancel:")
