"""The test rows' predictions for Evaluate and Inspect: within the server's work limit, computed in
the training queue's turn with progress on screen, and kept until the model's weights change."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.explain.evaluate import weights_digest
from nnviz.model.cost import evaluation_problem, rows_per_call
from nnviz.model.spec import ModelSpec
from nnviz.training.engine import outputs_in_turn
from nnviz.ui.replay import cached
from nnviz.ui.runtime import session_owner, user_request_pending
from nnviz.ui.state import Workspace
from nnviz.ui.training import training_queue


def test_outputs(ws: Workspace, dataset: Dataset, spec: ModelSpec) -> np.ndarray:
    """``ws.model``'s outputs for the test rows, shape ``(n, n_outputs)``.

    Computed once per set of weights (a rerun, or another page, reads them from the workspace),
    in a slot of the server's training queue like a training run, with the place in line and
    then the rows done on screen. The page stops with a message when the work is over the
    server's limit, and without one when the user moved on while it waited.
    """
    X = dataset.X_test
    key = ("test outputs", dataset.key, id(dataset), len(X), weights_digest(ws.model.get_weights()))
    return cached(ws, key, lambda: _computed(ws, spec, X))


def _computed(ws: Workspace, spec: ModelSpec, X: np.ndarray) -> np.ndarray:
    problem = evaluation_problem(spec, rows=len(X))
    if problem:
        st.error(problem, icon=":material/timer_off:")
        st.stop()
    queue = training_queue()
    status = st.empty()

    def waiting(position: int) -> None:
        ahead = "next in line" if position <= 1 else f"{position - 1} ahead of these predictions"
        status.info(
            f"Waiting for a free slot in the server's queue: {ahead} ({queue.training} running, "
            f"{queue.capacity} at once on this server)…",
            icon=":material/hourglass_top:",
        )

    def progress(done: int, total: int) -> None:
        status.progress(done / total, text=f"Computing the predictions: {done:,} of {total:,} test rows…")

    outputs = outputs_in_turn(
        ws.model,
        X,
        queue=queue,
        owner=session_owner(),
        rows_per_chunk=rows_per_call(spec),
        give_up=user_request_pending,
        on_wait=waiting,
        on_progress=progress,
    )
    status.empty()
    if outputs is None:  # the user clicked or left: the next run starts again
        st.stop()
    return outputs
