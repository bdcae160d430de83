"""Step 3: train the model with a live chart and a live decision boundary; play, pause, step, stop."""

import streamlit as st

from nnviz.model.sharelink import BATCH_SIZES
from nnviz.ui import replay, state
from nnviz.ui.files import model_downloads_and_weights
from nnviz.ui.page import trainable_spec, workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import boundary_axes, plain, state_widget

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
    f"{plain(dataset.title)} · {plain(' → '.join(layer.label() for layer in spec.layers))} · "
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

features = boundary_axes(dataset)

job = training.training_job(ws, dataset)
job.renderer = training.renderer_for(dataset, spec, features)
progress = job.progress()
if progress.live and job.trainer.batch_size != session[state.BATCH_SIZE]:
    st.caption("The new batch size and validation split apply from the next run.")
too_long = training.run_problem(job, spec)
if too_long and progress.state != "paused":
    st.warning(too_long, icon=":material/timer_off:")

# The live view goes here, but is drawn after the slider below has been read (its epoch is shown).
live_slot = st.container()
epoch = None if progress.live else replay.replay_epoch(ws, dataset)
with live_slot:
    training.live_area(ws, dataset, spec, features, replay_epoch=epoch, too_long=bool(too_long))
if not progress.live:  # between runs: look back at any epoch, and the model's files
    if epoch is not None:
        replay.look_inside(ws, dataset, spec, replay.model_at(ws, epoch), epoch, features)
    if not session[state.PRESENT]:  # files are not for the projector
        with st.expander("Save or load this model", icon=":material/save:"):
            model_downloads_and_weights(ws, dataset, spec)
