"""Checking a lesson's answers: fixed ones from the lesson file, and ones read from the app's state
(the network's parameter count, what the trained network predicts, how its training went)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nnviz.course.lessons import Question


class NotReady(Exception):
    """The answer depends on something the student has not done yet; ``reason`` is a key of the
    Lessons page's words (``"needs_training"``) or a sentence."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AppState:
    """What a check may read, each part computed only when a question asks for it.

    Args:
        parameters: the parameter count of the network on the Build page; None while it cannot be built.
        history: the trained epochs' metrics, oldest first (``loss`` in each).
        class_names: the dataset's classes (empty for regression).
        outputs: the trained network's class probabilities (or predicted values) for rows in the data's
            own units, shape ``(n_rows, n_outputs)``, or None for rows that do not fit the dataset; None
            itself while the network is untrained or training.
        test_predictions: the trained network's class for every test row; None as ``outputs``.
        y_test: the test rows' classes.
        training: whether a run is changing the network right now.
    """

    parameters: int | None
    history: Sequence[Mapping[str, float]]
    class_names: Sequence[str]
    outputs: Callable[[Sequence[Sequence[float]]], np.ndarray | None] | None
    test_predictions: Callable[[], np.ndarray] | None
    y_test: np.ndarray
    training: bool = False


_NO_CLASSES = "This question needs a dataset with classes: set the app up for this lesson again."


def expected(question: Question, app: AppState) -> object:
    """The right answer to ``question`` now: its fixed answer, or the one its ``check`` reads.

    For ``misclassified_test_row`` it is the set of rows gotten wrong (any of them is right).

    Raises:
        NotReady: when the answer needs a trained network (or a network that builds) first; the
            reason is ``"needs_training"``, ``"still_training"`` or a sentence.
    """
    if question.check is None:
        return question.answer
    if question.check == "parameters":
        if app.parameters is None:
            raise NotReady("The network on the Build page has a problem to fix first.")
        return app.parameters
    if app.training:
        raise NotReady("still_training")
    if question.check == "loss_went_down":
        if len(app.history) < 2:
            raise NotReady("needs_training")
        return app.history[-1]["loss"] < app.history[0]["loss"]
    if not app.class_names:
        raise NotReady(_NO_CLASSES)
    if app.outputs is None or app.test_predictions is None:
        raise NotReady("needs_training")
    if question.check == "predicted_class":
        outputs = app.outputs([question.input])
        if outputs is None:
            raise NotReady(
                "This question's input does not fit this dataset: set the app up for this lesson again."
            )
        return app.class_names[int(np.argmax(outputs[0]))]
    right = app.test_predictions() == np.asarray(app.y_test)
    if question.check == "test_accuracy":
        return 100 * float(right.mean())
    wrong = {int(row) for row in np.flatnonzero(~right)}  # misclassified_test_row
    if not wrong:
        raise NotReady("The network gets every test row right: there is none to find.")
    return wrong


def is_right(question: Question, given: object, app: AppState) -> bool:
    """Whether ``given`` answers ``question`` (a number within its tolerance, the right choice, yes/no).

    Raises:
        NotReady: see :func:`expected`.
    """
    answer = expected(question, app)
    if given is None:
        return False
    if isinstance(answer, set):
        return float(given).is_integer() and int(given) in answer
    if question.kind == "number":
        return abs(float(given) - float(answer)) <= question.tolerance + 1e-9 * max(1.0, abs(float(answer)))
    return given == answer
