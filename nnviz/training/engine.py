"""Training: the maths of ``model.fit``, with far less overhead, handing control back every ~0.2 s.

:class:`Trainer` trains as ``model.fit(X, y, batch_size=b, validation_split=v)`` would: the same
optimizer and loss (the model's own, from ``compile``), the same number of steps per epoch (the last
batch may be short), a new order of the training rows every epoch, the same held-out rows (the last
``v`` of them) and the same metrics. Where it differs, on purpose:

- **The order of epoch k depends on the seed and k only** (:func:`epoch_order`), not on how the run
  was cut up: pausing, resuming, stopping and stepping give exactly the weights and curve of one
  uninterrupted run of the same length.
- **Work comes in chunks of about ``chunk_s`` seconds**, never longer than an epoch: each chunk is
  one compiled call over as many batches as fit in that time (measured as it goes), so a one-row
  batch epoch of 5,000 rows still answers Pause or Stop within a fraction of a second and the live
  chart moves within the epoch. A run can stop between any two chunks, also mid-epoch; the next run
  continues from that very batch, with the epoch's running metrics restored.
- With TensorFlow the rows become tensors once; a chunk is a gather of its rows and one call of a
  traced loop of the model's own ``train_step`` over their batches (traced once per model, for any
  number of batches: a third of what Keras's multi-step ``train_function`` costs to trace, since
  that traces its step twice). Validation is the model's ``test_step`` over all the held-out rows,
  traced the same way. Given ``twins`` (:mod:`nnviz.training.twins`), the traced steps belong to a
  twin of the model's architecture that many models share, and are not traced for every model.
  With other backends (JAX) each chunk is a whole epoch through ``fit`` on the rows in that epoch's
  order.

:class:`TrainingJob` runs a Trainer in a background thread so that drawing never blocks a training
step, and tells watchers when something changed (:meth:`TrainingJob.wait_for_change`) so that a page
redraws only then. Nothing here imports Streamlit.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import keras
import numpy as np

from nnviz.training.snapshots import WeightHistory
from nnviz.training.twins import copy_state, copy_weights, state_variables

CHUNK_S = 0.2  # seconds of training between two points where a run can stop or report


def training_rows(n_rows: int, validation_split: float) -> int:
    """How many of ``n_rows`` rows train (the first ones); the rest are held out for the ``val_``
    metrics, as ``model.fit(validation_split=…)`` splits them."""
    return int(math.floor(n_rows * (1.0 - validation_split)))


def epoch_order(n_rows: int, *, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order in which epoch ``epoch`` (0 = the first) visits ``n_rows`` training rows.

    Args:
        n_rows: training rows.
        seed: the session's seed.
        epoch: epochs the model had finished before this one.
        shuffle: False keeps the rows in their order (as ``fit(shuffle=False)``).

    Returns:
        A permutation of ``range(n_rows)``, shape ``(n_rows,)``: the same for the same seed and
        epoch, whatever ran before.
    """
    if not shuffle:
        return np.arange(n_rows)
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


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


class Trainer:
    """Trains ``model`` on ``(X, y)`` as ``model.fit`` would, run after run, from the current weights.

    Args:
        model: a compiled Keras model.
        X: features, shape ``(n, *input_shape)``.
        y: labels or targets, shape ``(n,)``.
        batch_size: rows per gradient step.
        validation_split: fraction of rows, taken from the end as ``model.fit`` does, held out for
            the ``val_`` metrics; 0 for none.
        shuffle: a new order of the training rows every epoch (``model.fit``'s default).
        seed: with the same seed, epoch k visits the rows in the same order (:func:`epoch_order`).
        epochs_done: epochs the model was already trained (the next epoch's order follows on).
        chunk_s: seconds of work between two points where a run reports and may stop.
        twins: optional ``f() -> context manager`` that lends a compiled twin of ``model`` (the same
            spec; :meth:`nnviz.training.twins.TwinPool.lend`) to run the steps on; None traces
            them for ``model`` itself.
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
        epochs_done: int = 0,
        chunk_s: float = CHUNK_S,
        twins: Callable[[], AbstractContextManager[keras.Model]] | None = None,
    ):
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split={validation_split} must be in [0, 1), e.g. 0.2.")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1, e.g. 32.")
        if chunk_s <= 0:
            raise ValueError(f"chunk_s={chunk_s} must be a positive number of seconds, e.g. 0.2.")
        split_at = training_rows(len(X), validation_split)
        if split_at < 1:
            raise ValueError(
                f"No training rows left after holding out {validation_split:.0%}; lower the split."
            )
        self.model, self.batch_size, self.shuffle, self.seed = model, batch_size, shuffle, seed
        self.chunk_s = chunk_s
        self.n_train = split_at
        self.steps_per_epoch = math.ceil(split_at / batch_size)
        self.X_val, self.y_val = X[split_at:], y[split_at:]
        self._rows = (X[:split_at], y[:split_at])
        self._tensorflow = keras.backend.backend() == "tensorflow"
        if self._tensorflow:
            import tensorflow as tf

            self._rows = tuple(map(tf.convert_to_tensor, self._rows))  # once, not on every chunk
            self._held_out = tuple(
                tf.convert_to_tensor(held, part.dtype)
                for held, part in zip((self.X_val, self.y_val), self._rows)
            )
        self.epochs_done = epochs_done
        self.step = 0  # batches done of the epoch in progress
        self.last_logs: dict[str, float] = {}  # after the latest chunk: the epoch's running means so far
        self._order: tuple[int, np.ndarray] | None = None
        self._seconds_per_step: float | None = None
        self._twins = twins if self._tensorflow else None
        self._epoch_metrics: list[np.ndarray] = []  # running metrics of an epoch a run left half-done

    def epoch_rows(self, epoch: int) -> np.ndarray:
        """Row indices of the training rows in the order epoch ``epoch`` (0 = first) visits them."""
        if self._order is None or self._order[0] != epoch:
            self._order = epoch, epoch_order(self.n_train, seed=self.seed, epoch=epoch, shuffle=self.shuffle)
        return self._order[1]

    def run(
        self,
        epochs: int,
        *,
        on_epoch_end: Callable[[EpochReport], None] | None = None,
        on_chunk_end: Callable[[int, dict[str, float]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[dict[str, float]]:
        """Train until ``epochs`` more epochs have ended (an epoch left half-done by an earlier run is
        finished first and counts as one); stop early, after any chunk, when ``should_stop()`` is
        true or the loss is not a finite number.

        Args:
            on_epoch_end: called with each finished epoch's report.
            on_chunk_end: called after each chunk that ends inside an epoch, with the batches done
                of that epoch and its running metrics so far.

        Returns:
            One dict of metrics per finished epoch.
        """
        if epochs < 1:
            raise ValueError(f"epochs={epochs} must be at least 1.")
        records: list[dict[str, float]] = []
        started = time.perf_counter()
        with self._runner() as runner:
            while len(records) < epochs:
                count = self._chunk_steps()
                self.last_logs = self._train_steps(runner, self.step, self.step + count)
                epoch_ended = self.step + count == self.steps_per_epoch
                if epoch_ended:
                    logs = {**self.last_logs, **self._validation_logs(runner)}
                if runner is not self.model:  # what the live view and the snapshots read
                    copy_weights(runner, self.model)
                finite = math.isfinite(self.last_logs.get("loss", 0.0))
                # One assignment: a page reading the progress meanwhile never sees "192 of 192 batches".
                if epoch_ended:
                    self.step, self.epochs_done = 0, self.epochs_done + 1
                    records.append(logs)
                    if on_epoch_end is not None:
                        on_epoch_end(EpochReport(len(records), epochs, logs, time.perf_counter() - started))
                else:
                    self.step += count
                    if on_chunk_end is not None:
                        on_chunk_end(self.step, self.last_logs)
                if not finite or (len(records) < epochs and should_stop is not None and should_stop()):
                    break
            if self.step:  # stopped mid-epoch: keep its running metrics for the run that finishes it
                self._epoch_metrics = [v.numpy() for v in runner.metrics_variables]
        return records

    @contextlib.contextmanager
    def _runner(self):
        """The model whose compiled steps run this run: a twin lent for the run, given this model's
        training state at the start and giving it back at the end, or the model itself."""
        if self._twins is None:
            yield self.model
            return
        with self._twins() as twin:
            copy_state(self.model, twin)
            try:
                yield twin
            finally:
                copy_state(twin, self.model)

    def _chunk_steps(self) -> int:
        """Batches in the next chunk: about ``chunk_s`` seconds of them, within the epoch."""
        left = self.steps_per_epoch - self.step
        if not self._tensorflow:
            return left
        if self._seconds_per_step is None:
            return min(left, 8)  # the first call may also trace: measure on a few batches
        return max(1, min(left, int(self.chunk_s / self._seconds_per_step)))

    def _train_steps(self, runner: keras.Model, first: int, stop: int) -> dict[str, float]:
        """Train ``runner`` on batches ``first`` to ``stop - 1`` of the epoch in progress, continuing
        the epoch's running metrics; returns them."""
        rows = self.epoch_rows(self.epochs_done)[first * self.batch_size : stop * self.batch_size]
        if not self._tensorflow:  # JAX and others: a whole epoch through fit, on this epoch's order
            X, y = (part[rows] for part in self._rows)
            fitted = runner.fit(X, y, batch_size=self.batch_size, epochs=1, shuffle=False, verbose=0)
            return {name: float(values[-1]) for name, values in fitted.history.items()}
        import tensorflow as tf

        traced = _compiled_steps(runner, *self._rows)
        if first == 0:
            runner.reset_metrics()
        elif self._epoch_metrics:  # a run that starts mid-epoch carries on with the epoch's running means
            for variable, value in zip(runner.metrics_variables, self._epoch_metrics):
                variable.assign(value)
            self._epoch_metrics = []
        indices = tf.constant(rows)
        started = time.perf_counter()
        logs = traced.train_chunk(*(tf.gather(part, indices) for part in self._rows), self.batch_size)
        numbers = {name: float(value) for name, value in logs.items()}
        if traced.calls:  # the first call traces: it says nothing about the pace
            self._seconds_per_step = (time.perf_counter() - started) / (stop - first)
        traced.calls += 1
        return numbers

    def _validation_logs(self, runner: keras.Model) -> dict[str, float]:
        """``val_`` metrics from the model's own ``test_step`` over all the held-out rows at once.

        It runs the model's compiled loss and metrics, so the numbers mean what ``evaluate()``
        would report (the mean over the rows), without its per-call set-up.
        """
        if not len(self.X_val):
            return {}
        runner.reset_metrics()  # the training metrics were already read
        if self._tensorflow:
            results = _compiled_steps(runner, *self._rows).validate(*self._held_out)
        else:
            results = runner.test_on_batch(self.X_val, self.y_val, return_dict=True)
        return {f"val_{name}": float(value) for name, value in results.items()}


@dataclass
class _TracedSteps:
    """A model's traced training loop and validation step (TensorFlow), and how often the loop ran."""

    train_chunk: Callable
    validate: Callable
    calls: int = 0


def _compiled_steps(model: keras.Model, X, y) -> _TracedSteps:
    """The traced steps of ``model`` for rows like ``X`` and ``y`` (tensors), made on first use.

    The loop takes the rows of a chunk in order and the batch size, and runs ``model.train_step``
    on each batch (the last may be short) inside one ``tf.while_loop``: one trace serves any number
    of rows. The optimizer's slots and the metrics' variables are made beforehand, since a traced
    loop cannot create variables.
    """
    import tensorflow as tf

    signature = (X.dtype, tuple(X.shape[1:]), y.dtype, tuple(y.shape[1:]))
    made = model.__dict__.setdefault("_nnviz_traced_steps", {})
    if signature in made:
        return made[signature]
    state_variables(model)  # builds the optimizer's slots
    first = X[:1], y[:1]
    model.compute_metrics(first[0], first[1], model(first[0]), sample_weight=None)  # builds the metrics
    model.reset_metrics()
    rows = (tf.TensorSpec((None, *X.shape[1:]), X.dtype), tf.TensorSpec((None, *y.shape[1:]), y.dtype))

    @tf.function(input_signature=(*rows, tf.TensorSpec((), tf.int32)), autograph=False)
    def train_chunk(X, y, batch_size):
        steps = (tf.shape(X)[0] + batch_size - 1) // batch_size

        def one_batch(step):
            start = step * batch_size
            model.train_step((X[start : start + batch_size], y[start : start + batch_size]))
            return (step + 1,)

        tf.while_loop(lambda step: step < steps, one_batch, (tf.constant(0),))
        return model.get_metrics_result()

    @tf.function(input_signature=rows, autograph=False)
    def validate(X, y):
        return model.test_step((X, y))

    made[signature] = _TracedSteps(train_chunk, validate)
    return made[signature]


class TrainingQueue:
    """Lets at most ``capacity`` runs train at once in this process; the others wait, first come first served.

    A place is taken by a ticket: a :class:`TrainingJob`, or a :class:`QueueTicket` for other heavy
    work (computing the predictions of the test rows). A ticket's ``owner`` (hashable, e.g. a session
    id; None for none) holds at most one slot at a time: while its other work runs, its ticket lets
    the ones behind it pass.

    Waiting costs nothing: a waiting run sleeps until the line moves or it is woken (:meth:`wake`),
    and each waiting ticket that has a ``queue_moved()`` method is told when its place changes.

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
        self._active: dict[int, object] = {}  # id(ticket) -> owner, of the tickets let through
        self._places: dict[int, int] = {}  # id(ticket) -> place in line, as the tickets were last told

    def wait_for_turn(
        self, ticket: object, *, give_up: Callable[[], bool], recheck_s: float | None = None
    ) -> bool:
        """Block until ``ticket`` may train; False if ``give_up()`` turned true while it waited.

        ``give_up`` is asked again whenever the line moves, :meth:`wake` is called, or (if given)
        every ``recheck_s`` seconds. Once let through, the ticket must call :meth:`done`.
        """
        with self._changed:
            self._waiting.append(ticket)
            try:
                # give_up is asked under the lock, so a wake() between asking and waiting is not lost.
                while not self._may_go(ticket):
                    if give_up():
                        return False
                    self._changed.wait(recheck_s)
                self._let_through(ticket)
                return True
            finally:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._line_moved()

    def join(self, ticket: object) -> None:
        """Put ``ticket`` at the end of the line (then :meth:`admit` it, or :meth:`leave`)."""
        with self._changed:
            self._waiting.append(ticket)
            self._line_moved()

    def admit(self, ticket: object, *, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until the line moves) for ``ticket``'s turn; True when
        it was let through (it then holds a slot until :meth:`done`)."""
        with self._changed:
            if ticket not in self._waiting:
                raise ValueError("This ticket is not in the queue; join() it first.")
            if not self._may_go(ticket):
                self._changed.wait(timeout)
                if not self._may_go(ticket):
                    return False
            self._waiting.remove(ticket)
            self._let_through(ticket)
            self._line_moved()
            return True

    def _let_through(self, ticket: object) -> None:
        self._active[id(ticket)] = getattr(ticket, "owner", None)
        self._training += 1

    def leave(self, ticket: object) -> None:
        """``ticket`` gives up: it leaves the line, or frees its slot if it was let through."""
        if not self._leave_line(ticket):
            self.done(ticket)

    def _leave_line(self, ticket: object) -> bool:
        with self._changed:
            if ticket not in self._waiting:
                return False
            self._waiting.remove(ticket)
            self._line_moved()
            return True

    def _may_go(self, ticket: object) -> bool:
        """Whether ``ticket`` is the first waiting ticket whose owner holds no slot, and one is free."""
        if self._training >= self.capacity:
            return False
        busy = {owner for owner in self._active.values() if owner is not None}
        for waiting in self._waiting:
            owner = getattr(waiting, "owner", None)
            if owner is None or owner not in busy:
                return waiting is ticket
        return False

    def wake(self) -> None:
        """Make every waiting run ask its ``give_up`` again (e.g. after a pause was requested)."""
        with self._changed:
            self._changed.notify_all()

    def done(self, ticket: object | None = None) -> None:
        """A run that was let through has ended: the next in line may train."""
        with self._changed:
            self._training -= 1
            if ticket is not None:
                self._active.pop(id(ticket), None)
            self._line_moved()

    def _line_moved(self) -> None:
        """Wake the waiting runs, and tell each waiting ticket whose place changed (only those: a
        ticket joining at the end moves nobody, and every ticket told redraws its user's page)."""
        self._changed.notify_all()
        places = {id(ticket): place for place, ticket in enumerate(self._waiting, 1)}
        for place, ticket in enumerate(self._waiting, 1):
            if self._places.get(id(ticket)) != place:
                moved = getattr(ticket, "queue_moved", None)
                if moved is not None:
                    moved()
        self._places = places

    def position(self, ticket: object) -> int:
        """``ticket``'s place in line (1 = next to train), or 0 when it is not waiting."""
        with self._changed:
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else 0

    @property
    def training(self) -> int:
        """Runs training (or other work holding a slot) right now."""
        return self._training


class QueueTicket:
    """A place in a :class:`TrainingQueue` for work that is not a training run.

    Args:
        owner: who asks (e.g. the browser session); an owner holds at most one slot at a time.
    """

    def __init__(self, owner: object | None = None):
        self.owner = owner


def outputs_in_turn(
    model: keras.Model,
    X: np.ndarray,
    *,
    queue: TrainingQueue,
    owner: object | None = None,
    rows_per_chunk: int = 256,
    give_up: Callable[[], bool] = lambda: False,
    on_wait: Callable[[int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    wait_s: float = 0.25,
) -> np.ndarray | None:
    """The model's outputs for ``X``, computed when ``queue`` has a free slot (as a training run is).

    Args:
        rows_per_chunk: rows computed in one call, between two progress reports.
        give_up: asked while waiting (every ``wait_s``) and after each chunk; True abandons the work.
        on_wait: told the ticket's place in line (1 = next) while it waits, in the calling thread.
        on_progress: told ``(rows done, rows)`` after each chunk, in the calling thread.

    Returns:
        The outputs, shape ``(n, n_outputs)``, or None when ``give_up()`` turned true first.
    """
    from nnviz.explain import predict

    if rows_per_chunk < 1:
        raise ValueError(f"rows_per_chunk={rows_per_chunk} must be at least 1, e.g. 256.")
    ticket = QueueTicket(owner)
    queue.join(ticket)
    try:
        while not queue.admit(ticket, timeout=wait_s):
            if on_wait is not None:
                on_wait(queue.position(ticket))
            if give_up():
                return None
        chunks = []
        for start in range(0, len(X), rows_per_chunk):
            chunks.append(predict.network_outputs(model, X[start : start + rows_per_chunk]))
            if on_progress is not None:
                on_progress(min(start + rows_per_chunk, len(X)), len(X))
            if give_up():
                return None
        if not chunks:
            return predict.network_outputs(model, X)
        return np.concatenate(chunks)
    finally:
        queue.leave(ticket)


@dataclass(frozen=True)
class Progress:
    """What a :class:`TrainingJob` is doing, for a UI to draw.

    Attributes:
        state: ``"idle"`` (nothing run yet), ``"queued"`` (waiting for a free training slot),
            ``"running"``, ``"paused"`` (epochs remain), ``"stopped"``, ``"finished"`` or ``"failed"``.
        epoch: epochs finished in the current (or last) run.
        epochs: epochs requested for that run.
        elapsed_s: seconds that run has taken so far.
        remaining: epochs a resume would still run (an epoch left half-done counts as one).
        rendering: the latest result of the job's ``renderer``; ``rendering_epoch`` is the total
            number of epochs trained when it was made.
        message: why the last run ended early, in the user's words, or None.
        queue_position: place in the server's queue while ``"queued"`` (1 = next), else 0.
        step: batches done of the epoch in progress (0 between epochs); ``steps_per_epoch`` batches
            make an epoch.
        running_logs: that epoch's metrics so far (means over its batches done), or None.
        version: grows by one with every change; see :meth:`TrainingJob.wait_for_change`.
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
    step: int = 0
    steps_per_epoch: int = 1
    running_logs: dict[str, float] | None = None
    version: int = 0

    @property
    def done_fraction(self) -> float:
        """How much of the run is done, counting the batches of the epoch in progress."""
        if not self.epochs:
            return 0.0
        return min(1.0, (self.epoch + self.step / self.steps_per_epoch) / self.epochs)

    @property
    def live(self) -> bool:
        """Whether the run is training or waiting for its turn."""
        return self.state in ("running", "queued")

    @property
    def eta_s(self) -> float:
        done = self.done_fraction * self.epochs
        return self.elapsed_s / done * (self.epochs - done) if done else float("nan")


class TrainingJob:
    """Runs a :class:`Trainer` in a background thread; pause, step, resume and stop between chunks.

    Args:
        trainer: what to train.
        history: a list that receives one metrics dict per finished epoch, at once (so nothing is
            lost if the run is stopped); its length is the number of epochs the model has trained.
        renderer: optional ``f(model) -> object`` (e.g. a decision-boundary grid), called in the
            training thread between chunks at most every ``render_interval_s`` seconds and after the
            last chunk of a run.
        idle_pause_s: pause by itself when nobody has watched (:meth:`progress`,
            :meth:`wait_for_change`) for this long (the page that showed it was closed); None to
            never do so.
        still_watched: optional ``f() -> bool``, asked once ``idle_pause_s`` passed without a look:
            True when the viewer is known to be there all the same (its page is open, only its
            redraws are late on a busy server), so the run goes on.
        queue: a :class:`TrainingQueue` shared by every job of the server; a run waits there
            (state ``"queued"``) until it may train.
        snapshots: a :class:`~nnviz.training.snapshots.WeightHistory` that receives the weights after each
            epoch (numbered as the history counts them), for replaying the run later.
        owner: who runs it (e.g. the browser session): the queue gives an owner one slot at a time.
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
        owner: object | None = None,
        still_watched: Callable[[], bool] | None = None,
    ):
        self.trainer, self.history, self.queue, self.snapshots = trainer, history, queue, snapshots
        self.owner, self.still_watched = owner, still_watched
        self.renderer, self.render_interval_s, self.idle_pause_s = renderer, render_interval_s, idle_pause_s
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._thread: threading.Thread | None = None
        self._request: str | None = None  # "pause" or "stop", acted on after the current chunk
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
            if self.trainer.step == 0:  # the next epoch's order follows the model's own count
                self.trainer.epochs_done = len(self.history)
            self._request, self._message = None, None
            state = "running" if self.queue is None else "queued"
            self._state, self._epoch, self._epochs, self._remaining = state, 0, epochs, epochs
            self._started, self._last_seen = time.perf_counter(), time.monotonic()
            self._thread = threading.Thread(
                target=self._run, args=(epochs,), name="nnviz-training", daemon=True
            )
            self._thread.start()
            self._bump()

    def resume(self) -> None:
        """Continue a paused run with the epochs it had left."""
        if self._state == "paused" and self._remaining:
            self.start(self._remaining)

    def pause(self) -> None:
        """Stop after the current chunk (≤ ~0.2 s of work), keeping the epochs left for :meth:`resume`."""
        self._request = "pause"
        if self.queue is not None:
            self.queue.wake()

    def stop(self) -> None:
        """Stop after the current chunk, or end a paused run; the epochs left are dropped."""
        with self._lock:
            if self.running:
                self._request = "stop"
            elif self._state == "paused":
                self._state, self._remaining, self._message = "stopped", 0, None
                self._bump()
        if self.queue is not None:
            self.queue.wake()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the current run to end (after :meth:`pause` or :meth:`stop`, within one chunk)."""
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
            return self._progress(position)

    def wait_for_change(self, version: int, *, timeout: float) -> int:
        """Block until the job's version differs from ``version`` or ``timeout`` seconds passed.

        Waiting counts as watching. Returns the version now.
        """
        with self._changed:
            self._last_seen = time.monotonic()
            self._changed.wait_for(lambda: self._version != version, timeout)
            self._last_seen = time.monotonic()
            return self._version

    def queue_moved(self) -> None:
        """Called by the queue when this job's place in it changed."""
        with self._lock:
            self._bump()

    def _bump(self) -> None:
        """Something a watcher shows changed (hold ``self._lock``)."""
        self._version += 1
        self._changed.notify_all()

    def _progress(self, position: int) -> Progress:
        end = time.perf_counter() if self._state == "running" else self._finished
        mid_epoch = self.trainer.step > 0
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
            self.trainer.step,
            self.trainer.steps_per_epoch,
            dict(self.trainer.last_logs) if mid_epoch else None,
            self._version,
        )

    def _run(self, epochs: int) -> None:
        try:
            if self.queue is not None and not self.queue.wait_for_turn(
                self, give_up=self._should_stop, recheck_s=self.idle_pause_s
            ):
                end_state, message = self._end_state()  # paused or stopped while still waiting
            else:
                with self._lock:
                    self._state, self._started = "running", time.perf_counter()  # time spent training only
                    self._bump()
                try:
                    self.trainer.run(
                        epochs,
                        on_epoch_end=self._on_epoch_end,
                        on_chunk_end=self._on_chunk_end,
                        should_stop=self._should_stop,
                    )
                finally:
                    if self.queue is not None:
                        self.queue.done(self)
                self._render(force=True)
                end_state, message = self._end_state()
        except Exception as err:  # noqa: BLE001 - reported to the user instead of killing the thread silently
            end_state, message = "failed", f"Training failed: {type(err).__name__}: {err}"
        with self._lock:
            self._state, self._message, self._finished = end_state, message, time.perf_counter()
            if end_state != "paused":
                self._remaining = 0
            self._bump()

    def _end_state(self) -> tuple[str, str | None]:
        loss = self.trainer.last_logs.get("loss", 0.0)
        if not math.isfinite(loss):
            return "stopped", (
                f"The loss became {loss} at epoch {len(self.history) + 1}: the weights blew up. "
                "Reset the weights and try a smaller learning rate."
            )
        if self._epoch == self._epochs:
            return "finished", None
        if self._request == "pause":
            if self._unwatched():
                return "paused", "Paused by itself because nobody was watching (the Train page was left)."
            return "paused", None
        return "stopped", None

    def _on_epoch_end(self, report: EpochReport) -> None:
        self.history.append(report.logs)
        if self.snapshots is not None:
            self.snapshots.add(len(self.history), self.trainer.model.get_weights())
        with self._lock:
            self._epoch, self._remaining = report.epoch, report.epochs - report.epoch
            self._bump()
        self._render(force=False)

    def _on_chunk_end(self, step: int, logs: dict[str, float]) -> None:
        with self._lock:
            self._bump()
        self._render(force=False)

    def _should_stop(self) -> bool:
        if self._unwatched():
            self._request = self._request or "pause"
        return self._request is not None

    def _unwatched(self) -> bool:
        """Nobody looked for ``idle_pause_s`` seconds, and ``still_watched`` (if given) does not
        know better."""
        if self.idle_pause_s is None or time.monotonic() - self._last_seen <= self.idle_pause_s:
            return False
        return self.still_watched is None or not self.still_watched()

    def _render(self, *, force: bool) -> None:
        renderer = self.renderer
        now = time.perf_counter()
        if renderer is None or (not force and now - self._last_render < self.render_interval_s):
            return
        rendering = renderer(self.trainer.model)
        with self._lock:
            self._rendering, self._rendering_epoch, self._last_render = rendering, len(self.history), now
            self._bump()
