"""The Train page's moving parts: the model and its training job kept in the session, and the live view."""

from __future__ import annotations

import time
from functools import partial

import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.explain.boundary import BoundaryAxes, BoundaryGrid, input_grid, outcome_rendering
from nnviz.model.build import build_model
from nnviz.model.cost import run_problem as run_cost_problem
from nnviz.model.cost import view_resolution
from nnviz.model.spec import Limits, ModelSpec, check_run, metric_name
from nnviz.training.engine import Progress, Trainer, TrainingJob, TrainingQueue
from nnviz.training.twins import TwinPool
from nnviz.ui import state
from nnviz.ui.runtime import freeze_long_lived_objects, session_owner, user_request_pending
from nnviz.ui.state import Workspace
from nnviz.ui.widgets import plain
from nnviz.views import livecharts
from nnviz.views.words import plural

freeze_long_lived_objects()  # TensorFlow has just been imported with this module

# A job whose page stopped asking for progress (tab closed, another page opened) pauses after this long.
IDLE_PAUSE_S = 5.0
# The live view redraws when the run changed, at most every REDRAW_S, at least every MAX_WAIT_S.
REDRAW_S = 0.35
MAX_WAIT_S = 2.0
CLICK_CHECK_S = 0.05  # how often a waiting redraw looks for a click to answer
# … while its run waits in the queue: a click there only pauses or stops the wait, and a class's
# worth of queued pages checking 20 times a second cost the server more than the runs they wait for.
QUEUED_CLICK_CHECK_S = 0.25
STEP_WAIT_S = 0.5  # Step waits this long for its epoch before the page is drawn (then it follows live)
PAGE_LIVE = "train.page_live"  # whether the page around the live view was drawn for a live run


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


@st.cache_resource
def twin_pool() -> TwinPool:
    """The server's compiled training steps, one twin per architecture in use, shared by all users."""
    return TwinPool()


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
            epochs_done=len(ws.history),
            twins=partial(twin_pool().lend, ws.model_spec, partial(build_model, ws.model_spec)),
        )
        job = TrainingJob(
            trainer,
            ws.history,
            idle_pause_s=IDLE_PAUSE_S,
            queue=training_queue(),
            snapshots=ws.snapshots,
            owner=session_owner(),  # a session trains or predicts in one slot at a time
            still_watched=partial(st.session_state[state.VIEWER].watches, "train", dataset.key)
            if state.VIEWER in st.session_state
            else None,
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
    elif run_problem(job, ws.model_spec) is None:
        job.start(st.session_state[state.EPOCHS])


def run_problem(job: TrainingJob, spec: ModelSpec, *, epochs: int | None = None) -> str | None:
    """Why the epochs asked for (or ``epochs``) are too many for one run on this server, in row
    passes or in FLOPs, or None."""
    epochs = st.session_state[state.EPOCHS] if epochs is None else epochs
    rows = job.trainer.n_train
    return check_run(epochs, rows) or run_cost_problem(spec, epochs=epochs, rows=rows)


def _step(ws: Workspace, dataset: Dataset) -> None:
    job = training_job(ws, dataset)
    if not job.running and run_problem(job, ws.model_spec, epochs=1) is None:  # else the page says why
        job.start(1)
        job.join(timeout=STEP_WAIT_S)  # a short epoch is done before the page is drawn again


def _settle(job: TrainingJob | None, act) -> None:
    """Ask ``job`` to pause or stop and wait (a chunk, ≤ ~0.2 s) until it has, so the page drawn
    after the click already shows the new state."""
    if job is not None:
        act(job)
        job.join(timeout=1.0)


def control_buttons(
    ws: Workspace, dataset: Dataset, spec: ModelSpec, progress: Progress, *, too_long: bool
) -> None:
    """Train (or Resume), Pause, Step, Stop and Reset weights, enabled as the job's state allows.

    ``too_long``: the epochs asked for exceed the server's limit for one run, so Train is disabled.
    """
    paused, live = progress.state == "paused", progress.live
    with st.container(horizontal=True, vertical_alignment="center"):
        # One key for Train and Resume: two different buttons swapped in place mid-run leave the
        # browser with a stale button whose clicks are lost.
        st.button(
            f"Resume ({progress.remaining} left)" if paused else "Train",
            icon=":material/play_arrow:",
            type="primary",
            key="train.start",
            disabled=live or (too_long and not paused),
            on_click=_train_or_resume,
            args=(ws, dataset),
        )
        st.button(
            "Pause",
            icon=":material/pause:",
            key="train.pause",
            disabled=not live,
            on_click=lambda: _settle(ws.job, TrainingJob.pause),
        )
        st.button(
            "Step",
            icon=":material/skip_next:",
            key="train.step",
            disabled=live,
            on_click=_step,
            args=(ws, dataset),
            help="Train exactly one epoch (or finish the epoch a pause interrupted).",
        )
        st.button(
            "Stop",
            icon=":material/stop:",
            key="train.stop",
            disabled=not (live or paused),
            on_click=lambda: _settle(ws.job, TrainingJob.stop),
        )
        st.button(
            "Reset weights",
            icon=":material/restart_alt:",
            key="train.reset",
            disabled=live,
            on_click=reset_model,
            args=(ws, spec),
            kwargs={"seed": st.session_state[state.SEED]},
            help="Start again from fresh weights (drawn from the seed); the history is cleared.",
        )


_GRID = "train.boundary_grid"  # (dataset, (axes, resolution), InputGrid) of the last boundary drawn


def renderer_for(dataset: Dataset, spec: ModelSpec, features: BoundaryAxes | None):
    """``f(model)`` that the job calls between chunks to refresh the outcome view (its grid, the
    PCA plane included, is computed once here, not per redraw)."""
    grid = None
    if features is not None and dataset.task != "regression":
        # as many points as a redraw can afford for this network (a wide one gets a coarser grid)
        view = (features, view_resolution(spec, dims=features.dims, most=150))
        kept = st.session_state.get(_GRID)  # the page reruns often; the grid changes with its inputs only
        if kept is None or kept[0] is not dataset or kept[1] != view:
            kept = st.session_state[_GRID] = (
                dataset,
                view,
                input_grid(dataset.X_train, features, resolution=view[1]),
            )
        grid = kept[2]
    return partial(outcome_rendering, dataset=dataset, loss=spec.loss, features=features, grid=grid)


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


def _where(progress: Progress) -> str:
    """``epoch 12 of 50``, or ``during epoch 13 of 50 (30 of 240 batches done)`` mid-epoch."""
    if progress.step:
        return (
            f"during epoch {progress.epoch + 1} of {progress.epochs} "
            f"({progress.step} of {plural(progress.steps_per_epoch, 'batch')} done)"
        )
    return f"after epoch {progress.epoch} of {progress.epochs}"


def progress_text(progress: Progress) -> str:
    """E.g. ``Epoch 12 of 50 · 1.3 s so far · about 4.1 s left``."""
    if progress.state == "queued":
        return (
            f"Waiting for a free training slot: you are number {progress.queue_position} in the queue "
            f"({training_queue().capacity} runs train at once on this server)."
        )
    text = f"Epoch {progress.epoch} of {progress.epochs}"
    if progress.step:
        text += f" (+ {progress.step} of {plural(progress.steps_per_epoch, 'batch')})"
    text += " · "
    if progress.state == "running":
        left = f" · about {_duration(progress.eta_s)} left" if progress.done_fraction else ""
        return text + f"{_duration(progress.elapsed_s)} so far" + left
    return text + f"took {_duration(progress.elapsed_s)}"


def run_message(ws: Workspace, progress: Progress) -> None:
    """How the last run ended (or that it waits for its turn): one message, in the user's words."""
    if progress.message:
        (st.error if progress.state == "failed" else st.warning)(
            plain(progress.message), icon=":material/warning:"
        )
    elif progress.state == "paused":
        st.info(
            f"Paused {_where(progress)}; the model keeps the weights it has now, and Resume carries on "
            "from the very next batch.",
            icon=":material/pause_circle:",
        )
    elif progress.state == "stopped":
        st.info(
            f"Stopped {_where(progress)}; the model keeps the weights it has now. Press Train to continue "
            "from here.",
            icon=":material/stop_circle:",
        )
    elif progress.state == "finished":
        st.success(
            f"Done: {epochs_text(progress.epoch)} in {progress.elapsed_s:.1f} s ({len(ws.history)} in total). "
            "Press Train to continue, or follow one input on the Inspect page.",
            icon=":material/check_circle:",
        )
        st.page_link("pages/inspect.py", label="Inspect the trained network", icon=":material/biotech:")


def live_area(
    ws: Workspace,
    dataset: Dataset,
    spec: ModelSpec,
    features: BoundaryAxes | None,
    *,
    replay_epoch: int | None,
    too_long: bool,
) -> None:
    """The Train page's buttons, then its moving part: status, progress, loss chart and outcome view.

    The moving part is a fragment: while a run is live it redraws itself, in place (the same
    elements, and Vega charts whose numbers alone change, so the browser updates them instead of
    replacing them), each time the run changed, at most every ``REDRAW_S``. The buttons and the rest
    of the page are drawn once: a run that starts or ends reruns the whole page, whose buttons, look
    back and file section differ between runs.
    """
    progress = training_job(ws, dataset).progress()
    st.session_state[PAGE_LIVE] = progress.live
    control_buttons(ws, dataset, spec, progress, too_long=too_long)
    # While live the browser asks for a redraw every REDRAW_S; each redraw waits for news first.
    view = st.fragment(_live_view, run_every=REDRAW_S if progress.live else None)
    view(ws, dataset, features, replay_epoch)


def _live_view(ws, dataset, features, replay_epoch) -> None:
    job = training_job(ws, dataset)
    progress = job.progress()
    if progress.live != st.session_state.get(PAGE_LIVE):
        st.rerun()  # a run started or ended: the page around this view changes too
    drawn_at = time.monotonic()
    # Drawn by a fragment nested in this one: Streamlit marks a rerunning fragment's elements as
    # stale until each is redrawn, but not those of a fragment inside it, so the live charts never
    # blink stale between redraws. The nested part draws the same elements every time while a run
    # is live (a rerun of this fragment would not clear leftovers in it); between runs the whole
    # page is redrawn.
    st.fragment(_live_content)(ws, dataset, job, progress, features, replay_epoch)
    if progress.live:
        _wait_for_news(job, progress.version, drawn_at, queued=progress.state == "queued")
        if not job.progress().live:
            st.rerun()  # the run just ended: show the page after it now, not at the next tick


def _live_content(ws, dataset, job, progress, features, replay_epoch) -> None:
    st.markdown(f"**{epochs_text(len(ws.history))} trained so far.**" if ws.history else "Not trained yet.")
    run_message(ws, progress)
    if progress.epochs:
        st.progress(progress.done_fraction, text=progress_text(progress))
    chart_col, outcome_col = st.columns(2, gap="large")
    # Keyed containers: the charts inside keep their place (and the browser its chart) every redraw.
    with chart_col, st.container(key="train-live-history"):
        st.subheader("Loss and " + ("accuracy" if dataset.class_names else "error"))
        _history_chart(ws, progress, replay_epoch=None if progress.live else replay_epoch)
    with outcome_col, st.container(key="train-live-outcome"):
        st.subheader("Decision boundary" if dataset.class_names else "Predicted vs actual (test rows)")
        _outcome(ws, dataset, job, progress, replay_epoch=replay_epoch, features=features)


def _history_chart(ws: Workspace, progress: Progress, *, replay_epoch: int | None) -> None:
    if not ws.history and progress.running_logs is None:
        st.info("The loss curve appears here as soon as training starts.")
        return
    running = None
    if progress.running_logs is not None:
        running = (len(ws.history) + progress.step / progress.steps_per_epoch, progress.running_logs)
    last_epoch = len(ws.history) - progress.epoch + progress.epochs if progress.live else None
    metric = metric_name(ws.model_spec.loss)
    panels = (("loss", "Loss"), (metric, "Accuracy" if metric == "accuracy" else "Mean absolute error"))
    for column, (name, title) in zip(st.columns(2), panels):
        spec = livecharts.history_panel(
            ws.history, name, title=title, running=running, marker_epoch=replay_epoch, last_epoch=last_epoch
        )
        column.vega_lite_chart(spec, key=f"train.live.{name}")


def _outcome(
    ws: Workspace, dataset: Dataset, job: TrainingJob, progress: Progress, *, replay_epoch, features
) -> None:
    if progress.live and progress.rendering is not None:
        rendering = progress.rendering
    else:  # between runs the model is idle: draw it as it is, or as it was after the epoch chosen
        from nnviz.ui import replay

        model = ws.model if replay_epoch is None else replay.model_at(ws, replay_epoch)
        at = len(ws.history) if replay_epoch is None else replay_epoch
        state_drawn = ("outcome", id(dataset), id(ws.model), len(ws.history), at, features)
        rendering = replay.cached(ws, state_drawn, lambda: job.renderer(model))
    if isinstance(rendering, BoundaryGrid):
        spec = livecharts.boundary_chart(
            rendering,
            dataset.X_train,
            dataset.y_train,
            feature_names=dataset.feature_names,
            class_names=dataset.class_names,
            note=rendering.grid.note(dataset.feature_names),
        )
        # A key per kind of view: a line and a plane are different charts, never one updated into the other.
        key = "train.live.boundary" if rendering.grid.axes.dims == 2 else "train.live.probability"
        st.vega_lite_chart(spec, key=key)
    elif rendering is not None:
        actual, predicted = rendering
        spec = livecharts.regression_chart(actual, predicted, target_name=dataset.target_name)
        st.vega_lite_chart(spec, key="train.live.regression")
    elif dataset.is_image:
        st.info(
            f"A decision boundary is drawn over one or two input features; {plain(dataset.title)} has "
            f"{' × '.join(map(str, dataset.input_shape))} pixels. Follow one image through the "
            "network on the Inspect page instead."
        )


def _wait_for_news(job: TrainingJob, version: int, drawn_at: float, *, queued: bool = False) -> None:
    """Hold this redraw until the run changed (no sooner than ``REDRAW_S`` after the last one, no
    later than ``MAX_WAIT_S``), or at once when the user asks for something: nothing is sent while
    nothing changed, and a click is answered within ``CLICK_CHECK_S``. A ``queued`` run that only
    moved up in line is not news: its new place shows at the ``MAX_WAIT_S`` redraw (when a run ends,
    every run behind it moves up, and redrawing all their pages at once would slow the server that
    trains them); its start or end is news at once. A queued run looks for clicks every
    ``QUEUED_CLICK_CHECK_S``."""
    earliest, latest = drawn_at + REDRAW_S, drawn_at + MAX_WAIT_S
    check_s = QUEUED_CLICK_CHECK_S if queued else CLICK_CHECK_S
    while not user_request_pending():
        now = time.monotonic()
        if now >= latest:
            return
        if now < earliest:
            time.sleep(min(check_s, earliest - now))
            continue
        seen = job.wait_for_change(version, timeout=min(check_s, latest - now))
        if seen == version:
            continue
        if not (queued and job.progress().state == "queued"):
            return
        version = seen  # only its place in line changed: shown at the latest redraw
