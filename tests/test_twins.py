"""Twins: models of one architecture share one traced training step, and train to the same numbers."""

import threading
from functools import partial

import numpy as np
import pytest

from nnviz.data.datasets import load_two_moons
from nnviz.model.build import build_model
from nnviz.model.spec import LayerSpec, ModelSpec
from nnviz.training.engine import Trainer
from nnviz.training.twins import TwinPool, copy_state, state_variables

# Dropout (a seed that moves every step) and batch norm (moving statistics) as well as weights and Adam.
SPEC = ModelSpec(
    (2,),
    (
        LayerSpec("Dense", 8, "relu"),
        LayerSpec("Dropout", rate=0.3),
        LayerSpec("BatchNormalization"),
        LayerSpec("Dense", 1, "sigmoid"),
    ),
    "binary_crossentropy",
    "adam",
    0.05,
)
OTHER_SPEC = ModelSpec(
    (2,), (LayerSpec("Dense", 5, "tanh"), LayerSpec("Dense", 1, "sigmoid")), "binary_crossentropy"
)


@pytest.fixture(scope="module")
def moons():
    return load_two_moons(200, noise=0.15, random_state=1)


def _trainer(moons, seed: int, pool: TwinPool | None = None, spec: ModelSpec = SPEC, chunk_s: float = 0.2):
    twins = None if pool is None else partial(pool.lend, spec, partial(build_model, spec))
    model = build_model(spec, seed=seed)
    return Trainer(
        model,
        moons.X_train,
        moons.y_train,
        batch_size=8,
        validation_split=0.2,
        seed=seed,
        chunk_s=chunk_s,
        twins=twins,
    )


def _state(trainer: Trainer) -> list[np.ndarray]:
    return [v.numpy() for v in state_variables(trainer.model)]


def _assert_same_state(first: Trainer, second: Trainer) -> None:
    for a, b in zip(_state(first), _state(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_trained_through_a_twin_ends_bit_for_bit_as_one_trained_alone(moons):
    alone = _trainer(moons, seed=3)
    shared = _trainer(moons, seed=3, pool=TwinPool())
    assert shared.run(4) == alone.run(4)  # every loss, metric and val_ value of every epoch
    _assert_same_state(shared, alone)  # weights, batch-norm statistics, dropout's seed, Adam's slots


def test_models_taking_turns_on_one_twin_each_train_as_if_alone_even_mid_epoch(moons):
    """Chunks of a few batches, alternating between three models: each keeps its own state and
    its epoch's running metrics, whatever ran on the twin in between."""
    pool = TwinPool(capacity=1)
    alone = [_trainer(moons, seed=s, chunk_s=1e-4) for s in (0, 1, 2)]
    turns = [_trainer(moons, seed=s, pool=pool, chunk_s=1e-4) for s in (0, 1, 2)]
    expected = [trainer.run(2) for trainer in alone]
    histories: list[list] = [[], [], []]
    stop_now = iter(lambda: True, None)  # should_stop says yes after every chunk
    while any(len(h) < 2 for h in histories):
        for trainer, history in zip(turns, histories):
            if len(history) < 2:
                history += trainer.run(2 - len(history), should_stop=lambda: next(stop_now))
    assert max(t.step for t in turns) == 0 and pool.built == 1
    assert histories == expected
    for shared, own in zip(turns, alone):
        _assert_same_state(shared, own)


def test_the_step_is_traced_once_per_architecture_not_once_per_model(moons):
    pool = TwinPool()
    traces = []

    def counting_twin(spec):
        twin = build_model(spec)
        step = twin.train_step

        def counting_step(*args):  # Python runs only while a compiled function is being traced
            traces.append(spec)
            return step(*args)

        twin.train_step = counting_step
        return twin

    for seed in range(4):
        for spec in (SPEC, OTHER_SPEC):
            model = build_model(spec, seed=seed)
            Trainer(
                model,
                moons.X_train,
                moons.y_train,
                batch_size=16,
                twins=partial(pool.lend, spec, partial(counting_twin, spec)),
            ).run(2)
    assert pool.built == 2
    assert traces == [SPEC, OTHER_SPEC]


def test_twins_busy_at_once_are_distinct_and_the_idle_ones_are_bounded():
    pool = TwinPool(capacity=2)
    made = iter(range(100))
    build = partial(next, made)
    with pool.lend("a", build) as first, pool.lend("a", build) as second:
        assert first != second  # one model at a time per twin
    assert pool.idle() == 2 and pool.built == 2
    with pool.lend("b", build) as other:
        assert other == 2
    assert pool.idle() == 2  # the least recently returned "a" twin went
    with pool.lend("b", build) as again, pool.lend("a", build) as kept_a, pool.lend("a", build) as new_a:
        assert (again, kept_a, new_a) == (2, 0, 3)


def test_lending_from_many_threads_never_gives_one_twin_to_two_borrowers():
    pool = TwinPool(capacity=4)
    made = iter(range(10_000))
    lock = threading.Lock()
    holders: dict[int, int] = {}
    clashes = []

    def borrow(worker: int) -> None:
        for _ in range(200):
            with pool.lend("x", lambda: next(made)) as twin:
                with lock:
                    if twin in holders:
                        clashes.append(twin)
                    holders[twin] = worker
                with lock:
                    del holders[twin]

    threads = [threading.Thread(target=borrow, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clashes == [] and pool.idle() <= 4 and pool.built <= 6


def test_copying_state_between_different_architectures_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="a twin must be built from the same spec"):
        copy_state(build_model(SPEC), build_model(OTHER_SPEC))


def test_a_pool_needs_room_for_one_twin():
    with pytest.raises(ValueError, match="capacity=0 must be at least 1"):
        TwinPool(capacity=0)
