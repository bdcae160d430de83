"""A bounded, in-process store of what a browser's session needs to continue after a reload.

The address bar holds a setup (:mod:`nnviz.model.sharelink`); what cannot live in a URL (a trained model,
its history and snapshots, an uploaded dataset) is kept here under an unguessable per-browser token,
by reference. The store is bounded twice: entries unused for ``ttl_s`` seconds are dropped, and
when the entries' sizes add up to more than ``max_bytes`` the least recently used go first.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_STORE_MB = 1024
DEFAULT_STORE_TTL_H = 12.0


@dataclass
class _Entry:
    value: object
    nbytes: int
    used_at: float


class SessionStore:
    """Values by token, least recently used first out, each forgotten ``ttl_s`` seconds after its last use.

    Safe to use from several threads (each Streamlit session runs its script in its own thread).

    Args:
        max_bytes: the most the entries' ``nbytes`` may add up to; older entries are dropped to fit.
        ttl_s: seconds an entry is kept after its last ``put`` or ``get``.
        clock: seconds from any fixed start (``time.monotonic`` by default); tests pass a fake one.
    """

    def __init__(self, *, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(
                f"SessionStore max_bytes={max_bytes!r} must be a whole number above 0, e.g. 2**30."
            )
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not ttl_s > 0:
            raise ValueError(f"SessionStore ttl_s={ttl_s!r} must be a number of seconds above 0, e.g. 3600.")
        self.max_bytes, self.ttl_s, self._clock = max_bytes, float(ttl_s), clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._bytes = 0
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> SessionStore:
        """A store bounded by ``NNVIZ_STORE_MB`` (default 1024) and ``NNVIZ_STORE_TTL_H`` (default 12)."""
        megabytes = _env_number("NNVIZ_STORE_MB", DEFAULT_STORE_MB)
        hours = _env_number("NNVIZ_STORE_TTL_H", DEFAULT_STORE_TTL_H)
        if megabytes <= 0 or hours <= 0:
            raise ValueError(
                f"NNVIZ_STORE_MB={megabytes:g} and NNVIZ_STORE_TTL_H={hours:g} must both be above 0; "
                f"unset them for the defaults ({DEFAULT_STORE_MB} MB, {DEFAULT_STORE_TTL_H:g} h)."
            )
        return cls(max_bytes=int(megabytes * 2**20), ttl_s=hours * 3600)

    def put(self, token: str, value: object, nbytes: int) -> bool:
        """Keep ``value`` under ``token`` (replacing what was there), as the most recently used entry.

        Args:
            token: the browser's token.
            value: kept by reference, never copied.
            nbytes: what ``value`` costs in memory, as counted against ``max_bytes``.

        Returns:
            False when ``nbytes`` alone exceeds ``max_bytes``: nothing is kept under ``token`` then.
        """
        _check_token(token)
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
            raise ValueError(
                f"SessionStore.put nbytes={nbytes!r} must be a whole number of bytes, 0 or more."
            )
        with self._lock:
            now = self._clock()
            self._drop(token)
            self._drop_expired(now)
            if nbytes > self.max_bytes:
                return False
            self._entries[token] = _Entry(value, nbytes, now)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
            return True

    def get(self, token: str) -> object | None:
        """The value kept under ``token``, now the most recently used; None when absent or expired.

        Args:
            token: the browser's token.
        """
        _check_token(token)
        with self._lock:
            now = self._clock()
            self._drop_expired(now)
            entry = self._entries.get(token)
            if entry is None:
                return None
            entry.used_at = now
            self._entries.move_to_end(token)
            return entry.value

    def discard(self, token: str) -> None:
        """Forget what is kept under ``token``, if anything.

        Args:
            token: the browser's token.
        """
        with self._lock:
            self._drop(token)

    @property
    def nbytes(self) -> int:
        """What the entries kept now add up to."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, token: object) -> bool:
        with self._lock:
            self._drop_expired(self._clock())
            return token in self._entries

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is not None:
            self._bytes -= entry.nbytes

    def _drop_expired(self, now: float) -> None:
        # Entries are in order of last use, so the expired ones are at the front.
        while self._entries:
            token, entry = next(iter(self._entries.items()))
            if now - entry.used_at < self.ttl_s:
                break
            self._drop(token)


def _check_token(token: object) -> None:
    if not isinstance(token, str) or not token:
        raise ValueError(
            f"SessionStore token={token!r} must be a non-empty string, e.g. secrets.token_urlsafe(32)."
        )


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ValueError(f"{name}={raw!r} is not a number; unset it or give e.g. {default:g}") from err
