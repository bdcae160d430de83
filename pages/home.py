"""Start page: what nnviz is and the four steps of the loop."""

import streamlit as st

from nnviz.ui.runtime import run_through_the_router

run_through_the_router()

st.title("nnviz")
st.subheader("See a real Keras neural network learn, one step at a time")
st.markdown(
    "Pick a dataset, stack layers, press **Train** and watch the loss fall and the decision boundary "
    "take shape. Then follow one input through the network and check every number against numpy."
)
steps = (
    (
        "pages/lessons.py",
        "Lessons",
        ":material/school:",
        "Follow the course: each lesson sets the app up, says what to do and checks your answers. Every course example opens in one click.",
    ),
    (
        "pages/data.py",
        "1 · Data",
        ":material/table_chart:",
        "Choose iris, two moons, California housing, MNIST, the sum of five or your own CSV file and look at it.",
    ),
    (
        "pages/build.py",
        "2 · Build",
        ":material/layers:",
        "Stack Dense, convolution, pooling, normalisation and other layers; see every parameter counted and the Keras code.",
    ),
    (
        "pages/train.py",
        "3 · Train",
        ":material/model_training:",
        "Train with a live loss and accuracy chart and a live decision boundary.",
    ),
    (
        "pages/evaluate.py",
        "4 · Evaluate",
        ":material/fact_check:",
        "Score the model on test rows it never saw: confusion matrix, the mistakes, per-class precision and recall; R², RMSE and residuals for regression.",
    ),
    (
        "pages/inspect.py",
        "5 · Inspect",
        ":material/biotech:",
        "Step one input, or a digit you draw, through the layers and on to the loss: numpy beside Keras.",
    ),
)
for page, label, icon, text in steps:
    with st.container(border=True):
        st.page_link(page, label=label, icon=icon)
        st.caption(text)
