"""The frame around every page: the sidebar with the session's dataset and seed."""

from __future__ import annotations

import streamlit as st

from nnviz.catalog import DATASET_TITLES
from nnviz.ui import state
from nnviz.ui.widgets import state_widget


def sidebar() -> None:
    """Show what this session works on; the seed makes data, weights and shuffling repeatable."""
    with st.sidebar:
        st.markdown(f"**Dataset:** {DATASET_TITLES[st.session_state[state.DATASET]]}")
        state_widget(
            st.number_input,
            "Seed",
            state.SEED,
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            help="The same seed gives the same data split and the same starting weights.",
        )
