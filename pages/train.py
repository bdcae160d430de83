"""Step 3: train the model with a live chart and a live decision boundary; play, pause, step, stop."""

import streamlit as st

from nnviz.sharelink import BATCH_SIZES
from nnviz.ui import replay, state
from nnviz.ui.files import model_downloads_and_weights
from nnviz.ui.page import trainable_spec, workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import plain, state_widget

run_through_the_router()

dataset, ws = workspace_page("Train")
spec = trainable_spec(ws, dataset, intro="The network cannot be trained yet:")
session = st.session_state

# TensorFlow is imported only from here on: the pages before this one stay quick to open.
with st.spinner("Starting Keras…"):
    from nnviz.ui import training

rebuilt_note = training.ensure_model(ws, spec, seed=session[state.SEED])
if rebuilt_note:
    st.info(rebuilt_note, icon=":material/refresh:")
st.caption(
    f"{plain(dataset.title)} · {' → '.join(layer.label() for layer in spec.layers)} · "
    f"{spec.optimizer}, learning rate {spec.learning_rate:g}"
)

epochs_col, batch_col, split_col = st.columns(3)
state_widget(
    epochs_col.number_input,
    "Epochs",
    state.EPOCHS,
    step=10,
    help="Passes over the training rows for each press of Train.",
)
state_widget(
    batch_col.selectbox,
    "Batch size",
    state.BATCH_SIZE,
    options=BATCH_SIZES,
    help="Rows per gradient step.",
)
state_widget(
    split_col.slider,
    "Validation split",
    state.VALIDATION_SPLIT,
    step=0.05,
    help="Fraction of the training rows (the last ones, as model.fit takes them) held out "
    "to watch for overfitting.",
)

features = None
if dataset.class_names and not dataset.is_image:
    names = list(dataset.feature_names)
    features = (0, 1)
    if len(names) > 2:
        x_col, y_col = st.columns(2)
        features = (
            x_col.selectbox(
                "Boundary: horizontal feature",
                range(len(names)),
                format_func=names.__getitem__,
                key=f"train.{dataset.key}.x",
            ),
            y_col.selectbox(
                "Boundary: vertical feature",
                range(len(names)),
                index=1,
                format_func=names.__getitem__,
                key=f"train.{dataset.key}.y",
            ),
        )
        if features[0] == features[1]:
            st.warning("Pick two different features to see the boundary.")
            features = None

job = training.training_job(ws, dataset)
job.renderer = training.renderer_for(dataset, spec, features)
progress = job.progress()
running, paused = job.running, progress.state == "paused"
if running and job.trainer.batch_size != session[state.BATCH_SIZE]:
    st.caption("The new batch size and validation split apply from the next run.")
too_long = training.run_problem(job)
if too_long and not paused:
    st.warning(too_long, icon=":material/timer_off:")
training.control_buttons(ws, dataset, spec, progress, running=running, too_long=bool(too_long))

if progress.message:
    (st.error if progress.state == "failed" else st.warning)(progress.message, icon=":material/warning:")
elif paused:
    st.info(
        f"Paused after epoch {progress.epoch} of {progress.epochs}; the model keeps the weights of "
        "that epoch.",
        icon=":material/pause_circle:",
    )
elif progress.state == "stopped":
    st.info(
        f"Stopped after epoch {progress.epoch} of {progress.epochs}; the model keeps those weights. "
        "Press Train to continue from here.",
        icon=":material/stop_circle:",
    )
elif progress.state == "finished" and not running:
    st.success(
        f"Done: {training.epochs_text(progress.epoch)} in {progress.elapsed_s:.1f} s ({len(ws.history)} in total). "
        "Press Train to continue, or follow one input on the Inspect page.",
        icon=":material/check_circle:",
    )
    st.page_link("pages/inspect.py", label="Inspect the trained network", icon=":material/biotech:")

if not running and not session[state.PRESENT]:  # files are not for the projector
    with st.expander("Save or load this model", icon=":material/save:"):
        model_downloads_and_weights(ws, dataset, spec)

epoch = None if running else replay.replay_epoch(ws, dataset)
view = training.LiveView(ws, dataset)
if not running:  # the model is idle: draw it as it is now, or as it was after the epoch chosen
    model = ws.model if epoch is None else replay.model_at(ws, epoch)
    view.update(progress, rendering=job.renderer(model), marker_epoch=epoch)
if training.follow(job, view):
    st.rerun()  # the run ended while we watched: show the buttons and messages for the new state
if epoch is not None:
    replay.look_inside(ws, dataset, spec, model, epoch, features)
