"""What a reload or a dropped connection must not lose: trained models, their histories and snapshots,
an uploaded dataset. They stay on the server in a bounded store (:mod:`nnviz.training.store`) under a token
kept in a cookie of the browser, and a new session of that browser adopts them.

The token (``secrets.token_urlsafe(32)``) is unguessable and per browser: another browser, or another
browser profile, never sees this one's models. The setup itself is in the address (:mod:`nnviz.ui.sharing`).
"""

from __future__ import annotations

import re
import secrets

import numpy as np
import streamlit as st

from nnviz.training.store import SessionStore
from nnviz.ui import state

COOKIE = "nnviz_token"
# This session's token. Set before the first run to choose it (AppTest has no cookies).
TOKEN = "persist.token"
_ASKED = "persist.asked"  # the store was asked for this browser's things, once per session
_TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) gives
# The models and uploads, the lessons' answers, and the settings too: the address applied on top then changes nothing
# (no "opened the shared setup" after a reload), and an uploaded file stays the dataset.
_KEPT = (
    state.WORKSPACES,
    state.CSV_DATASET,
    state.CSV_NOTES,
    state.LESSON_ANSWERS,
    state.LESSON_DRAFTS,
    *state.DEFAULTS,
)
_HISTORY_ROW_BYTES = 400  # one epoch's metrics: a small dict of floats
_OPTIMIZER_COPIES = 3  # the weights and, for Adam, two slots of the same size
# A Keras model costs far more than its weights: its layers, optimizer and traced train and test
# steps. Measured: ~12 MB per trained two-moons model kept alive (TensorFlow 2.21, Keras 3.15).
_TRAINED_MODEL_BYTES = 12 * 2**20
_MODEL_BYTES = 2 * 2**20  # a model only built, or only predicted with (the look back's copy)


@st.cache_resource
def session_store() -> SessionStore:
    """The process's one store, bounded by ``NNVIZ_STORE_MB`` and ``NNVIZ_STORE_TTL_H``."""
    return SessionStore.from_env()


def restore_session() -> None:
    """Once per session: adopt what this browser's previous session left in the store, and make sure
    the browser holds a token. Call it after :func:`nnviz.ui.state.init_state` and before the address
    is read (its setup is applied on top of what is restored)."""
    session = st.session_state
    if session.get(_ASKED):
        return
    session[_ASKED] = True
    store = session_store()
    token = session.get(TOKEN) or _cookie_token()
    kept = store.get(token) if token else None
    if kept is None:
        if token:
            hours = store.ttl_s / 3600
            st.warning(
                "Your trained model from before could not be restored: the server keeps it for "
                f"{hours:g} hours after its last use and only as long as it runs and has room. "
                "The setup from the address is back, train again.",
                icon=":material/history_toggle_off:",
            )
        token = secrets.token_urlsafe(32)
    else:
        for key in _KEPT:
            session[key] = kept[key]
    session[TOKEN] = token
    _set_cookie(token, max_age_s=int(store.ttl_s))


def save_session() -> None:
    """Keep this session's models and uploaded data under its token (by reference: cheap on every run)."""
    session = st.session_state
    token = session.get(TOKEN)
    if not token:
        return
    kept = {key: session[key] for key in _KEPT}
    session_store().put(token, kept, kept_bytes(kept))


def kept_bytes(kept: dict) -> int:
    """About what ``kept`` holds in memory: each model's weights with its optimizer's slots, the copy
    the look back uses, the weight snapshots, the histories and an uploaded dataset, and what Keras
    itself keeps per model."""
    total = 0
    for ws in kept[state.WORKSPACES].values():
        total += _OPTIMIZER_COPIES * _weights_bytes(ws.model) + _weights_bytes(ws.replay_model)
        if ws.model is not None:
            total += _TRAINED_MODEL_BYTES if ws.history else _MODEL_BYTES
        if ws.replay_model is not None:
            total += _MODEL_BYTES
        total += sum(w.nbytes for epoch in ws.snapshots.epochs for w in ws.snapshots.at(epoch))
        total += _HISTORY_ROW_BYTES * len(ws.history)
    dataset = kept.get(state.CSV_DATASET)
    if dataset is not None:
        total += sum(a.nbytes for a in (dataset.X_train, dataset.X_test, dataset.y_train, dataset.y_test))
    return total


def _weights_bytes(model) -> int:
    if model is None:
        return 0
    return sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)


def _cookie_token() -> str | None:
    """The token in this browser's cookie, if it has one in the right format."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser behind this session (a test, a script)
        return None
    return token if isinstance(token, str) and _TOKEN_FORMAT.fullmatch(token) else None


def _set_cookie(token: str, *, max_age_s: int) -> None:
    """Have the browser keep ``token`` (as long as the store keeps its entry after the last use)."""
    if not _TOKEN_FORMAT.fullmatch(token):  # never write anything else into the page's script
        raise ValueError(f"token={token!r} is not a secrets.token_urlsafe(32) token; make one with it.")
    secure = "; Secure" if (st.context.url or "").startswith("https:") else ""
    with st.sidebar:  # out of the page's way; scripts in it run even when it is hidden
        st.html(
            f"<script>document.cookie = '{COOKIE}={token}; path=/; max-age={max_age_s}; "
            f"SameSite=Lax{secure}';</script>",
            unsafe_allow_javascript=True,
        )
