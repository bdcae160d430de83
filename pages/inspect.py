"""Step 4: follow one input through the network, numpy beside Keras at every layer."""

import numpy as np
import streamlit as st

from nnviz.ui.page import trainable_spec, workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import plain

run_through_the_router()

dataset, ws = workspace_page("Inspect one input")
spec = trainable_spec(ws, dataset)

with st.spinner("Starting Keras…"):
    from nnviz.explain.lossmath import logits, loss_steps, model_loss
    from nnviz.explain.predict import class_probabilities, predicted_labels
    from nnviz.explain.trace import layer_trace
    from nnviz.ui.backprop_view import show_backward
    from nnviz.ui.evaluation import test_outputs
    from nnviz.ui.inspect_view import (
        DATASET_ROW,
        DRAW,
        TEST_ROW,
        TYPED,
        Sample,
        dataset_row_sample,
        drawn_digit,
        input_choices,
        row_sample,
        show_layer_step,
        show_loss_steps,
        show_values,
        typed_sample,
    )
    from nnviz.ui.notebooks import notebook_download
    from nnviz.ui.training import model_at_rest

model_at_rest(
    ws,
    spec,
    why_paused="so that you follow one fixed set of weights",
    untrained="This model has not been trained yet, so its weights are random. Train it first to follow "
    "a network that has learnt something.",
)

X, y = dataset.X_test, dataset.y_test
how = st.radio("Which input?", input_choices(dataset), horizontal=True, key="inspect.how")
if how == DRAW:
    drawing = drawn_digit()
    if drawing is None:
        st.info("Draw a digit in the box with the mouse (or a finger), then let go.", icon=":material/draw:")
        st.stop()
    sample = Sample(drawing, None, "#### Your drawing, fitted into 28×28 pixels as MNIST's digits were")
elif how == TYPED:
    sample = typed_sample(dataset)
    if sample is None:
        st.stop()
elif how == DATASET_ROW:
    sample = dataset_row_sample(dataset)
elif how == TEST_ROW:
    index = st.number_input(
        f"Test row (0 to {len(X) - 1})",
        min_value=0,
        max_value=len(X) - 1,
        step=1,
        key=f"inspect.{dataset.key}.index",
    )
    original = "" if dataset.test_rows is None else f" (dataset row {dataset.test_rows[index]})"
    sample = row_sample(dataset, "test", int(index), f"Test row {index}{original}")
else:
    # The test rows' predictions, computed in the training queue's turn and kept per set of weights.
    wrong = np.flatnonzero(predicted_labels(test_outputs(ws, dataset, spec), spec.loss) != y)
    if len(wrong) == 0:
        st.success(
            "The model classifies every test row correctly: pick one by its row instead.",
            icon=":material/celebration:",
        )
        st.stop()
    index = st.selectbox(
        f"{len(wrong)} of {len(X)} test rows are misclassified", wrong, key=f"inspect.{dataset.key}.wrong"
    )
    sample = row_sample(dataset, "test", int(index), f"Test row {index}")

target = plain(dataset.target_name)  # names from an uploaded file are shown as text, never as markup
x, truth = sample.x, sample.truth
st.markdown(sample.heading)
show_values(x, title="The input", names=None if dataset.is_image else dataset.feature_names, key="input")

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
    elif predicted == truth:
        verdict = " (:green[correct])"
    else:
        verdict = f" (:red[wrong: the true {target} is {plain(dataset.class_names[truth])}])"
    st.subheader(
        f"Prediction: {plain(dataset.class_names[predicted])} with probability {probabilities[predicted]:.3f}"
        + verdict
    )
else:
    error = "" if truth is None else f" (true: {truth:.3f}, error {float(output[0]) - truth:+.3f})"
    st.subheader(f"Prediction: {float(output[0]):.3f} {target}{error}")

st.subheader("From the output to the loss")
if truth is None:
    st.info(
        "This input has no true label, so it has no loss: "
        + (
            "give it one above to see the loss worked out." if how == TYPED else "pick a test row to see one."
        ),
        icon=":material/info:",
    )
    if how == DRAW:  # which pixels made it the digit it was taken for
        show_backward(ws, spec, dataset, x, predicted, label_is_the_answer=True)
else:
    st.caption(
        "What training minimises for this one sample: the loss, computed by hand in numpy beside the "
        "model's compiled loss, the number fit() and evaluate() use. The reported loss is the mean of "
        "this over the rows."
    )
    compiled = model_loss(ws.model, x, truth)  # what evaluate() reports for this sample alone
    steps = loss_steps(np.asarray(output), logits(trace[-1]), truth, spec.loss, compiled=compiled)
    show_loss_steps(steps, class_names=dataset.class_names or None)
    show_backward(ws, spec, dataset, x, truth)

notebook_download(ws, spec, dataset, sample)
