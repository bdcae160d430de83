"""Weights as they were after chosen epochs, in bounded memory: what the history scrubber replays.

Keeping every epoch's weights would grow without end, so :class:`WeightHistory` keeps at most
``capacity`` snapshots: those of every ``stride``-th epoch (epoch 0 included) and the latest one.
When that is too many, the stride doubles: the snapshots stay evenly spread over the whole run,
twice as far apart each time it fills up.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BUDGET_BYTES = 32 * 2**20  # per model: a class of 100 sessions stays within ~3 GB


class WeightHistory:
    """Snapshots of a model's weights after some epochs.

    Args:
        capacity: most snapshots kept, at least 2.
        budget_bytes: also keep no more snapshots than fit in this many bytes (a large model
            gets fewer), but always at least 2.
    """

    def __init__(self, *, capacity: int = 64, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        if capacity < 2:
            raise ValueError(f"capacity={capacity}: keep at least 2 snapshots (the first and the latest).")
        self.capacity, self.budget_bytes = capacity, budget_bytes
        self._snapshots: dict[int, list[np.ndarray]] = {}
        self._stride = 1

    def add(self, epoch: int, weights: list[np.ndarray]) -> None:
        """Keep a copy of ``weights`` as they were after ``epoch`` (0 = before training)."""
        size = sum(w.nbytes for w in weights)
        limit = max(2, min(self.capacity, self.budget_bytes // max(size, 1)))
        self._snapshots[epoch] = [np.array(w, copy=True) for w in weights]
        self._thin(latest=epoch)
        while len(self._snapshots) > limit:
            self._stride *= 2
            self._thin(latest=epoch)

    def _thin(self, *, latest: int) -> None:
        """Keep the epochs on the stride's grid, and the latest."""
        for epoch in [e for e in self._snapshots if e % self._stride and e != latest]:
            del self._snapshots[epoch]

    @property
    def epochs(self) -> list[int]:
        """The epochs that have a snapshot, in order."""
        return sorted(self._snapshots)

    def at(self, epoch: int) -> list[np.ndarray]:
        """The weights after ``epoch``; KeyError naming the epochs kept if there is no such snapshot."""
        if epoch not in self._snapshots:
            raise KeyError(f"No snapshot after epoch {epoch}; snapshots exist after epochs {self.epochs}.")
        return self._snapshots[epoch]

    def clear(self) -> None:
        self._snapshots.clear()
        self._stride = 1
