"""The Train page's moving parts: the model and its training job kept in the session, and the live view."""

from __future__ import annotations

import itertools
import time
from functools import partial

import streamlit as st

from nnviz import figures
from nnviz.boundary import outcome_rendering
from nnviz.build import build_model
from nnviz.datasets import Dataset
from nnviz.engine import Progress, Trainer, TrainingJob, TrainingQueue
from nnviz.spec import Limits, ModelSpec, check_run, metric_name
from nnviz.ui import state
from nnviz.ui.runtime import freeze_long_lived_objects
from nnviz.ui.state import Workspace
from nnviz.ui.widgets import plain

freeze_long_lived_objects()  # TensorFlow has just been imported with this module

# A job whose page stopped asking for progress (tab closed, another page opened) pauses after this long.
IDLE_PAUSE_S = 5.0
POLL_INTERVAL_S = 0.1  # the page redraws at most ten times a second


def ensure_model(ws: Workspace, spec: ModelSpec, *, seed: int) -> str | None:
    """Make sure ``ws.model`` is built from ``spec``; rebuild (fresh weights) if the spec changed.

    Returns:
        A sentence for the user when an existing trained model had to be replaced, else None.
    """
    if ws.model is not None and ws.model_spec == spec:
        return None
    replaced = ws.model is not None and bool(ws.history)
    reset_model(ws, spec, seed=seed)
    if replaced:
        return (
            "The architecture changed since the last training, so the model was rebuilt with fresh weights."
        )
    return None


def reset_model(ws: Workspace, spec: ModelSpec, *, seed: int) -> None:
    """Build ``spec`` with weights initialised from ``seed`` and forget the training history."""
    halt_training(ws)
    ws.model, ws.model_spec, ws.history, ws.job = build_model(spec, seed=seed), spec, [], None
    ws.replay_model = None
    ws.restart_history()


def halt_training(ws: Workspace) -> bool:
    """Pause a running job and wait for its epoch to end, so the model can be used elsewhere.

    Returns:
        True if a job was running.
    """
    if ws.job is not None and ws.job.running:
        ws.job.halt()
        return True
    return False


def model_at_rest(ws: Workspace, spec: ModelSpec, *, why_paused: str, untrained: str) -> None:
    """Make sure ``ws.model`` is built from ``spec`` and no run changes it while a page reads it.

    Args:
        why_paused: finishes "Training was paused …", shown when a run had to be paused.
        untrained: the warning shown, with a link to Train, when the model has not been trained.
    """
    ensure_model(ws, spec, seed=st.session_state[state.SEED])
    if halt_training(ws):
        st.info(
            f"Training was paused {why_paused}; resume it on the Train page.", icon=":material/pause_circle:"
        )
    if not ws.history:
        st.warning(untrained, icon=":material/casino:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")


@st.cache_resource
def training_queue() -> TrainingQueue:
    """The server's one queue: at most ``NNVIZ_MAX_TRAININGS`` runs train at once, across all users."""
    return TrainingQueue(Limits.from_env().max_trainings)


def training_job(ws: Workspace, dataset: Dataset) -> TrainingJob:
    """The job that trains ``ws.model`` with the session's settings; a new one when the data, the
    settings, the model or its history changed (never while a run is in progress)."""
    session = st.session_state
    settings = (session[state.BATCH_SIZE], session[state.VALIDATION_SPLIT], session[state.SEED])
    key = (id(dataset), *settings, id(ws.model), id(ws.history))
    if ws.job is None or (ws.job_key != key and not ws.job.running):
        batch_size, validation_split, seed = settings
        trainer = Trainer(
            ws.model,
            dataset.X_train,
            dataset.y_train,
            batch_size=batch_size,
            validation_split=validation_split,
            seed=seed,
        )
        job = TrainingJob(
            trainer, ws.history, idle_pause_s=IDLE_PAUSE_S, queue=training_queue(), snapshots=ws.snapshots
        )
        ws.job, ws.job_key = job, key
    return ws.job


# Button callbacks look the job up when clicked, not when drawn: a click can land while a rerun that
# changed the settings is still in progress, and must still train with the settings on screen.
def _train_or_resume(ws: Workspace, dataset: Dataset) -> None:
    job = training_job(ws, dataset)
    if job.running:
        return
    if job.progress().state == "paused":
        job.resume()
    elif run_problem(job) is None:
        job.start(st.session_state[state.EPOCHS])


def run_problem(job: TrainingJob) -> str | None:
    """Why the epochs asked for are too many for one run on this server, or None."""
    return check_run(st.session_state[state.EPOCHS], job.trainer.n_train)


def _step(ws: Workspace, dataset: Dataset) -> None:
    job = training_job(ws, dataset)
    if not job.running:
        job.start(1)


def control_buttons(
    ws: Workspace, dataset: Dataset, spec: ModelSpec, progress: Progress, *, running: bool, too_long: bool
) -> None:
    """Train (or Resume), Pause, Step, Stop and Reset weights, enabled as the job's state allows.

    ``too_long``: the epochs asked for exceed the server's limit for one run, so Train is disabled.
    """
    paused = progress.state == "paused"
    with st.container(horizontal=True, vertical_alignment="center"):
        # One key for Train and Resume: two different buttons swapped in place mid-run leave the
        # browser with a stale button whose clicks are lost.
        st.button(
            f"Resume ({progress.remaining} left)" if paused else "Train",
            icon=":material/play_arrow:",
            type="primary",
            key="train.start",
            disabled=running or (too_long and not paused),
            on_click=_train_or_resume,
            args=(ws, dataset),
        )
        st.button(
            "Pause",
            icon=":material/pause:",
            key="train.pause",
            disabled=not running,
            on_click=lambda: ws.job and ws.job.pause(),
        )
        st.button(
            "Step",
            icon=":material/skip_next:",
            key="train.step",
            disabled=running,
            on_click=_step,
            args=(ws, dataset),
            help="Train exactly one epoch.",
        )
        st.button(
            "Stop",
            icon=":material/stop:",
            key="train.stop",
            disabled=not (running or paused),
            on_click=lambda: ws.job and ws.job.stop(),
        )
        st.button(
            "Reset weights",
            icon=":material/restart_alt:",
            key="train.reset",
            disabled=running,
            on_click=reset_model,
            args=(ws, spec),
            kwargs={"seed": st.session_state[state.SEED]},
            help="Start again from fresh weights (drawn from the seed); the history is cleared.",
        )
        st.markdown(
            f"**{epochs_text(len(ws.history))} trained so far.**" if ws.history else "Not trained yet."
        )


def renderer_for(dataset: Dataset, spec: ModelSpec, features: tuple[int, int] | None):
    """``f(model)`` that the job calls between epochs to refresh the outcome view."""
    return partial(outcome_rendering, dataset=dataset, loss=spec.loss, features=features)


def epochs_text(count: int) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _duration(seconds: float) -> str:
    return (
        f"{seconds:.1f} s"
        if seconds < 10
        else f"{seconds:.0f} s"
        if seconds < 90
        else f"{seconds / 60:.1f} min"
    )


def progress_text(progress: Progress) -> str:
    """E.g. ``Epoch 12 of 50 · 1.3 s so far · about 4.1 s left``."""
    if progress.state == "queued":
        return (
            f"Waiting for a free training slot: you are number {progress.queue_position} in the queue "
            f"({training_queue().capacity} runs train at once on this server)."
        )
    text = f"Epoch {progress.epoch} of {progress.epochs} · "
    if progress.state == "running":
        left = f" · about {_duration(progress.eta_s)} left" if progress.epoch else ""
        return text + f"{_duration(progress.elapsed_s)} so far" + left
    return text + f"took {_duration(progress.elapsed_s)}"


class LiveView:
    """Progress bar, history chart and outcome (boundary or predicted vs actual) for one page run.

    Each :meth:`update` redraws only what changed since the last one: the chart when epochs were
    added, the outcome when the job made a new rendering.
    """

    def __init__(self, ws: Workspace, dataset: Dataset):
        self.ws, self.dataset = ws, dataset
        self.progress = st.empty()
        chart_col, outcome_col = st.columns(2, gap="large")
        with chart_col:
            st.subheader("Loss and " + ("accuracy" if dataset.class_names else "error"))
            self.chart = st.empty()
        with outcome_col:
            st.subheader("Decision boundary" if dataset.class_names else "Predicted vs actual (test rows)")
            self.outcome = st.empty()
        self._keys = itertools.count()
        self._drawn_epochs = self._drawn_rendering = -1
        self._marker_epoch: int | None = None

    def update(self, progress: Progress, rendering=None, *, marker_epoch: int | None = None) -> None:
        """Draw what changed; ``rendering`` overrides the job's (used when no run is in progress), and
        ``marker_epoch`` marks the epoch it shows on the curve."""
        self._marker_epoch = marker_epoch
        if progress.epochs:
            self.progress.progress(progress.epoch / progress.epochs, text=progress_text(progress))
        if len(self.ws.history) != self._drawn_epochs:
            self._drawn_epochs = len(self.ws.history)
            self._draw_chart()
        rendering_epoch = progress.rendering_epoch if rendering is None else len(self.ws.history)
        if rendering_epoch != self._drawn_rendering or rendering is not None:
            self._drawn_rendering = rendering_epoch
            self._draw_outcome(progress.rendering if rendering is None else rendering)

    def _draw_chart(self) -> None:
        if not self.ws.history:
            self.chart.info("The loss curve appears here as soon as training starts.")
            return
        metric = metric_name(self.ws.model_spec.loss)
        figure = figures.history_figure(self.ws.history, metric, marker_epoch=self._marker_epoch)
        self.chart.plotly_chart(figure, key=self._key("history"))

    def _draw_outcome(self, rendering) -> None:
        figure = figures.outcome_figure(rendering, self.dataset)
        if figure is not None:
            self.outcome.plotly_chart(figure, key=self._key("outcome"))
        elif self.dataset.is_image:
            self.outcome.info(
                f"A decision boundary needs two input features; {plain(self.dataset.title)} has "
                f"{' × '.join(map(str, self.dataset.input_shape))} pixels. Follow one image through the "
                "network on the Inspect page instead."
            )

    def _key(self, name: str) -> str:
        # Each redraw is a new element: a fresh key keeps Streamlit from seeing duplicates.
        return f"live.{name}.{next(self._keys)}"


def follow(job: TrainingJob, view: LiveView) -> bool:
    """Redraw ``view`` from ``job`` until its run ends.

    Returns:
        True if a run was in progress when this was called (the page should then rerun once, so
        that its buttons show the new state).
    """
    was_running = job.running
    while job.running:
        view.update(job.progress())
        time.sleep(POLL_INTERVAL_S)
    view.update(job.progress())
    return was_running
