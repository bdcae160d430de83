"""Step 1: pick a dataset and look at it."""

import numpy as np
import streamlit as st

from nnviz.data.catalog import DATASET_TITLES, dataset_title
from nnviz.data.datasets import preview_table
from nnviz.ui import state
from nnviz.ui.data import current_dataset
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import csv_upload, plain, state_widget
from nnviz.views import figures

run_through_the_router()

state.init_state()
session = st.session_state
st.title("Data")

state_widget(st.selectbox, "Dataset", state.DATASET, options=list(DATASET_TITLES), format_func=dataset_title)
if session[state.DATASET] == "moons":
    samples_col, noise_col = st.columns(2)
    state_widget(
        samples_col.slider,
        "Number of points",
        state.MOONS_SAMPLES,
        step=50,
    )
    state_widget(
        noise_col.slider,
        "Noise",
        state.MOONS_NOISE,
        step=0.01,
        help="Standard deviation of the noise added to each point.",
    )

if session[state.DATASET] == "csv":
    csv_upload(session[state.SEED])
    if session[state.CSV_DATASET] is None:
        st.stop()
    for note in session[state.CSV_NOTES]:
        st.caption(plain(note))

dataset = current_dataset()
if dataset.fallback_reason:
    st.warning(plain(dataset.fallback_reason), icon=":material/cloud_off:")
st.caption(plain(dataset.source))

train_col, test_col, feature_col, target_col = st.columns(4)
train_col.metric("Training rows", f"{len(dataset.X_train):,}")
test_col.metric("Test rows", f"{len(dataset.X_test):,}")
feature_col.metric("Input shape", " × ".join(map(str, dataset.input_shape)))
target_col.metric(
    "Task",
    f"{len(dataset.class_names)} classes" if dataset.class_names else "regression",
    help=f"The network predicts {plain(dataset.target_name)}.",
)

if dataset.is_image:
    st.subheader("The first 24 training images")
    labels = [dataset.class_names[k] for k in dataset.y_train[:24]]
    st.plotly_chart(figures.digit_grid_figure(dataset.X_train[:24], labels), key="digits")
else:
    names, X_shown = list(dataset.feature_names), dataset.X_train
    if len(names) == 1:  # one input: plotted against the target instead of a second feature
        st.subheader("The feature against the target")
        names.append(f"{dataset.target_name} (class number)" if dataset.class_names else dataset.target_name)
        X_shown, pair = np.column_stack([X_shown[:, 0], dataset.y_train]), (0, 1)
    else:
        st.subheader("Two features against each other")
        x_col, y_col = st.columns(2)
        pair = (
            x_col.selectbox(
                "Horizontal axis",
                range(len(names)),
                format_func=names.__getitem__,
                key=f"data.{dataset.key}.x",
            ),
            y_col.selectbox(
                "Vertical axis",
                range(len(names)),
                index=1,
                format_func=names.__getitem__,
                key=f"data.{dataset.key}.y",
            ),
        )
    st.plotly_chart(
        figures.feature_scatter_figure(
            X_shown,
            dataset.y_train,
            pair,
            feature_names=names,
            class_names=dataset.class_names,
            target_name=dataset.target_name,
            equal_scale=dataset.key == "moons",
        ),
        key="scatter",
    )
    st.subheader("The first 100 training rows")
    st.dataframe(preview_table(dataset), height=300)

st.subheader("Class balance" if dataset.class_names else "The target")
st.plotly_chart(
    figures.class_balance_figure(
        dataset.y_train,
        dataset.y_test,
        class_names=dataset.class_names,
        target_name=dataset.target_name,
    ),
    key="balance",
)
st.page_link("pages/build.py", label="Next: build a network for this data", icon=":material/layers:")
