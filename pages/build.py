"""Step 2: stack layers, see every parameter counted, and the Keras code that builds the model."""

import pandas as pd
import streamlit as st

from nnviz.model.cost import sample_problems
from nnviz.model.spec import check_spec, layer_summary
from nnviz.ui import state
from nnviz.ui.files import spec_import
from nnviz.ui.page import workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import code_view, compile_settings, layer_editor, plain, show_problems

run_through_the_router()

dataset, ws = workspace_page("Build")
st.caption(
    f"A network for **{plain(dataset.title)}**: it predicts {plain(dataset.target_name)} from "
    f"inputs of shape {dataset.input_shape}."
)

# One column: the layer rows need the page's width (long layer names, up to five options, the
# move/remove buttons in a row), and so does the summary's explanation of every count.
st.subheader("Layers")
layer_editor(ws, dataset)
checked = st.container()  # the verdict and the summary, filled once the compile settings are read
st.subheader("Compile")
compile_settings(ws, dataset)

spec = ws.spec(dataset)
with checked:
    problems = check_spec(spec, dataset.target) or sample_problems(spec)
    if problems:
        show_problems(problems)
    else:
        st.success("Ready to train.", icon=":material/check_circle:")
        st.page_link("pages/train.py", label="Next: train it", icon=":material/model_training:")
    st.subheader("Summary")
    rows = layer_summary(spec)
    # st.table wraps long explanations instead of hiding them behind a scroll bar.
    st.table(
        pd.DataFrame(
            {
                "Layer": [row.label for row in rows],
                "Output shape": [str((None, *row.output_shape)) for row in rows],
                "Parameters": [f"{row.params:,}" for row in rows],
                "How they are counted": [row.explanation for row in rows],
            },
            index=[row.position for row in rows],
        )
    )
    total, frozen = sum(row.params for row in rows), sum(row.non_trainable for row in rows)
    trained = "all trained" if not frozen else f"{total - frozen:,} trained, {frozen:,} moving statistics"
    st.markdown(f"**Total: {total:,} parameters**, {trained}.")

st.subheader("Keras code")
code_view(spec, dataset)

if not st.session_state[state.PRESENT]:  # files are not for the projector
    st.subheader("Save or import")
    spec_import(ws, dataset)
