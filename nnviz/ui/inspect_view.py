"""How the Inspect page shows one layer of a trace: input, weights, numpy code, numpy beside Keras, verdict."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from nnviz import figures
from nnviz.trace import LayerStep, worked_sum

_TABLE_MAX = 32  # outputs up to this many values are tabulated number by number; longer ones are drawn
_keys = itertools.count()


def show_values(values: np.ndarray, *, title: str, names: Sequence[str] | None = None) -> None:
    """A short vector as a column of numbers; a long vector or an image as a chart."""
    values = np.asarray(values)
    st.markdown(f"**{title}** · shape {values.shape}")
    if values.ndim == 1 and values.size <= _TABLE_MAX:
        index = list(names) if names is not None else range(values.size)
        st.dataframe(
            pd.DataFrame({"value": values.astype(np.float64)}, index=index),
            width="content",
            column_config={"value": st.column_config.NumberColumn(format="%.4f")},
        )
    else:
        st.plotly_chart(figures.values_figure(values, title="", names=names), key=f"values.{next(_keys)}")


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
        st.markdown(f"### Layer {step.index + 1} · {label}")
        st.caption(step.explanation)
        in_col, out_col = st.columns([1, 2], gap="large")
        with in_col:
            show_values(step.inputs, title="x — the input", names=input_names)
            if step.weights is not None:
                with st.expander(
                    f"Weights W {step.weights.shape} and bias b", expanded=step.weights.size <= 200
                ):
                    st.plotly_chart(
                        figures.weights_figure(step.weights, step.bias, title=""),
                        key=f"weights.{next(_keys)}",
                    )
        with out_col:
            st.markdown("**numpy**")
            st.code("\n".join(c.label for c in step.steps), language="python", wrap_lines=True)
            example = worked_sum(step)
            if example:
                st.caption(f"For the first unit: {example}")
            st.markdown(f"**numpy beside Keras** — Keras computes `{step.name}(x)` itself")
            if step.numpy_output.ndim == 1 and step.numpy_output.size <= _TABLE_MAX:
                table = comparison_table(step)
                formats = {name: st.column_config.NumberColumn(format="%.6f") for name in table.columns}
                formats["|numpy − Keras|"] = st.column_config.NumberColumn(format="%.1e")
                st.dataframe(table, column_config=formats, key=f"compare.{next(_keys)}")
            else:
                numpy_col, keras_col = st.columns(2)
                with numpy_col:
                    show_values(step.numpy_output, title="numpy")
                with keras_col:
                    show_values(step.keras_output, title="Keras")
        verdict = f"max |numpy − Keras| = {step.max_abs_diff:.2e} · np.isclose (rtol = atol = 1e-5): "
        if step.agrees:
            st.success(verdict + "they agree", icon=":material/check_circle:")
        else:
            st.error(verdict + "they differ", icon=":material/cancel:")
