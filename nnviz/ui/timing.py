"""Server time of a rerun, measured with Streamlit's AppTest (for ``python -m nnviz.bench``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def build_page_rerun_ms(*, reruns: int = 30) -> float:
    """95th percentile of the Build page's server time after a widget change (AppTest, after warm-up)."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/build.py").run()
    first = at.session_state["workspaces"]["moons"].rows[0].id
    times = []
    for k in range(reruns + 3):
        widget = at.number_input(key=f"w.moons.{first}.units").set_value(8 + k % 5)
        started = time.perf_counter()
        widget.run()
        if k >= 3:  # the first reruns warm caches up
            times.append(time.perf_counter() - started)
    if at.exception:
        raise RuntimeError(f"the Build page failed during the benchmark: {at.exception}")
    return 1000 * float(np.percentile(times, 95))
