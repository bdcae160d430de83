"""The frame around every page: the sidebar with the session's dataset, seed and sharing, or,
in presentation mode, no sidebar and a switch back at the top."""

from __future__ import annotations

import streamlit as st

from nnviz.data.catalog import dataset_title
from nnviz.ui import state
from nnviz.ui.sharing import presentation_frame, share_box
from nnviz.ui.widgets import state_widget

SIDEBAR_TITLE = "frame.dataset_title"  # the dataset's name as this run's sidebar and dataset box show it


def sidebar(*, on_lessons: bool = False) -> None:
    """Show what this session works on; the seed makes data, weights and shuffling repeatable.

    Args:
        on_lessons: the Lessons page is open (no link back to the lesson it shows).
    """
    # The name of the data in use: an offline stand-in's once a download failed (see retitle_if_stale).
    title = st.session_state[SIDEBAR_TITLE] = dataset_title(st.session_state[state.DATASET])
    if presentation_frame():
        _, switch_col = st.columns([3, 1])  # wide enough for the switch's label at projector size
        with switch_col:
            _presentation_switch()
        return
    with st.sidebar:
        if st.session_state[state.LESSON] and not on_lessons:
            st.page_link(
                "pages/lessons.py",
                label=f"Back to the lesson, step {st.session_state[state.LESSON_STEP]}",
                icon=":material/school:",
            )
        st.markdown(f"**Dataset:** {title}")
        state_widget(
            st.number_input,
            "Seed",
            state.SEED,
            step=1,
            help="The same seed gives the same data split, the same starting weights and the same curve.",
        )
        share_box()
        _presentation_switch()


def retitle_if_stale(key: str) -> None:
    """Rerun once when loading dataset ``key`` just changed its name (a download failed and an
    offline stand-in is used), so the sidebar and the dataset box drawn before name the data in use."""
    shown = st.session_state.get(SIDEBAR_TITLE)
    if shown is not None and shown != dataset_title(key):
        st.rerun()


def _presentation_switch() -> None:
    state_widget(
        st.toggle,
        "Presentation mode",
        state.PRESENT,
        help="For a projector: larger type and charts, no sidebar, fewer controls. Add ?present=1 to a link.",
    )
