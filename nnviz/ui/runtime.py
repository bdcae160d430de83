"""Process-wide settings for serving Keras models from Streamlit."""

from __future__ import annotations

import gc
import secrets

import streamlit as st

from nnviz.ui import state


def keep_keras_state_between_runs() -> None:
    """Stop Streamlit from resetting Keras at the end of every script run.

    Streamlit (1.67) calls ``keras.backend.clear_session()`` after each run once Keras is imported,
    for apps that rebuild their model on every run. nnviz keeps each user's model in session state
    and trains it in a background thread: clearing Keras's global state, TensorFlow's kernel cache
    and running a full garbage collection after every click cost ~280 ms per rerun here, holding
    the interpreter lock for every user, and pulled state from under running trainings.
    """
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = _no_cleanup


def _no_cleanup() -> None:
    """Nothing to clean: per-user models live in session state and go with the session."""


def freeze_long_lived_objects() -> None:
    """Exempt everything allocated so far (TensorFlow's and Keras's module objects) from garbage collection.

    They live as long as the process; without this every full collection walks them again.
    """
    gc.collect()
    gc.freeze()


def run_through_the_router() -> None:
    """Make sure this page runs inside ``app.py``'s navigation; call it first on every page.

    Streamlit (1.67) keeps a relic of its first multipage design: until some run has called
    ``st.navigation``, a ``pages/`` folder beside the main script makes it run the requested page
    file on its own. So the first visit after a restart that opens a deep link (``/train``, or a
    shared lesson link) would skip the router: no page config, no shared-link settings, and an
    automatic menu of file names, for every user until someone opened ``/``. This turns the relic
    off and reruns through ``app.py``, which opens the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def user_request_pending() -> bool:
    """Whether the user clicked, changed a widget or left while this script run is busy waiting.

    Streamlit acts on such a request at the script's next Streamlit call; a run that waits for
    training progress asks this so that it can end its wait at once instead of at its timeout.
    The timer of ``st.fragment(run_every=…)`` does not count: its reruns wait their turn anyway.
    Reads the script runner's pending request (Streamlit 1.67, pinned in requirements.txt; a test
    checks this against Streamlit's own request objects).
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    requests = getattr(ctx, "script_requests", None)
    return requests is not None and request_is_the_users(requests._state, requests._rerun_data)


def request_is_the_users(state, rerun_data) -> bool:
    """See :func:`user_request_pending`: a stop, a whole-app rerun, or a fragment rerun a person caused."""
    from streamlit.runtime.scriptrunner_utils.script_requests import (
        ScriptRequestType,
        _has_active_trigger_value,
    )

    if state == ScriptRequestType.STOP:
        return True
    if state != ScriptRequestType.RERUN:
        return False
    if not rerun_data.fragment_id_queue and not rerun_data.is_fragment_scoped_rerun:
        return True
    widgets = rerun_data.widget_states.widgets if rerun_data.widget_states is not None else []
    return not rerun_data.is_auto_rerun or any(_has_active_trigger_value(w) for w in widgets)


def session_owner() -> str | None:
    """An id of this browser session, to give it one slot at a time in the training queue (None
    outside a run). Kept in the session's state rather than taken from the script context, whose
    session id is the same for every AppTest session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return None
    return st.session_state.setdefault(state.QUEUE_OWNER, secrets.token_hex(16))


class Viewer:
    """Where this browser session looks: set by the router on every run, read by the session's
    training threads (plain attribute reads and writes, safe across threads).

    Args:
        session_id: Streamlit's id of the session, to ask whether its browser is still connected.
    """

    def __init__(self, session_id: str | None):
        self.session_id = session_id
        self.page: str | None = None
        self.dataset: str | None = None

    def watches(self, page: str, dataset: str) -> bool:
        """Whether ``page`` of ``dataset`` is what the browser shows now and the browser is still
        connected (when this process serves it through Streamlit's runtime)."""
        if (self.page, self.dataset) != (page, dataset):
            return False
        from streamlit.runtime import Runtime

        if self.session_id is None or not Runtime.exists():
            return True  # no runtime to ask (AppTest): the page is all there is to know
        return Runtime.instance().is_active_session(self.session_id)


def note_page(page: str) -> Viewer:
    """Record that this session now shows ``page`` (a page's URL path) of the chosen dataset."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    viewer = st.session_state.setdefault(state.VIEWER, Viewer(None if ctx is None else ctx.session_id))
    viewer.page, viewer.dataset = page, st.session_state[state.DATASET]
    return viewer
