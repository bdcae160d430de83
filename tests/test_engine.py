"""Training: per-epoch reports, continuing, and interruption that keeps a consistent model."""

import numpy as np
import pytest

from nnviz.build import build_model
from nnviz.datasets import load_two_moons
from nnviz.engine import EpochReport, train
from nnviz.spec import LayerSpec, ModelSpec

MOONS_SPEC = ModelSpec(
    (2,),
    (LayerSpec("Dense", 8, "relu"), LayerSpec("Dense", 1, "sigmoid")),
    "binary_crossentropy",
    "adam",
    0.05,
)


@pytest.fixture(scope="module")
def moons():
    return load_two_moons(200, noise=0.1, random_state=0)


def test_reports_every_epoch_with_train_and_validation_metrics(moons):
    model = build_model(MOONS_SPEC, seed=0)
    reports: list[EpochReport] = []
    history = train(
        model,
        moons.X_train,
        moons.y_train,
        epochs=4,
        batch_size=16,
        validation_split=0.25,
        on_epoch_end=reports.append,
    )
    assert [r.epoch for r in reports] == [1, 2, 3, 4] and {r.epochs for r in reports} == {4}
    assert set(history[0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert [r.logs for r in reports] == history
    assert reports[-1].eta_s == 0 and reports[0].eta_s >= 0


def test_validation_loss_is_measured_on_the_last_rows(moons):
    model = build_model(MOONS_SPEC, seed=0)
    history = train(model, moons.X_train, moons.y_train, epochs=2, batch_size=16, validation_split=0.25)
    held_out = slice(int(len(moons.X_train) * 0.75), None)
    expected = model.evaluate(moons.X_train[held_out], moons.y_train[held_out], verbose=0, return_dict=True)
    assert history[-1]["val_loss"] == pytest.approx(expected["loss"], rel=1e-5)


def test_training_learns_and_continues_from_current_weights(moons):
    model = build_model(MOONS_SPEC, seed=0)
    first = train(model, moons.X_train, moons.y_train, epochs=30, batch_size=16)
    second = train(model, moons.X_train, moons.y_train, epochs=5, batch_size=16)
    assert first[-1]["loss"] < first[0]["loss"] * 0.8
    assert second[0]["loss"] < first[0]["loss"]  # the second run did not start from scratch


class _Interrupt(Exception):
    pass


def test_interrupting_from_a_report_keeps_the_last_finished_epoch(moons):
    model = build_model(MOONS_SPEC, seed=0)
    snapshots = []

    def stop_after_two(report: EpochReport):
        snapshots.append(model.get_weights())
        if report.epoch == 2:
            raise _Interrupt  # as Streamlit's rerun does when Stop is pressed

    with pytest.raises(_Interrupt):
        train(
            model,
            moons.X_train,
            moons.y_train,
            epochs=10,
            batch_size=16,
            validation_split=0.2,
            on_epoch_end=stop_after_two,
        )
    for now, then in zip(model.get_weights(), snapshots[-1]):
        np.testing.assert_array_equal(now, then)

    # The next run validates on its own rows, not on rows cached by the interrupted one.
    other = load_two_moons(200, noise=0.3, random_state=5)
    history = train(model, other.X_train, other.y_train, epochs=1, batch_size=16, validation_split=0.2)
    rows = slice(int(len(other.X_train) * 0.8), None)
    expected = model.evaluate(other.X_train[rows], other.y_train[rows], verbose=0, return_dict=True)
    assert history[-1]["val_loss"] == pytest.approx(expected["loss"], rel=1e-5)


@pytest.mark.parametrize("split", [-0.1, 1.0])
def test_bad_validation_split_says_what_to_use(moons, split):
    with pytest.raises(ValueError, match="must be in \\[0, 1\\)"):
        train(
            build_model(MOONS_SPEC),
            moons.X_train,
            moons.y_train,
            epochs=1,
            batch_size=8,
            validation_split=split,
        )
