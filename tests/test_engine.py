"""Training engine: the same maths as model.fit, reports per epoch, and a job that pauses cleanly."""

import math
import threading
import time

import numpy as np
import pytest

from nnviz.data.datasets import load_iris_data, load_two_moons
from nnviz.model.build import build_model
from nnviz.model.spec import LayerSpec, ModelSpec
from nnviz.training.engine import (
    EpochReport,
    QueueTicket,
    Trainer,
    TrainingJob,
    TrainingQueue,
    epoch_order,
    outputs_in_turn,
)

MOONS_SPEC = ModelSpec(
    (2,),
    (LayerSpec("Dense", 8, "relu"), LayerSpec("Dense", 1, "sigmoid")),
    "binary_crossentropy",
    "adam",
    0.05,
)
IRIS_SPEC = ModelSpec(
    (4,),
    (LayerSpec("Dense", 8), LayerSpec("Dense", 3, "softmax")),
    "sparse_categorical_crossentropy",
    "sgd",
    0.1,
)
REGRESSION_SPEC = ModelSpec(
    (4,), (LayerSpec("Dense", 8), LayerSpec("Dense", 1, "linear")), "mse", "rmsprop", 0.01
)


@pytest.fixture(scope="module")
def moons():
    return load_two_moons(200, noise=0.1, random_state=0)


@pytest.mark.parametrize("spec", [MOONS_SPEC, IRIS_SPEC, REGRESSION_SPEC], ids=["bce", "scce", "mse"])
def test_same_numbers_as_model_fit_on_identical_batches(spec):
    """Without shuffling both see the same batches: every metric of every epoch must agree."""
    data = load_iris_data() if spec.input_shape == (4,) else load_two_moons(200)
    y = data.y_train.astype("float32") if spec.loss == "mse" else data.y_train
    keras_history = (
        build_model(spec, seed=0)
        .fit(data.X_train, y, epochs=3, batch_size=16, validation_split=0.2, shuffle=False, verbose=0)
        .history
    )
    ours = Trainer(
        build_model(spec, seed=0), data.X_train, y, batch_size=16, validation_split=0.2, shuffle=False
    )
    history = ours.run(3)
    assert set(history[0]) == set(keras_history)
    for name, values in keras_history.items():
        np.testing.assert_allclose([epoch[name] for epoch in history], values, rtol=1e-5, atol=1e-6)


def test_every_epoch_sees_every_training_row_once_in_an_order_set_by_seed_and_epoch_alone():
    orders = [epoch_order(50, seed=7, epoch=k) for k in range(3)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(50))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    np.testing.assert_array_equal(epoch_order(50, seed=7, epoch=2), orders[2])  # nothing else matters
    assert not np.array_equal(epoch_order(50, seed=8, epoch=2), orders[2])
    np.testing.assert_array_equal(epoch_order(5, seed=7, epoch=1, shuffle=False), np.arange(5))


def test_the_batches_trained_are_the_epoch_order_cut_into_batch_sized_pieces(moons):
    """Record what the compiled step sees: every row once per epoch, in epoch_order's order."""
    model = build_model(MOONS_SPEC)
    seen = []
    step = model.train_step

    def recording_step(data):
        import tensorflow as tf

        tf.py_function(lambda x: seen.append(x.numpy()), [data[0]], [])
        return step(data)

    model.train_step = recording_step
    trainer = Trainer(model, moons.X_train, moons.y_train, batch_size=32, validation_split=0.25, seed=3)
    trainer.run(2)
    assert len(seen) == 2 * trainer.steps_per_epoch
    assert len(seen[trainer.steps_per_epoch - 1]) == (trainer.n_train % 32 or 32)  # a short last batch
    for epoch in range(2):
        rows = np.concatenate(seen[epoch * trainer.steps_per_epoch : (epoch + 1) * trainer.steps_per_epoch])
        expected = moons.X_train[: trainer.n_train][epoch_order(trainer.n_train, seed=3, epoch=epoch)]
        np.testing.assert_array_equal(rows, expected)


def test_validation_rows_are_the_last_ones_as_in_model_fit(moons):
    trainer = Trainer(
        build_model(MOONS_SPEC), moons.X_train, moons.y_train, batch_size=16, validation_split=0.25
    )
    history = trainer.run(2)
    held_out = slice(int(math.floor(len(moons.X_train) * 0.75)), None)
    expected = trainer.model.evaluate(
        moons.X_train[held_out], moons.y_train[held_out], verbose=0, return_dict=True
    )
    assert history[-1]["val_loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert history[-1]["val_accuracy"] == pytest.approx(expected["accuracy"], rel=1e-6)


def test_reports_every_epoch_and_continues_from_current_weights(moons):
    model = build_model(MOONS_SPEC, seed=0)
    reports: list[EpochReport] = []
    first = Trainer(model, moons.X_train, moons.y_train, batch_size=16).run(30, on_epoch_end=reports.append)
    assert [r.epoch for r in reports] == list(range(1, 31)) and {r.epochs for r in reports} == {30}
    assert [r.logs for r in reports] == first and reports[-1].eta_s == 0
    second = Trainer(model, moons.X_train, moons.y_train, batch_size=16).run(
        2
    )  # a new run, as a new page would
    assert first[-1]["loss"] < first[0]["loss"] * 0.8
    assert second[0]["loss"] < first[0]["loss"]  # the second run did not start from scratch


def test_should_stop_ends_the_run_after_the_current_epoch(moons):
    trainer = Trainer(build_model(MOONS_SPEC), moons.X_train, moons.y_train, batch_size=16)
    history = trainer.run(10, should_stop=lambda: trainer.epochs_done >= 3)
    assert len(history) == 3 and trainer.epochs_done == 3


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"validation_split": 1.0}, "must be in \\[0, 1\\)"),
        ({"validation_split": -0.1}, "must be in \\[0, 1\\)"),
        ({"batch_size": 0}, "batch_size=0"),
    ],
)
def test_bad_settings_say_what_to_use(moons, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        Trainer(build_model(MOONS_SPEC), moons.X_train, moons.y_train, **{"batch_size": 8, **kwargs})


def _job(moons, **kwargs) -> TrainingJob:
    trainer = Trainer(
        build_model(MOONS_SPEC, seed=0), moons.X_train, moons.y_train, batch_size=16, validation_split=0.2
    )
    return TrainingJob(trainer, [], **kwargs)


def test_job_pauses_between_epochs_and_resumes_with_the_epochs_left(moons):
    job = _job(moons)
    paused_at = threading.Event()
    weights_at_report = []

    def renderer(model):  # runs in the training thread, between epochs
        weights_at_report.append([w.copy() for w in model.get_weights()])
        if len(job.history) >= 3:
            job.pause()
            paused_at.set()
        return len(job.history)

    job.renderer, job.render_interval_s = renderer, 0.0
    job.start(50)
    job.join(60)
    progress = job.progress()
    assert progress.state == "paused" and paused_at.is_set()
    done = len(job.history)
    assert 3 <= done < 50 and progress.remaining == 50 - done and progress.epoch == done
    for now, then in zip(job.trainer.model.get_weights(), weights_at_report[-1]):
        np.testing.assert_array_equal(now, then)  # the model holds the last finished epoch's weights
    job.renderer = None
    job.resume()
    job.join(120)
    assert job.progress().state == "finished" and len(job.history) == 50


def test_job_stop_drops_the_rest_and_step_runs_one_epoch(moons):
    job = _job(moons)
    job.start(1)
    job.join(60)
    assert job.progress().state == "finished" and len(job.history) == 1
    job.renderer = lambda model: job.stop()
    job.render_interval_s = 0.0
    job.start(20)
    job.join(60)
    progress = job.progress()
    assert progress.state == "stopped" and progress.remaining == 0 and len(job.history) == 2
    with pytest.raises(ValueError):
        job.start(0)


def test_job_pauses_by_itself_when_nobody_watches(moons):
    job = _job(moons, idle_pause_s=0.0)
    job.start(200)
    job.join(60)
    progress = job.progress()
    assert progress.state == "paused" and "nobody was watching" in progress.message
    assert len(job.history) < 200


def test_a_late_look_does_not_pause_a_run_whose_page_is_still_open(moons):
    """On a busy server the page's redraws may come later than ``idle_pause_s``: a viewer known to
    be on the page keeps the run going; one known to be gone does not."""
    looking = [True]
    job = _job(moons, idle_pause_s=0.0)
    job.still_watched = lambda: looking[0]
    job.start(3)
    job.join(60)
    assert job.progress().state == "finished" and len(job.history) == 3
    looking[0] = False
    job.start(200)
    job.join(60)
    progress = job.progress()
    assert progress.state == "paused" and "nobody was watching" in progress.message


def test_a_viewer_watches_the_page_and_dataset_it_shows():
    from nnviz.ui.runtime import Viewer

    viewer = Viewer(session_id="a-session")
    viewer.page, viewer.dataset = "train", "moons"
    assert viewer.watches("train", "moons")  # no Streamlit runtime in this process: the page decides
    assert not viewer.watches("train", "iris") and not viewer.watches("evaluate", "moons")
    viewer.page = "inspect"
    assert not viewer.watches("train", "moons")


def test_job_stops_when_the_loss_blows_up(moons):
    spec = ModelSpec(
        (2,), (LayerSpec("Dense", 8, "linear"), LayerSpec("Dense", 1, "linear")), "mse", "sgd", 10.0
    )
    X = moons.X_train * 1000
    job = TrainingJob(Trainer(build_model(spec), X, moons.y_train.astype("float32"), batch_size=8), [])
    job.start(30)
    job.join(60)
    progress = job.progress()
    assert progress.state == "stopped" and "smaller learning rate" in progress.message
    assert len(job.history) < 30


def test_job_reports_a_failure_instead_of_dying_silently(moons):
    job = _job(moons, render_interval_s=0.0)

    def broken(model):
        raise RuntimeError("renderer broke")

    job.renderer = broken
    job.start(3)
    job.join(60)
    progress = job.progress()
    assert progress.state == "failed" and "renderer broke" in progress.message
    job.renderer = None
    job.start(100)
    with pytest.raises(RuntimeError, match="already in progress"):
        job.start(1)
    job.stop()
    job.join(60)


def test_the_engine_works_unchanged_on_the_jax_backend():
    """KERAS_BACKEND=jax is optional (README); where jax is installed, the engine tests pass on it."""
    import importlib.util
    import os
    import subprocess
    import sys

    from conftest import REPO

    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (optional: pip install jax)")
    if os.environ.get("KERAS_BACKEND") == "jax":
        pytest.skip("already running on the jax backend")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_engine.py",
            "-k",
            "not jax_backend",
        ],
        cwd=REPO,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_runs_after_the_first_reuse_the_compiled_step(moons):
    """Pausing and resuming (or pressing Train again) must not retrace the training step."""
    model = build_model(MOONS_SPEC)
    traces = []
    step = model.train_step

    def counting_step(*args):  # Python runs only while a compiled function is being traced
        traces.append(1)
        return step(*args)

    model.train_step = counting_step
    trainer = Trainer(model, moons.X_train, moons.y_train, batch_size=16, validation_split=0.2)
    trainer.run(2)
    traced = len(traces)
    trainer.run(3)
    trainer.run(1)
    assert traced == len(traces) == 1  # one trace for chunks of every length (Keras's loop traces twice)


def test_queue_lets_one_run_train_at_a_time_and_shows_the_others_their_place(moons):
    queue = TrainingQueue(1)
    first, second = (_job(moons, queue=queue) for _ in range(2))
    first.renderer = lambda model: time.sleep(0.02)  # slow enough to be caught in the act
    first.render_interval_s = 0.0
    first.start(15)
    while first.progress().state != "running":
        time.sleep(0.005)
    second.start(3)
    seen = second.progress()
    assert seen.state == "queued" and seen.queue_position == 1 and len(second.history) == 0
    first.join(60)
    second.join(60)
    assert (first.progress().state, second.progress().state) == ("finished", "finished")
    assert (len(first.history), len(second.history)) == (15, 3) and queue.training == 0


def test_a_run_paused_while_queued_keeps_all_its_epochs(moons):
    queue = TrainingQueue(1)
    blocker, waiting = _job(moons, queue=queue), _job(moons, queue=queue)
    blocker.start(500)
    while blocker.progress().state != "running":
        time.sleep(0.005)
    waiting.start(7)
    waiting.pause()
    waiting.join(10)
    progress = waiting.progress()
    assert progress.state == "paused" and progress.remaining == 7 and waiting.history == []
    blocker.stop()
    blocker.join(60)
    assert queue.training == 0 and queue.position(waiting) == 0


def test_queue_needs_room_for_one_run():
    with pytest.raises(ValueError, match="capacity=0"):
        TrainingQueue(0)


WITH_DROPOUT_AND_BATCH_NORM = ModelSpec(
    (2,),
    (
        LayerSpec("Dense", 16, "relu"),
        LayerSpec("BatchNormalization"),
        LayerSpec("Dropout", rate=0.3),
        LayerSpec("Dense", 1, "sigmoid"),
    ),
    "binary_crossentropy",
    "adam",
    0.02,
)


def _curve(dataset, spec: ModelSpec, seed: int) -> list[dict[str, float]]:
    trainer = Trainer(
        build_model(spec, seed=seed),
        dataset.X_train,
        dataset.y_train,
        batch_size=16,
        validation_split=0.2,
        seed=seed,
    )
    return trainer.run(4) + trainer.run(2)  # a resumed run continues the same sequence


def test_the_same_seed_gives_the_same_training_curve_and_another_seed_another(moons):
    """Reproducibility for a lecture: weights, shuffles and dropout masks all follow the seed."""
    first, again = (_curve(moons, WITH_DROPOUT_AND_BATCH_NORM, seed=3) for _ in range(2))
    assert first == again  # exactly: every loss and metric of every epoch
    assert _curve(moons, WITH_DROPOUT_AND_BATCH_NORM, seed=4) != first


def test_a_job_keeps_a_snapshot_of_the_weights_after_each_epoch(moons):
    from nnviz.training.snapshots import WeightHistory

    model = build_model(MOONS_SPEC, seed=0)
    snapshots = WeightHistory(capacity=64)
    snapshots.add(0, model.get_weights())
    history: list = []
    job = TrainingJob(
        Trainer(model, moons.X_train, moons.y_train, batch_size=32), history, snapshots=snapshots
    )
    job.start(5)
    job.join()
    assert snapshots.epochs == [0, 1, 2, 3, 4, 5]
    for kept, now in zip(snapshots.at(5), model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert any(not np.array_equal(a, b) for a, b in zip(snapshots.at(1), snapshots.at(5)))


def _weights_equal(first, second) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def _interrupted_job(moons, *, chunk_s: float) -> TrainingJob:
    trainer = Trainer(
        build_model(WITH_DROPOUT_AND_BATCH_NORM, seed=2),
        moons.X_train,
        moons.y_train,
        batch_size=4,
        validation_split=0.2,
        seed=2,
        chunk_s=chunk_s,
    )
    return TrainingJob(trainer, [])


def test_paused_resumed_and_stepped_runs_end_bit_for_bit_where_one_run_ends(moons):
    """5 + 3 epochs, with pauses mid-epoch, a Step and an evaluate() in between, equal 8 in one go."""
    whole = _interrupted_job(moons, chunk_s=0.2)
    whole.start(8)
    whole.join(120)
    assert len(whole.history) == 8

    pieces = _interrupted_job(moons, chunk_s=0.002)  # chunks of a few batches: pauses land mid-epoch
    chunks = []
    pieces.trainer.run = _counting_chunks(pieces.trainer.run, chunks)
    pieces.start(5)
    paused_mid_epoch = 0
    while pieces.running or pieces.progress().state == "paused":
        if pieces.running:
            time.sleep(0.01)
            pieces.pause()
            pieces.join(60)
            paused_mid_epoch += pieces.trainer.step > 0
            pieces.trainer.model.evaluate(moons.X_test, moons.y_test, verbose=0)  # resets the metrics
        pieces.resume()
    assert pieces.progress().state == "finished" and len(pieces.history) == 5
    pieces.start(1)  # Step
    pieces.join(60)
    pieces.start(2)
    pieces.join(60)
    assert paused_mid_epoch >= 1 and sum(chunks) > 8
    assert pieces.history == whole.history  # every loss and metric of every epoch, exactly
    assert _weights_equal(pieces.trainer.model.get_weights(), whole.trainer.model.get_weights())


def _counting_chunks(run, chunks: list):
    def counted(*args, on_chunk_end=None, **kwargs):
        def count(step, logs):
            chunks.append(1)
            if on_chunk_end is not None:
                on_chunk_end(step, logs)

        return run(*args, on_chunk_end=count, **kwargs)

    return counted


def test_a_long_epoch_reports_within_the_epoch_and_stops_within_a_fraction_of_a_second():
    data = load_two_moons(2000, noise=0.2, random_state=0)
    trainer = Trainer(build_model(MOONS_SPEC), data.X_train, data.y_train, batch_size=1, chunk_s=0.1)
    job = TrainingJob(trainer, [])
    job.start(50)
    version = job.progress().version
    while job.progress().step < 200:  # well inside the first epoch of 1,600 batches
        version = job.wait_for_change(version, timeout=30)
    progress = job.progress()
    assert progress.state == "running" and progress.epoch == 0 and progress.running_logs["loss"] > 0
    assert 0 < progress.done_fraction < 1 / 50
    asked = time.perf_counter()
    job.stop()
    job.join(10)
    took = time.perf_counter() - asked
    assert job.progress().state == "stopped" and took < 1.0, f"stopping took {took:.2f} s"
    assert job.history == [] and trainer.step > 0  # the next run finishes this epoch first


def test_builds_at_the_same_moment_get_the_weights_of_their_seed():
    expected = build_model(WITH_DROPOUT_AND_BATCH_NORM, seed=0).get_weights()
    other = build_model(WITH_DROPOUT_AND_BATCH_NORM, seed=1).get_weights()
    built: list = []

    def builds():
        for _ in range(15):
            built.append(build_model(WITH_DROPOUT_AND_BATCH_NORM, seed=0).get_weights())

    threads = [threading.Thread(target=builds) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 60 and all(_weights_equal(weights, expected) for weights in built)
    assert not _weights_equal(other, expected)


def test_a_queued_run_sleeps_until_the_line_moves_instead_of_polling(moons):
    queue = TrainingQueue(1)
    blocker, waiting = _job(moons, queue=queue), _job(moons, queue=queue)
    blocker.start(1000)
    while blocker.progress().state != "running":
        time.sleep(0.005)
    asked = []
    give_up = waiting._should_stop
    waiting._should_stop = lambda: asked.append(1) or give_up()
    waiting.start(3)
    version = waiting.progress().version
    time.sleep(1.0)
    assert waiting.progress().state == "queued" and len(asked) <= 2  # was ten a second
    assert waiting.wait_for_change(version, timeout=0.2) == version  # nothing changed: nothing to draw
    blocker.stop()
    assert waiting.wait_for_change(version, timeout=10) > version  # the line moved: the page hears of it
    blocker.join(60)
    waiting.join(60)
    assert waiting.progress().state == "finished" and len(waiting.history) == 3


# Heavy predictions (Evaluate, Inspect) take a slot of the same queue as training runs.


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class _Evaluation(threading.Thread):
    """``outputs_in_turn`` in a thread, recording the places in line it was told and when it started."""

    def __init__(self, model, X, queue, **kwargs):
        super().__init__(daemon=True)
        self.model, self.X, self.queue, self.kwargs = model, X, queue, kwargs
        self.places: list[int] = []
        self.started = threading.Event()
        self.result = None

    def run(self):
        self.result = outputs_in_turn(
            self.model,
            self.X,
            queue=self.queue,
            on_wait=self.places.append,
            on_progress=lambda done, total: self.started.set(),
            wait_s=0.02,
            **self.kwargs,
        )


def test_an_evaluation_waits_behind_a_queued_training_and_is_shown_its_place(moons):
    queue = TrainingQueue(1)
    blocker, training = _job(moons, queue=queue), _job(moons, queue=queue)
    blocker.start(1000)
    _until(lambda: blocker.progress().state == "running")
    training.start(3)
    _until(lambda: queue.position(training) == 1)
    model = build_model(MOONS_SPEC, seed=1)
    evaluation = _Evaluation(model, moons.X_test, queue)
    evaluation.start()
    _until(lambda: evaluation.places)
    assert evaluation.places[0] == 2 and not evaluation.started.is_set()  # a training run is ahead
    blocker.stop()
    evaluation.started.wait(60)
    assert len(training.history) == 3  # the training ahead had its turn first, and finished
    evaluation.join(30)
    assert 1 in evaluation.places and evaluation.places == sorted(evaluation.places, reverse=True)
    np.testing.assert_allclose(evaluation.result, model(moons.X_test, training=False).numpy(), rtol=1e-6)
    assert queue.training == 0 and queue.position(evaluation) == 0


def test_a_training_queued_behind_an_evaluation_waits_for_it(moons):
    queue = TrainingQueue(1)
    holder = QueueTicket("someone")
    queue.join(holder)
    assert queue.admit(holder, timeout=0)
    model = build_model(MOONS_SPEC, seed=1)
    evaluation = _Evaluation(model, moons.X_test, queue)
    evaluation.start()
    _until(lambda: evaluation.places)
    training = _job(moons, queue=queue)
    training.start(2)
    _until(lambda: training.progress().queue_position == 2)  # behind the evaluation
    queue.leave(holder)
    evaluation.join(30)
    assert evaluation.result is not None
    training.join(60)
    assert training.progress().state == "finished" and queue.training == 0


def test_a_session_holds_one_slot_at_a_time_and_lets_others_pass(moons):
    queue = TrainingQueue(2)
    mine = _job(moons, queue=queue, owner="session-a")
    mine.start(1000)
    _until(lambda: mine.progress().state == "running")
    model = build_model(MOONS_SPEC, seed=1)
    my_evaluation = _Evaluation(model, moons.X_test, queue, owner="session-a")
    my_evaluation.start()
    _until(lambda: my_evaluation.places)
    assert not my_evaluation.started.is_set() and queue.training == 1  # a slot is free, but not for it
    theirs = _Evaluation(model, moons.X_test, queue, owner="session-b")
    theirs.start()
    theirs.join(30)  # passed the waiting ticket of the busy session
    assert theirs.result is not None and not my_evaluation.started.is_set()
    mine.stop()
    my_evaluation.join(30)
    assert my_evaluation.result is not None and queue.training == 0


def test_an_evaluation_that_gives_up_leaves_the_line_or_frees_its_slot(moons):
    queue = TrainingQueue(1)
    holder = QueueTicket()
    queue.join(holder)
    assert queue.admit(holder, timeout=0)
    model = build_model(MOONS_SPEC, seed=1)
    asked = threading.Event()
    waiting = _Evaluation(model, moons.X_test, queue, give_up=lambda: asked.is_set())
    waiting.start()
    _until(lambda: waiting.places)
    asked.set()
    waiting.join(10)
    assert waiting.result is None and queue.training == 1 and queue.position(waiting) == 0
    queue.leave(holder)
    assert queue.training == 0
    chunks = []
    stopped = outputs_in_turn(
        model,
        moons.X_test,
        queue=queue,
        rows_per_chunk=7,
        on_progress=lambda done, total: chunks.append((done, total)),
        give_up=lambda: len(chunks) == 2,  # the user clicked during the second chunk
    )
    assert stopped is None and chunks == [(7, 40), (14, 40)] and queue.training == 0  # 40 test rows


def test_outputs_in_turn_are_the_models_outputs_chunk_by_chunk(moons):
    model = build_model(MOONS_SPEC, seed=2)
    reports = []
    outputs = outputs_in_turn(
        model,
        moons.X_test,
        queue=TrainingQueue(1),
        rows_per_chunk=16,
        on_progress=lambda done, total: reports.append(done),
    )
    np.testing.assert_allclose(outputs, model(moons.X_test, training=False).numpy(), rtol=1e-6)
    assert reports == [16, 32, 40]  # 40 test rows
    assert outputs_in_turn(model, moons.X_test[:0], queue=TrainingQueue(1)).shape == (0, 1)
    with pytest.raises(ValueError, match="rows_per_chunk=0"):
        outputs_in_turn(model, moons.X_test, queue=TrainingQueue(1), rows_per_chunk=0)
    with pytest.raises(ValueError, match="join"):
        TrainingQueue(1).admit(QueueTicket(), timeout=0)


class _CountingTicket(QueueTicket):
    def __init__(self, name):
        super().__init__(name)
        self.told = 0

    def queue_moved(self):
        self.told += 1


def test_only_tickets_whose_place_changed_are_told_the_line_moved():
    """Every ticket told redraws its user's page: a newcomer at the end moves nobody."""
    queue = TrainingQueue(1)
    holder = QueueTicket("holder")
    queue.join(holder)
    assert queue.admit(holder, timeout=0)
    a, b, c = (_CountingTicket(name) for name in "abc")
    for ticket in (a, b, c):
        queue.join(ticket)
    assert (a.told, b.told, c.told) == (1, 1, 1)  # each told its place once, on joining
    d = _CountingTicket("d")
    queue.join(d)
    assert (a.told, b.told, c.told, d.told) == (1, 1, 1, 1)
    assert not queue.admit(b, timeout=0)  # b's turn has not come: nobody moved
    assert (a.told, b.told, c.told, d.told) == (1, 1, 1, 1)
    queue.done(holder)  # a slot is free, but nobody has left the line yet
    assert (a.told, b.told, c.told, d.told) == (1, 1, 1, 1)
    assert queue.admit(a, timeout=0)  # a leaves the line: b, c and d each move up one place
    assert (b.told, c.told, d.told) == (2, 2, 2) and a.told == 1
    assert [queue.position(t) for t in (b, c, d)] == [1, 2, 3]
    queue.leave(c)  # c gives up: only d moves
    assert (b.told, d.told) == (2, 3) and queue.position(d) == 2
    queue.done(a)
    assert queue.admit(b, timeout=0) and d.told == 4 and queue.position(d) == 1


def test_progress_never_shows_an_epoch_whose_batches_are_all_done_as_in_progress(moons):
    """While an epoch's validation runs (a page may read the progress then), the batches done are
    still those before the epoch's last chunk, never "40 of 40"."""
    trainer = Trainer(
        build_model(MOONS_SPEC), moons.X_train, moons.y_train, batch_size=4, validation_split=0.2
    )
    seen_during_validation = []
    validate = trainer._validation_logs

    def watched(runner):
        seen_during_validation.append(TrainingJob(trainer, [])._progress(0).step)
        return validate(runner)

    trainer._validation_logs = watched
    trainer.run(3)
    assert len(seen_during_validation) == 3
    assert max(seen_during_validation) < trainer.steps_per_epoch
