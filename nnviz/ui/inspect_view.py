"""How the Inspect page shows one layer of a trace: input, weights, numpy steps, Keras output, verdict."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import streamlit as st

from nnviz import figures
from nnviz.trace import LayerStep

_SMALL = 12  # vectors up to this length are printed as numbers; longer ones are drawn
_keys = itertools.count()


def show_values(values: np.ndarray, *, title: str, names: Sequence[str] | None = None) -> None:
    """A short vector as numpy prints it; a long vector or an image as a chart."""
    values = np.asarray(values)
    st.markdown(f"**{title}** · shape {values.shape}")
    if values.ndim == 1 and values.size <= _SMALL:
        st.code(np.array2string(values.astype(np.float64), precision=4, separator=", ", suppress_small=True),
                language="python")
    else:
        st.plotly_chart(figures.values_figure(values, title="", names=names), key=f"values.{next(_keys)}")


def show_layer_step(step: LayerStep, label: str, *, input_names: Sequence[str] | None = None) -> None:
    """One layer of the trace, left to right: what goes in, the numpy recomputation, Keras's own output."""
    with st.container(border=True):
        st.markdown(f"### Layer {step.index + 1} · {label}")
        st.caption(step.explanation)
        in_col, numpy_col, keras_col = st.columns(3, gap="medium")
        with in_col:
            show_values(step.inputs, title="x — the input", names=input_names)
            if step.weights is not None:
                with st.expander(f"Weights W {step.weights.shape} and bias b", expanded=step.weights.size <= 200):
                    st.plotly_chart(figures.weights_figure(step.weights, step.bias, title=""),
                                    key=f"weights.{next(_keys)}")
        with numpy_col:
            for computation in step.steps:
                show_values(computation.value, title=f"numpy: {computation.label}")
        with keras_col:
            show_values(step.keras_output, title=f"Keras: {step.name}(x)")
        verdict = f"max |numpy − Keras| = {step.max_abs_diff:.2e} · np.isclose (rtol = atol = 1e-5): "
        if step.agrees:
            st.success(verdict + "they agree", icon="✅")
        else:
            st.error(verdict + "they differ", icon="❌")
