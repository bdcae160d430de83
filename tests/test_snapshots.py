"""The scrubber's snapshots: bounded, spread over the run, exact copies."""

import numpy as np
import pytest

from nnviz.training.snapshots import WeightHistory


def _weights(epoch: int) -> list[np.ndarray]:
    return [np.full((3, 2), float(epoch)), np.full(2, -float(epoch))]


def test_snapshots_stay_bounded_and_spread_from_the_first_to_the_latest_epoch():
    history = WeightHistory(capacity=8)
    for epoch in range(0, 101):
        history.add(epoch, _weights(epoch))
        assert len(history.epochs) <= 8
        assert history.epochs[0] == 0 and history.epochs[-1] == epoch
    assert len(history.epochs) >= 5  # not thinned more than needed
    gaps = np.diff(history.epochs)
    assert len(set(gaps[:-1])) == 1 and gaps[-1] <= gaps[0]  # evenly spread, then the latest
    for epoch in history.epochs:
        np.testing.assert_array_equal(history.at(epoch)[0], np.full((3, 2), float(epoch)))


def test_a_snapshot_is_a_copy_not_a_view_of_weights_that_keep_training():
    history = WeightHistory()
    weights = _weights(1)
    history.add(1, weights)
    weights[0] += 100
    np.testing.assert_array_equal(history.at(1)[0], np.full((3, 2), 1.0))


def test_a_large_model_gets_fewer_snapshots_within_the_byte_budget():
    history = WeightHistory(capacity=64, budget_bytes=10 * 8 * 1000)  # ten snapshots of 1,000 float64
    for epoch in range(50):
        history.add(epoch, [np.zeros(1000)])
    assert len(history.epochs) <= 10


def test_a_missing_epoch_names_the_ones_kept_and_capacity_must_allow_two():
    history = WeightHistory()
    history.add(0, _weights(0))
    with pytest.raises(KeyError, match=r"after epochs \[0\]"):
        history.at(5)
    with pytest.raises(ValueError, match="at least 2"):
        WeightHistory(capacity=1)
