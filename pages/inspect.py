"""Step 4: follow one input through the network, numpy beside Keras at every layer."""

import numpy as np
import streamlit as st

from nnviz.drawing import MNIST_SIDE
from nnviz.ui.page import trainable_spec, workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import plain

run_through_the_router()

dataset, ws = workspace_page("Inspect one input")
spec = trainable_spec(ws, dataset)

with st.spinner("Starting Keras…"):
    from nnviz.lossmath import logits, loss_steps
    from nnviz.predict import class_probabilities, misclassified_indices
    from nnviz.trace import layer_trace
    from nnviz.ui.inspect_view import DRAW, drawn_digit, show_layer_step, show_loss_steps, show_values
    from nnviz.ui.training import model_at_rest

model_at_rest(
    ws,
    spec,
    why_paused="so that you follow one fixed set of weights",
    untrained="This model has not been trained yet, so its weights are random. Train it first to follow "
    "a network that has learnt something.",
)

X, y = dataset.X_test, dataset.y_test
choices = ["By index"] + (["A misclassified one"] if dataset.class_names else [])
if dataset.input_shape == (MNIST_SIDE, MNIST_SIDE):
    choices.append(DRAW)
how = st.radio("Which input?", choices, horizontal=True, key="inspect.how")
if how == DRAW:
    x = drawn_digit()
    if x is None:
        st.info("Draw a digit in the box with the mouse (or a finger), then let go.", icon=":material/draw:")
        st.stop()
    index = None
elif how == "By index":
    index = st.number_input(
        f"Test row (0 to {len(X) - 1})",
        min_value=0,
        max_value=len(X) - 1,
        step=1,
        key=f"inspect.{dataset.key}.index",
    )
else:
    wrong = misclassified_indices(ws.model, X, y, spec.loss)
    if len(wrong) == 0:
        st.success(
            "The model classifies every test row correctly: pick one by index instead.",
            icon=":material/celebration:",
        )
        st.stop()
    index = st.selectbox(
        f"{len(wrong)} of {len(X)} test rows are misclassified", wrong, key=f"inspect.{dataset.key}.wrong"
    )

target = plain(dataset.target_name)  # names from an uploaded file are shown as text, never as markup
if index is None:
    truth = None
    st.markdown("#### Your drawing, fitted into 28×28 pixels as MNIST's digits were")
else:
    x = X[index]
    truth = plain(dataset.class_names[y[index]]) if dataset.class_names else f"{y[index]:.3f}"
    st.markdown(f"#### Test row {index} · true {target}: **{truth}**")
show_values(x, title="The input", names=None if dataset.is_image else dataset.feature_names)

trace = layer_trace(ws.model, x)
for position, step in enumerate(trace):
    names = dataset.feature_names if position == 0 and not dataset.is_image else None
    show_layer_step(step, spec.layers[position].label(), input_names=names)

output = trace[-1].keras_output
if dataset.class_names:
    probabilities = class_probabilities(np.asarray(output, dtype=np.float64)[None, :], spec.loss)[0]
    predicted = int(probabilities.argmax())
    if truth is None:
        verdict = ""
    elif predicted == y[index]:
        verdict = " (:green[correct])"
    else:
        verdict = f" (:red[wrong: the true {target} is {truth}])"
    st.subheader(
        f"Prediction: {plain(dataset.class_names[predicted])} with probability {probabilities[predicted]:.3f}"
        + verdict
    )
else:
    st.subheader(
        f"Prediction: {float(output[0]):.3f} {target} (true: {truth}, "
        f"error {float(output[0]) - float(y[index]):+.3f})"
    )

if index is not None:
    st.subheader("From the output to the loss")
    st.caption(
        "What training minimises for this one sample: the loss, computed by hand in numpy beside the "
        "Keras functions that fit() uses. The reported loss is the mean of this over the rows."
    )
    steps = loss_steps(np.asarray(output), logits(trace[-1]), y[index], spec.loss)
    show_loss_steps(steps, class_names=dataset.class_names or None)
