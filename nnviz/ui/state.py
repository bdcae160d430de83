"""Session-state schema: every key the pages share, with its default, in one place.

Values that must survive a page change live under the plain keys below. Widgets use their own
keys (prefixed ``w.``), because Streamlit forgets a widget's state when a page without that widget
runs; :func:`nnviz.ui.widgets.bound` copies each widget's value back into the plain keys.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import streamlit as st

from nnviz.model.spec import LayerSpec, ModelSpec, starter_spec
from nnviz.training.snapshots import WeightHistory

if TYPE_CHECKING:  # annotations only: loading scikit-learn is not needed to name a Dataset
    from nnviz.data.datasets import Dataset

DATASET = "dataset"
SEED = "seed"
MOONS_SAMPLES = "moons_samples"
MOONS_NOISE = "moons_noise"
EPOCHS = "epochs"
BATCH_SIZE = "batch_size"
VALIDATION_SPLIT = "validation_split"
WORKSPACES = "workspaces"
CSV_DATASET = "csv_dataset"  # this user's uploaded data (a Dataset), never shared with others
CSV_NOTES = "csv_notes"
PRESENT = "present"  # presentation mode: large type, no sidebar, no advanced controls
CODE_API = "code_api"  # how exported code builds the model: "sequential" or "functional"
LESSON = "lesson"  # the name of the lesson open on the Lessons page, or None
LESSON_STEP = "lesson_step"  # its step, from 1
LESSON_LANGUAGE = "lesson_language"  # the language the Lessons page lists lessons in (None: the browser's)
LESSON_ANSWERS = "lesson_answers"  # "lesson/step" -> {"given": answer, "right": bool}, the last one checked
LESSON_DRAFTS = "lesson_drafts"  # "lesson.answer.lesson/step" -> the answer in the widget, checked or not
SHARED_ARCHITECTURE = "shared_architecture"  # from a shared link, until its dataset's workspace is made
VIEWER = "viewer"  # a runtime.Viewer: the page this session shows, for its training threads
QUEUE_OWNER = "queue_owner"  # a random id of this session: it holds one slot of the training queue at a time

DEFAULTS = {
    DATASET: "moons",
    SEED: 0,
    MOONS_SAMPLES: 300,
    MOONS_NOISE: 0.15,
    EPOCHS: 50,
    BATCH_SIZE: 16,
    VALIDATION_SPLIT: 0.2,
    PRESENT: False,
    CODE_API: "sequential",
    LESSON: None,
    LESSON_STEP: 1,
    LESSON_LANGUAGE: None,
}

_row_ids = itertools.count(1)


@dataclass
class LayerRow:
    """One editable layer: a stable ``id`` (widget keys survive moves) and its current spec."""

    layer: LayerSpec
    id: int = field(default_factory=lambda: next(_row_ids))


@dataclass
class Workspace:
    """One user's work on one dataset: the architecture being edited, the model and its history.

    Kept per dataset so that switching datasets and back loses nothing.
    """

    rows: list[LayerRow]
    loss: str
    optimizer: str
    learning_rate: float
    model: object | None = None
    model_spec: ModelSpec | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    job: object | None = None  # the nnviz.training.engine.TrainingJob that trains `model` (imported lazily)
    job_key: tuple = ()  # what the job was made for: data, settings, model and history
    snapshots: WeightHistory = field(default_factory=WeightHistory)  # weights after chosen epochs
    replay_model: object | None = None  # a copy of `model` the scrubber loads past weights into
    views: dict = field(default_factory=dict)  # what the look back computed, by the model state it shows
    replay_for: int = -1  # the number of epochs trained when the look back's slider was last set
    hand_steps: int = 0  # optimizer steps applied on the Inspect page (not epochs: the history skips them)

    def restart_history(self) -> None:
        """The model's weights were replaced: its curve and snapshots start again from them."""
        self.history.clear()
        self.snapshots.clear()
        self.views.clear()
        self.snapshots.add(0, self.model.get_weights())

    @classmethod
    def starter(cls, dataset: Dataset, *, convolutional: bool = False) -> Workspace:
        spec = starter_spec(dataset.input_shape, dataset.target, convolutional=convolutional)
        return cls([LayerRow(layer) for layer in spec.layers], spec.loss, spec.optimizer, spec.learning_rate)

    def spec(self, dataset: Dataset) -> ModelSpec:
        """The architecture as edited, for this dataset's input shape."""
        return ModelSpec(
            dataset.input_shape,
            tuple(row.layer for row in self.rows),
            self.loss,
            self.optimizer,
            self.learning_rate,
        )

    def set_layer(self, position: int, **changes) -> None:
        self.rows[position].layer = replace(self.rows[position].layer, **changes)


def init_state() -> None:
    """Fill in every missing key with its default; safe to call on every run of every page."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    st.session_state.setdefault(WORKSPACES, {})
    st.session_state.setdefault(CSV_DATASET, None)
    st.session_state.setdefault(CSV_NOTES, [])
    st.session_state.setdefault(LESSON_ANSWERS, {})
    st.session_state.setdefault(LESSON_DRAFTS, {})


def workspace(dataset: Dataset) -> Workspace:
    """This session's workspace for ``dataset``, created on first use with the starter network, or
    with the architecture of the shared link the session was opened with."""
    spaces = st.session_state[WORKSPACES]
    if dataset.key not in spaces:
        ws = Workspace.starter(dataset)
        shared = st.session_state.get(SHARED_ARCHITECTURE) or {}
        if shared.get("dataset") == dataset.key:
            del st.session_state[SHARED_ARCHITECTURE]
            if "layers" in shared:
                ws.rows = [LayerRow(layer) for layer in shared["layers"]]
            ws.loss = shared.get("loss", ws.loss)
            ws.optimizer = shared.get("optimizer", ws.optimizer)
            ws.learning_rate = shared.get("learning_rate", ws.learning_rate)
        spaces[dataset.key] = ws
    return spaces[dataset.key]
