"""Datasets for the pages: loaded once per process and shared read-only by every session."""

from __future__ import annotations

import streamlit as st

from nnviz.data.datasets import Dataset, load_dataset, load_two_moons
from nnviz.ui import state
from nnviz.ui.frame import retitle_if_stale

_SPINNER = "Loading the dataset (the first time can take a few seconds)…"


@st.cache_resource(show_spinner=_SPINNER)
def _fixed_dataset(key: str, random_state: int) -> Dataset:
    return load_dataset(key, random_state=random_state)


# Moons are regenerated for every sample count and noise level a class tries: keep only recent ones,
# in a cache of their own so they never push MNIST out.
@st.cache_resource(show_spinner=False, max_entries=32)
def _moons(n_samples: int, noise: float, random_state: int) -> Dataset:
    return load_two_moons(n_samples, noise=noise, random_state=random_state)


def current_dataset() -> Dataset:
    """The dataset this session has picked, with its options and seed.

    For an uploaded CSV that is not there yet, the page stops with a pointer to the Data page.
    """
    session = st.session_state
    key, seed = session[state.DATASET], session[state.SEED]
    if key == "csv":
        if session.get(state.CSV_DATASET) is None:
            st.info(
                "Upload a CSV file and choose its target on the Data page first.", icon=":material/upload:"
            )
            st.page_link("pages/data.py", label="Go to the Data page", icon=":material/table_chart:")
            st.stop()
        return session[state.CSV_DATASET]
    if key == "moons":
        return _moons(session[state.MOONS_SAMPLES], session[state.MOONS_NOISE], seed)
    # One fixed MNIST split whatever the seed: a second copy would cost another 55 MB per process.
    dataset = _fixed_dataset(key, 0 if key == "mnist" else seed)
    retitle_if_stale(key)
    return dataset
