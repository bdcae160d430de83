"""Training: the maths of ``model.fit``, with far less overhead per epoch, and a background job for the UI.

:class:`Trainer` trains exactly as ``model.fit(X, y, batch_size=b, validation_split=v, shuffle=True)``
would: the same optimizer and loss (the model's own, from ``compile``), the same number of steps per
epoch (the last batch may be short), a fresh shuffle of the training rows every epoch, the same
held-out rows (the last ``v`` of them) and the same metrics. What it avoids is overhead that costs
more than the maths for the small models people teach with:

- with TensorFlow, the rows become tensors once, and the input pipeline (``tf.data``: shuffle,
  batch, repeat) is a cheap graph over them, not a fresh conversion of numpy arrays per run (with
  JAX, ``fit`` slices the numpy arrays itself, which is faster there);
- each epoch runs as one compiled call (``steps_per_execution`` = steps per epoch), so Python is
  entered once per epoch, not once per batch;
- validation metrics come from one compiled test step over the held-out rows, not a fresh ``evaluate()``.

:class:`TrainingJob` runs a Trainer in a background thread so that drawing never blocks a training
step. Pause, step, resume and stop act between epochs, the only points where the weights belong to
one epoch. Nothing here imports Streamlit: the UI polls :meth:`TrainingJob.progress`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from nnviz.snapshots import WeightHistory


@dataclass(frozen=True)
class EpochReport:
    """Progress after one epoch.

    Attributes:
        epoch: epochs finished in this run, from 1.
        epochs: epochs requested in this run.
        logs: ``loss``, the metric and their ``val_`` twins for this epoch.
        elapsed_s: seconds since the run started.
    """

    epoch: int
    epochs: int
    logs: dict[str, float]
    elapsed_s: float

    @property
    def eta_s(self) -> float:
        """Seconds left at the average pace so far."""
        return self.elapsed_s / self.epoch * (self.epochs - self.epoch)


class _Validation(keras.callbacks.Callback):
    """Adds ``val_`` metrics from one compiled test step over all the held-out rows.

    ``test_on_batch`` runs the model's own compiled loss and metrics, so the numbers mean what
    ``evaluate()`` would report (the mean over the rows), without its per-call set-up.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        super().__init__()
        self.X, self.y = X, y

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        self.model.reset_metrics()  # training metrics were already read into `logs`
        results = self.model.test_on_batch(self.X, self.y, return_dict=True)
        logs.update({f"val_{name}": float(value) for name, value in results.items()})


class _Report(keras.callbacks.Callback):
    """Forwards each epoch's logs, as floats, and stops between epochs when asked."""

    def __init__(self, epochs: int, on_epoch_end: Callable[[EpochReport], None], should_stop):
        super().__init__()
        self.epochs, self.report, self.should_stop = epochs, on_epoch_end, should_stop

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        numbers = {name: float(value) for name, value in (logs or {}).items()}
        self.report(EpochReport(epoch + 1, self.epochs, numbers, time.perf_counter() - self.started))
        if not math.isfinite(numbers.get("loss", 0.0)) or (self.should_stop and self.should_stop()):
            self.model.stop_training = True


class Trainer:
    """Trains ``model`` on ``(X, y)`` as ``model.fit`` would, run after run, from the current weights.

    Args:
        model: a compiled Keras model.
        X: features, shape ``(n, *input_shape)``.
        y: labels or targets, shape ``(n,)``.
        batch_size: rows per gradient step.
        validation_split: fraction of rows, taken from the end as ``model.fit`` does, held out for
            the ``val_`` metrics; 0 for none.
        shuffle: reshuffle the training rows every epoch (``model.fit``'s default).
        seed: seed of the shuffles; with the same seed, the same runs see the same batches.
    """

    def __init__(
        self,
        model: keras.Model,
        X: np.ndarray,
        y: np.ndarray,
        *,
        batch_size: int,
        validation_split: float = 0.0,
        shuffle: bool = True,
        seed: int = 0,
    ):
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split={validation_split} must be in [0, 1), e.g. 0.2.")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1, e.g. 32.")
        split_at = int(math.floor(len(X) * (1.0 - validation_split)))  # as keras' train_validation_split
        if split_at < 1:
            raise ValueError(
                f"No training rows left after holding out {validation_split:.0%}; lower the split."
            )
        self.model, self.batch_size, self.shuffle, self.seed = model, batch_size, shuffle, seed
        self.n_train = split_at
        self.steps_per_epoch = math.ceil(split_at / batch_size)
        self.X_val, self.y_val = X[split_at:], y[split_at:]
        self._rows = (X[:split_at], y[:split_at])
        if keras.backend.backend() == "tensorflow":
            self._rows = tuple(map(tf.convert_to_tensor, self._rows))  # once, not on every run
        self.epochs_done = 0

    def dataset(self) -> tf.data.Dataset:
        """Batches for the next epochs: shuffled afresh each epoch, repeated without end."""
        rows = tf.data.Dataset.from_tensor_slices(self._rows)
        if self.shuffle:
            # A run that resumes after a pause continues the sequence of shuffles, not repeats it.
            rows = rows.shuffle(
                self.n_train, seed=self.seed + self.epochs_done, reshuffle_each_iteration=True
            )
        return rows.batch(self.batch_size).repeat().prefetch(tf.data.AUTOTUNE)

    def run(
        self,
        epochs: int,
        *,
        on_epoch_end: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[dict[str, float]]:
        """Train ``epochs`` more epochs; stop early after an epoch where ``should_stop()`` is true
        or the loss is not a finite number.

        Returns:
            One dict of metrics per finished epoch.
        """
        if self.model.steps_per_execution != self.steps_per_epoch:
            # One compiled call per epoch. Changing it retraces, so it is set only when it changes.
            self.model.steps_per_execution = self.steps_per_epoch
            self.model.make_train_function(force=True)
        records: list[dict[str, float]] = []

        def record(report: EpochReport) -> None:
            records.append(report.logs)
            self.epochs_done += 1
            if on_epoch_end is not None:
                on_epoch_end(report)

        callbacks = [_Validation(self.X_val, self.y_val)] if len(self.X_val) else []
        callbacks.append(_Report(epochs, record, should_stop))
        self.model.fit(epochs=epochs, callbacks=callbacks, verbose=0, **self._fit_inputs())
        return records

    def _fit_inputs(self) -> dict:
        if keras.backend.backend() == "tensorflow":
            # The dataset shuffles itself; it repeats, so fit needs the epoch length.
            return {"x": self.dataset(), "steps_per_epoch": self.steps_per_epoch, "shuffle": False}
        # JAX and the other backends slice numpy arrays natively: faster than through tf.data
        # (measured with JAX: 1.3 s instead of 3.2 s for the iris benchmark), and fit shuffles them.
        X, y = self._rows
        return {"x": X, "y": y, "batch_size": self.batch_size, "shuffle": self.shuffle}


class TrainingQueue:
    """Lets at most ``capacity`` runs train at once in this process; the others wait, first come first served.

    Args:
        capacity: how many runs may train at the same time, at least 1.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity={capacity}: at least one run must be able to train.")
        self.capacity = capacity
        self._changed = threading.Condition()
        self._training = 0
        self._waiting: list[object] = []

    def wait_for_turn(self, ticket: object, *, give_up: Callable[[], bool], poll_s: float = 0.1) -> bool:
        """Block until ``ticket`` may train; False if ``give_up()`` turned true while it waited."""
        with self._changed:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._training >= self.capacity:
                    if give_up():
                        return False
                    self._changed.wait(poll_s)
                self._training += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()

    def done(self) -> None:
        """A run that was let through has ended: the next in line may train."""
        with self._changed:
            self._training -= 1
            self._changed.notify_all()

    def position(self, ticket: object) -> int:
        """``ticket``'s place in line (1 = next to train), or 0 when it is not waiting."""
        with self._changed:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else 0

    @property
    def training(self) -> int:
        """Runs training right now."""
        return self._training


@dataclass(frozen=True)
class Progress:
    """What a :class:`TrainingJob` is doing, for a UI to draw.

    Attributes:
        state: ``"idle"`` (nothing run yet), ``"queued"`` (waiting for a free training slot),
            ``"running"``, ``"paused"`` (epochs remain), ``"stopped"``, ``"finished"`` or ``"failed"``.
        epoch: epochs finished in the current (or last) run.
        epochs: epochs requested for that run.
        elapsed_s: seconds that run has taken so far.
        remaining: epochs a resume would still run.
        rendering: the latest result of the job's ``renderer``; ``rendering_epoch`` is the total
            number of epochs trained when it was made.
        message: why the last run ended early, in the user's words, or None.
        queue_position: place in the server's queue while ``"queued"`` (1 = next), else 0.
    """

    state: str
    epoch: int
    epochs: int
    elapsed_s: float
    remaining: int
    rendering: object
    rendering_epoch: int
    message: str | None
    queue_position: int = 0

    @property
    def eta_s(self) -> float:
        return self.elapsed_s / self.epoch * (self.epochs - self.epoch) if self.epoch else float("nan")


class TrainingJob:
    """Runs a :class:`Trainer` in a background thread; pause, step, resume and stop between epochs.

    Args:
        trainer: what to train.
        history: a list that receives one metrics dict per finished epoch, at once (so nothing is
            lost if the run is stopped).
        renderer: optional ``f(model) -> object`` (e.g. a decision-boundary grid), called in the
            training thread between epochs at most every ``render_interval_s`` seconds and after the
            last epoch of a run, so it always sees the weights of one finished epoch.
        idle_pause_s: pause by itself when :meth:`progress` has not been called for this long
            (the page that showed it was closed); None to never do so.
        queue: a :class:`TrainingQueue` shared by every job of the server; a run waits there
            (state ``"queued"``) until it may train.
        snapshots: a :class:`~nnviz.snapshots.WeightHistory` that receives the weights after each
            epoch (numbered as the history counts them), for replaying the run later.
    """

    def __init__(
        self,
        trainer: Trainer,
        history: list[dict[str, float]],
        *,
        renderer: Callable[[keras.Model], object] | None = None,
        render_interval_s: float = 0.25,
        idle_pause_s: float | None = None,
        queue: TrainingQueue | None = None,
        snapshots: WeightHistory | None = None,
    ):
        self.trainer, self.history, self.queue, self.snapshots = trainer, history, queue, snapshots
        self.renderer, self.render_interval_s, self.idle_pause_s = renderer, render_interval_s, idle_pause_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._request: str | None = None  # "pause" or "stop", acted on between epochs
        self._state, self._message = "idle", None
        self._epoch = self._epochs = self._remaining = 0
        self._started = self._finished = 0.0
        self._rendering, self._rendering_epoch, self._last_render = None, 0, float("-inf")
        self._last_seen = time.monotonic()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, epochs: int) -> None:
        """Train ``epochs`` more epochs in the background."""
        if epochs < 1:
            raise ValueError(f"epochs={epochs} must be at least 1.")
        with self._lock:
            if self.running:
                raise RuntimeError("A run is already in progress; pause or stop it first.")
            self._request, self._message = None, None
            state = "running" if self.queue is None else "queued"
            self._state, self._epoch, self._epochs, self._remaining = state, 0, epochs, epochs
            self._started, self._last_seen = time.perf_counter(), time.monotonic()
            self._thread = threading.Thread(
                target=self._run, args=(epochs,), name="nnviz-training", daemon=True
            )
            self._thread.start()

    def resume(self) -> None:
        """Continue a paused run with the epochs it had left."""
        if self._state == "paused" and self._remaining:
            self.start(self._remaining)

    def pause(self) -> None:
        """Stop after the current epoch, keeping the epochs left for :meth:`resume`."""
        self._request = "pause"

    def stop(self) -> None:
        """Stop after the current epoch, or end a paused run; the epochs left are dropped."""
        with self._lock:
            if self.running:
                self._request = "stop"
            elif self._state == "paused":
                self._state, self._remaining, self._message = "stopped", 0, None

    def join(self, timeout: float | None = None) -> None:
        """Wait for the current run to end (after :meth:`pause` or :meth:`stop`, within one epoch)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def halt(self) -> None:
        """Pause and wait: afterwards the model can be used safely by someone else."""
        if self.running:
            self.pause()
            self.join()

    def progress(self) -> Progress:
        """A consistent snapshot of the job; calling it also tells the job someone is watching."""
        position = self.queue.position(self) if self.queue is not None else 0
        with self._lock:
            self._last_seen = time.monotonic()
            end = time.perf_counter() if self._state == "running" else self._finished
            return Progress(
                self._state,
                self._epoch,
                self._epochs,
                max(end - self._started, 0.0) if self._started else 0.0,
                self._remaining,
                self._rendering,
                self._rendering_epoch,
                self._message,
                position if self._state == "queued" else 0,
            )

    def _run(self, epochs: int) -> None:
        try:
            if self.queue is not None and not self.queue.wait_for_turn(self, give_up=self._should_stop):
                end_state, message = self._end_state()  # paused or stopped while still waiting
            else:
                with self._lock:
                    self._state, self._started = "running", time.perf_counter()  # time spent training only
                try:
                    self.trainer.run(epochs, on_epoch_end=self._on_epoch_end, should_stop=self._should_stop)
                finally:
                    if self.queue is not None:
                        self.queue.done()
                self._render(force=True)
                end_state, message = self._end_state()
        except Exception as err:  # noqa: BLE001 - reported to the user instead of killing the thread silently
            end_state, message = "failed", f"Training failed: {type(err).__name__}: {err}"
        with self._lock:
            self._state, self._message, self._finished = end_state, message, time.perf_counter()
            if end_state != "paused":
                self._remaining = 0

    def _end_state(self) -> tuple[str, str | None]:
        last = self.history[-1] if self.history else {}
        if not math.isfinite(last.get("loss", 0.0)):
            return "stopped", (
                f"The loss became {last.get('loss')} at epoch {len(self.history)}: the weights blew up. "
                "Reset the weights and try a smaller learning rate."
            )
        if self._epoch == self._epochs:
            return "finished", None
        if self._request == "pause":
            if self.idle_pause_s is not None and time.monotonic() - self._last_seen > self.idle_pause_s:
                return "paused", "Paused by itself because nobody was watching (the Train page was left)."
            return "paused", None
        return "stopped", None

    def _on_epoch_end(self, report: EpochReport) -> None:
        self.history.append(report.logs)
        if self.snapshots is not None:
            self.snapshots.add(len(self.history), self.trainer.model.get_weights())
        with self._lock:
            self._epoch, self._remaining = report.epoch, report.epochs - report.epoch
        self._render(force=False)

    def _should_stop(self) -> bool:
        if self.idle_pause_s is not None and time.monotonic() - self._last_seen > self.idle_pause_s:
            self._request = self._request or "pause"
        return self._request is not None

    def _render(self, *, force: bool) -> None:
        renderer = self.renderer
        now = time.perf_counter()
        if renderer is None or (not force and now - self._last_render < self.render_interval_s):
            return
        rendering = renderer(self.trainer.model)
        with self._lock:
            self._rendering, self._rendering_epoch, self._last_render = rendering, len(self.history), now
