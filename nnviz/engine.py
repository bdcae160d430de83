"""Training: runs ``model.fit`` and reports each finished epoch through a callback.

The reporter is a plain function, so the engine knows nothing about Streamlit: the Train page
passes one that redraws its charts, the tests pass one that records. Because reports arrive only
between epochs, anything that interrupts training from a report (the page's Stop button) leaves the
weights of the last completed epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np


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


class _ReportEachEpoch(keras.callbacks.Callback):
    """Forwards each epoch's logs, as floats, to ``on_epoch_end``."""

    def __init__(self, epochs: int, on_epoch_end: Callable[[EpochReport], None]):
        super().__init__()
        self.epochs = epochs
        self.on_epoch_end_report = on_epoch_end

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        numbers = {name: float(value) for name, value in (logs or {}).items()}
        elapsed = time.perf_counter() - self.started
        self.on_epoch_end_report(EpochReport(epoch + 1, self.epochs, numbers, elapsed))


def train(
    model: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    validation_split: float = 0.0,
    on_epoch_end: Callable[[EpochReport], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place, continuing from its current weights.

    Args:
        X: features, shape ``(n, *input_shape)``.
        y: labels or targets, shape ``(n,)``.
        epochs: passes over the training rows.
        batch_size: rows per gradient step.
        validation_split: fraction of rows, taken from the end as ``model.fit`` does, held out to
            report ``val_`` metrics; 0 for none.
        on_epoch_end: called with an :class:`EpochReport` after every epoch.

    Returns:
        One dict of metrics per finished epoch.
    """
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split={validation_split} must be in [0, 1), e.g. 0.2.")
    if len(X) * (1 - validation_split) < 1:
        raise ValueError(f"No training rows left after holding out {validation_split:.0%}; lower the split.")
    records: list[dict[str, float]] = []

    def record(report: EpochReport) -> None:
        records.append(report.logs)
        if on_epoch_end is not None:
            on_epoch_end(report)

    model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        callbacks=[_ReportEachEpoch(epochs, record)],
        verbose=0,
    )
    return records
