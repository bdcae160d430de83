"""Process-wide settings for serving Keras models from Streamlit."""

from __future__ import annotations

import gc

import streamlit as st


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
