"""The frame around every page: the sidebar with the session's dataset, seed and sharing, or,
in presentation mode, no sidebar and a switch back at the top."""

from __future__ import annotations

import streamlit as st

from nnviz.catalog import DATASET_TITLES
from nnviz.ui import state
from nnviz.ui.sharing import presentation_frame, share_box
from nnviz.ui.widgets import state_widget


def sidebar() -> None:
    """Show what this session works on; the seed makes data, weights and shuffling repeatable."""
    if presentation_frame():
        _, switch_col = st.columns([5, 1])
        with switch_col:
            _presentation_switch()
        return
    with st.sidebar:
        st.markdown(f"**Dataset:** {DATASET_TITLES[st.session_state[state.DATASET]]}")
        state_widget(
            st.number_input,
            "Seed",
            state.SEED,
            step=1,
            help="The same seed gives the same data split, the same starting weights and the same curve.",
        )
        share_box()
        _presentation_switch()


def _presentation_switch() -> None:
    state_widget(
        st.toggle,
        "Presentation mode",
        state.PRESENT,
        help="For a projector: larger type and charts, no sidebar, fewer controls. Add ?present=1 to a link.",
    )
