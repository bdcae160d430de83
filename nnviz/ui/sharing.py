"""Lecturer mode and the address bar: the address always holds the session's setup (as TensorFlow
Playground's ``state.ts`` keeps it), a link opens its setup, the link to share, presentation mode."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from nnviz.model.sharelink import from_query, to_query
from nnviz.ui import state
from nnviz.ui.widgets import forget_widgets, plain

# The query this session last wrote to the address bar (or read from it). A query in the browser
# that differs from it came from outside: the link the session opened, back/forward, a hand edit.
_LAST_QUERY = "sharing.last_query"
_SESSION_SETTINGS = (
    state.DATASET,
    state.SEED,
    state.MOONS_SAMPLES,
    state.MOONS_NOISE,
    state.EPOCHS,
    state.BATCH_SIZE,
    state.VALIDATION_SPLIT,
    state.PRESENT,
    state.CODE_API,
    state.LESSON,
    state.LESSON_STEP,
)
# What a setting is when the address leaves it out (a step back to an address without it).
_LEFT_OUT = {state.PRESENT: False, state.CODE_API: "sequential", state.LESSON: None, state.LESSON_STEP: 1}
_ARCHITECTURE = ("layers", "loss", "optimizer", "learning_rate")


def follow_address() -> None:
    """Apply the setup in the address when it is not the one this session last wrote there: the link
    the session was opened with (a bookmark, a reload, a hand-edited URL), or a step back or forward
    in the browser's history. Say what was left out. Call it before anything reads the session state.

    Within a session only back and forward count: any other run that brings an older address (an
    ``st.rerun()`` that took it before the run changed the setup, a click sent before the browser had
    the new address) must not undo the change. An address without a query leaves the setup as it is.
    """
    session = st.session_state
    query = st.query_params.to_dict()
    first = _LAST_QUERY not in session
    if query == session.get(_LAST_QUERY) or not (first or (query and _history_navigation())):
        return
    session[_LAST_QUERY] = query
    settings, problems = from_query(query)
    if query and not first:
        settings = _LEFT_OUT | settings
    changed = apply_settings(settings)
    for problem in problems:
        st.warning(plain(problem), icon=":material/link_off:")  # the link's text is data, not markup
    if changed:
        st.toast("Opened the shared setup from the link.", icon=":material/link:")


def _history_navigation() -> bool:
    """Whether this run comes from the browser's back or forward button."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def apply_settings(settings: dict[str, object]) -> bool:
    """Put ``settings`` (as :func:`nnviz.model.sharelink.from_query` gives them) into the session: a
    link's, or a lesson step's setup. Call it before the widgets that show them are drawn (a callback).

    Returns:
        Whether anything changed.
    """
    session, changed = st.session_state, False
    for key in _SESSION_SETTINGS:
        if key in settings and session[key] != settings[key]:
            session[key], changed = settings[key], True
            session.pop(f"w.{key}", None)  # the widget shows the new value, not the one it remembers
    architecture = {key: settings[key] for key in _ARCHITECTURE if key in settings}
    if not architecture:
        return changed
    dataset = session[state.DATASET]
    ws = session[state.WORKSPACES].get(dataset)
    if ws is None:  # made from it when the dataset is first used (state.workspace)
        session[state.SHARED_ARCHITECTURE] = {"dataset": dataset, **architecture}
        return True
    current = {"layers": tuple(row.layer for row in ws.rows), **_compile_settings(ws)}
    if all(current[key] == value for key, value in architecture.items()):
        return changed
    if architecture.get("layers", current["layers"]) != current["layers"]:
        ws.rows = [state.LayerRow(layer) for layer in architecture["layers"]]
    ws.loss = architecture.get("loss", ws.loss)
    ws.optimizer = architecture.get("optimizer", ws.optimizer)
    ws.learning_rate = architecture.get("learning_rate", ws.learning_rate)
    forget_widgets(f"{dataset}.")  # the editor shows the new network; the Train page rebuilds the model
    return True


def _compile_settings(ws: state.Workspace) -> dict[str, object]:
    return {"loss": ws.loss, "optimizer": ws.optimizer, "learning_rate": ws.learning_rate}


def setup_settings() -> dict[str, object]:
    """This session's setup as settings (keys as :func:`nnviz.model.sharelink.from_query` gives them): the
    dataset and its options, the seed, the architecture, the training settings, presentation mode."""
    session = st.session_state
    settings = {key: session[key] for key in _SESSION_SETTINGS}
    if session[state.DATASET] != "moons":
        del settings[state.MOONS_SAMPLES], settings[state.MOONS_NOISE]
    for key, value in _LEFT_OUT.items():
        if settings[key] == value:
            del settings[key]
    if settings.get(state.LESSON) is None:
        settings.pop(state.LESSON_STEP, None)
    if session[state.DATASET] == "csv":
        del settings[state.DATASET]  # an uploaded file stays on the server: the link cannot carry it
    ws = session[state.WORKSPACES].get(session[state.DATASET])  # none for a CSV (kept under its digest)
    if ws is not None:
        settings |= _compile_settings(ws)
        if ws.rows:  # no layers cannot be written as a link
            settings["layers"] = tuple(row.layer for row in ws.rows)
    else:  # a link's network not yet made into a workspace stays in the address
        shared = dict(session.get(state.SHARED_ARCHITECTURE) or {})
        if shared.pop("dataset", None) == session[state.DATASET]:
            settings |= shared
    return settings


def write_address() -> None:
    """Make the address bar hold this session's setup (a reload, a bookmark, back and forward reopen it).

    Writes only when the setup differs from the address; call it at the start and at the end of a run.
    """
    query = to_query(setup_settings())
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    st.session_state[_LAST_QUERY] = query


def share_link() -> str:
    """The address that reopens this session's setup: dataset, options, seed, architecture, settings."""
    base = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    return urllib.parse.urlunsplit(
        (base.scheme, base.netloc, base.path, urllib.parse.urlencode(to_query(setup_settings())), "")
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
