"""Whether figures are being made for a projector. Kept apart from :mod:`nnviz.views.figures` so that the
router can set it without importing plotly and scikit-learn on every page."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

# Figures made while this is true are styled for a projector: larger type, thicker lines, white
# background with black axes. Set per script run (each run has its own context), not per process.
PROJECTOR = contextvars.ContextVar("projector", default=False)


@contextlib.contextmanager
def projector_style(on: bool) -> Iterator[None]:
    """Within this block, the figures built here are styled for a projector when ``on``."""
    token = PROJECTOR.set(on)
    try:
        yield
    finally:
        PROJECTOR.reset(token)
