"""Step 3: train the model with a live chart and a live decision boundary."""

import streamlit as st

from nnviz.spec import check_spec
from nnviz.ui import state
from nnviz.ui.data import current_dataset
from nnviz.ui.widgets import show_problems, state_widget

state.init_state()
session = st.session_state
dataset = current_dataset()
ws = state.workspace(dataset)
st.title("Train")

spec = ws.spec(dataset)
problems = check_spec(spec, dataset.target)
if problems:
    st.warning("The network cannot be trained yet:")
    show_problems(problems, fix_page="pages/build.py")
    st.stop()

# TensorFlow is imported only from here on: the pages before this one stay quick to open.
with st.spinner("Starting Keras…"):
    from nnviz.engine import train
    from nnviz.ui.training import LiveView, ensure_model, reset_model

rebuilt_note = ensure_model(ws, spec, seed=session[state.SEED])
if rebuilt_note:
    st.info(rebuilt_note, icon=":material/refresh:")
st.caption(
    f"{dataset.title} · {' → '.join(layer.label() for layer in spec.layers)} · "
    f"{spec.optimizer}, learning rate {spec.learning_rate:g}"
)

epochs_col, batch_col, split_col = st.columns(3)
state_widget(
    epochs_col.number_input,
    "Epochs",
    state.EPOCHS,
    min_value=1,
    max_value=1000,
    step=10,
    help="Passes over the training rows.",
)
state_widget(
    batch_col.selectbox,
    "Batch size",
    state.BATCH_SIZE,
    options=(1, 4, 8, 16, 32, 64, 128, 256, 512),
    help="Rows per gradient step.",
)
state_widget(
    split_col.slider,
    "Validation split",
    state.VALIDATION_SPLIT,
    min_value=0.0,
    max_value=0.5,
    step=0.05,
    help="Fraction of the training rows (taken from the end, as model.fit does) held out to watch overfitting.",
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

train_col, stop_col, reset_col, status_col = st.columns([1, 1, 1, 3], vertical_alignment="center")
start = train_col.button(
    "Train", icon=":material/play_arrow:", type="primary", key="train.start", width="stretch"
)
stop = stop_col.button("Stop", icon=":material/stop:", key="train.stop", width="stretch")
reset = reset_col.button("Reset weights", icon=":material/restart_alt:", key="train.reset", width="stretch")
status = status_col.empty()

# A click on any widget during training reruns this script, which interrupts the running fit.
if ws.training:
    ws.training = False
    st.info(
        f"Training stopped after epoch {len(ws.history)}; the model keeps those weights. "
        "Press Train to continue from here.",
        icon=":material/pause_circle:",
    )
elif stop:
    st.info("Nothing is training right now.")
if reset:
    reset_model(ws, spec, seed=session[state.SEED])
    st.toast("Weights re-initialised from the seed; history cleared.", icon=":material/restart_alt:")


def show_status() -> None:
    status.markdown(f"**{len(ws.history)} epochs trained so far.**" if ws.history else "Not trained yet.")


show_status()
view = LiveView(ws, dataset, features)
view.draw()
if start:
    ws.training = True
    try:
        train(
            ws.model,
            dataset.X_train,
            dataset.y_train,
            epochs=session[state.EPOCHS],
            batch_size=session[state.BATCH_SIZE],
            validation_split=session[state.VALIDATION_SPLIT],
            on_epoch_end=view.on_epoch_end,
        )
    except ValueError as err:
        st.error(str(err))
    ws.training = False
    show_status()
    st.success(
        f"Done: {len(ws.history)} epochs trained in total. Press Train to continue, "
        "or step through one input on the Inspect page.",
        icon=":material/check_circle:",
    )
    st.page_link("pages/inspect.py", label="Inspect the trained network", icon=":material/biotech:")
