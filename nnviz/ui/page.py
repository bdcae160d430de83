"""How a page that works on the session's dataset begins: state, dataset, workspace, title, guard."""

from __future__ import annotations

import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.model.cost import sample_problems
from nnviz.model.spec import ModelSpec, check_spec
from nnviz.ui import state
from nnviz.ui.data import current_dataset
from nnviz.ui.state import Workspace
from nnviz.ui.widgets import show_problems


def workspace_page(title: str) -> tuple[Dataset, Workspace]:
    """Start a page that works on the session's dataset: its state, dataset, workspace and title."""
    state.init_state()
    dataset = current_dataset()
    st.title(title)
    return dataset, state.workspace(dataset)


def trainable_spec(ws: Workspace, dataset: Dataset, *, intro: str | None = None) -> ModelSpec:
    """The architecture being edited, or the page stops here saying what to fix on the Build page
    (also when one sample is more work than the server allows)."""
    spec = ws.spec(dataset)
    problems = check_spec(spec, dataset.target) or sample_problems(spec)  # before anything is built
    if problems:
        if intro:
            st.warning(intro)
        show_problems(problems, fix_page="pages/build.py")
        st.stop()
    return spec
