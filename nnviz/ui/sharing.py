"""Lecturer mode: open a shared link's setup, offer the link to this setup, and presentation mode."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from nnviz.sharelink import from_query, to_query
from nnviz.ui import state

_LINK_READ = "sharing.link_read"
_SESSION_SETTINGS = (
    state.DATASET,
    state.SEED,
    state.MOONS_SAMPLES,
    state.MOONS_NOISE,
    state.EPOCHS,
    state.BATCH_SIZE,
    state.VALIDATION_SPLIT,
    state.PRESENT,
)
_ARCHITECTURE = ("layers", "loss", "optimizer", "learning_rate")


def open_shared_link() -> None:
    """Once per session, apply the setup in the address the session was opened with; say what was
    left out. Call it before anything reads the session state."""
    session = st.session_state
    if session.get(_LINK_READ):
        return
    session[_LINK_READ] = True
    settings, problems = from_query(st.query_params.to_dict())
    for key in _SESSION_SETTINGS:
        if key in settings:
            session[key] = settings[key]
    architecture = {key: settings[key] for key in _ARCHITECTURE if key in settings}
    if architecture:
        session[state.SHARED_ARCHITECTURE] = {"dataset": session[state.DATASET], **architecture}
    for problem in problems:
        st.warning(problem, icon=":material/link_off:")
    if settings:
        st.toast("Opened the shared setup from the link.", icon=":material/link:")


def share_link() -> str:
    """The address that reopens this session's setup: dataset, options, seed, architecture, settings."""
    session = st.session_state
    settings = {key: session[key] for key in _SESSION_SETTINGS}
    if session[state.DATASET] != "moons":
        del settings[state.MOONS_SAMPLES], settings[state.MOONS_NOISE]
    if session[state.DATASET] == "csv":
        del settings[state.DATASET]  # an uploaded file stays on the server: the link cannot carry it
    ws = session[state.WORKSPACES].get(session[state.DATASET])  # none for a CSV (kept under its digest)
    if ws is not None:
        settings |= {
            "layers": tuple(row.layer for row in ws.rows),
            "loss": ws.loss,
            "optimizer": ws.optimizer,
            "learning_rate": ws.learning_rate,
        }
    base = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    return urllib.parse.urlunsplit(
        (base.scheme, base.netloc, base.path, urllib.parse.urlencode(to_query(settings)), "")
    )


def share_box() -> None:
    """A box with the link to this setup, to paste into a course page or a chat."""
    with st.popover("Share this setup", icon=":material/share:", use_container_width=True):
        st.caption(
            "Whoever opens this link gets this dataset, its options, the seed, the network and the training "
            "settings (not the trained weights: they train it themselves, with the same curve)."
        )
        if st.session_state[state.DATASET] == "csv":
            st.caption(
                "An uploaded file cannot travel in a link: it opens the default dataset, with your seed "
                "and training settings."
            )
        st.code(share_link(), language=None, wrap_lines=True)


PROJECTOR_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none;
}
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 3rem; padding-right: 3rem; }
</style>
"""


def presentation_frame() -> bool:
    """In presentation mode: larger type, no sidebar, a switch at the top to leave it. Returns whether it is on."""
    if not st.session_state[state.PRESENT]:
        return False
    st.markdown(PROJECTOR_CSS, unsafe_allow_html=True)
    return True
