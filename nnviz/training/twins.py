"""Compiled training steps shared by every model of one architecture.

Tracing a small network's training step into a TensorFlow graph costs ~0.3 s of CPU, more than its
20 epochs on two moons take, and a class builds the same few networks again and again (the lecturer
says "2-8-8-1, relu"). So the steps are not traced per model: the first model of an architecture is
built a second time as a *twin*, the twin's step is traced once, and every model of that
architecture trains by lending the twin its state. When a run starts, the model's weights, optimizer
state and random-seed state are copied into the twin (:func:`copy_state`); the twin's compiled step
runs; after each chunk the new weights are copied back for the live view (:func:`copy_weights`), and
all of the state when the run ends. A few small tensors each way, the same arithmetic, the same
numbers (``tests/test_twins.py`` compares them with a model that trains on its own).

A twin trains one model at a time: :meth:`TwinPool.lend` hands out an idle twin of the architecture
or builds another one, and keeps at most ``capacity`` idle twins, dropping the least recently lent.
Nothing here imports Streamlit.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

import keras


def state_variables(model: keras.Model) -> list:
    """Everything a training step reads and changes, apart from the metrics: the weights, the
    non-trainable state (batch-norm statistics, dropout's seed) and the optimizer's slots and step
    count. Builds the optimizer's slots if it has none yet, so that two models of one architecture
    list the same variables in the same order."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return [*model.trainable_variables, *model.non_trainable_variables, *model.optimizer.variables]


def copy_state(source: keras.Model, target: keras.Model) -> None:
    """Give ``target`` the training state (:func:`state_variables`) of ``source``, which must have
    the same architecture and compile settings."""
    _copy(source, target, state_variables(source), state_variables(target))


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Give ``target`` the weights of ``source`` (``model.weights``: all that a forward pass reads,
    batch-norm statistics included), not the optimizer's slots or dropout's seed."""
    _copy(source, target, source.weights, target.weights)


def _copy(source: keras.Model, target: keras.Model, sources: list, targets: list) -> None:
    if len(sources) != len(targets) or any(s.shape != t.shape for s, t in zip(sources, targets)):
        raise ValueError(
            f"Cannot copy the training state of {source.name} into {target.name}: their variables differ "
            f"({len(sources)} vs {len(targets)}); a twin must be built from the same spec as its model."
        )
    for s, t in zip(sources, targets):
        t.assign(s.value)


class TwinPool:
    """Twins of the architectures trained lately, lent out one model at a time.

    Args:
        capacity: most idle twins kept (each holds a small model and its traced steps, ~1–5 MB);
            when more are returned, the least recently lent goes.
    """

    def __init__(self, capacity: int = 32):
        if capacity < 1:
            raise ValueError(f"capacity={capacity} must be at least 1, e.g. 32.")
        self.capacity = capacity
        self._idle: OrderedDict[Hashable, list[keras.Model]] = OrderedDict()
        self._lock = threading.Lock()
        self.built = 0  # twins built so far, for tests and benchmarks

    @contextlib.contextmanager
    def lend(self, key: Hashable, build: Callable[[], keras.Model]) -> Iterator[keras.Model]:
        """An idle twin for ``key`` (an architecture: the spec it is built from), or a new one made
        by ``build()``; it is the caller's alone inside the block."""
        with self._lock:
            twins = self._idle.get(key)
            twin = twins.pop() if twins else None
        if twin is None:
            twin = build()
            with self._lock:
                self.built += 1
        try:
            yield twin
        finally:
            self._give_back(key, twin)

    def idle(self) -> int:
        """Twins waiting to be lent."""
        with self._lock:
            return sum(map(len, self._idle.values()))

    def _give_back(self, key: Hashable, twin: keras.Model) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(twin)
            self._idle.move_to_end(key)
            while sum(map(len, self._idle.values())) > self.capacity:
                oldest = next(iter(self._idle))
                self._idle[oldest].pop(0)
                if not self._idle[oldest]:
                    del self._idle[oldest]
