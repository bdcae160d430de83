"""The notebook downloads: the setup as a notebook (Build page), and with the trained weights and the
input being inspected (Inspect page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from nnviz.model.codegen import FitSettings
from nnviz.model.spec import ModelSpec
from nnviz.ui import state
from nnviz.ui.state import Workspace
from nnviz.views.words import plural

if TYPE_CHECKING:  # annotations only
    from nnviz.data.datasets import Dataset
    from nnviz.ui.inspect_view import Sample


def fit_settings(epochs: int | None = None) -> FitSettings:
    """The Train page's settings and the seed (``epochs``, when given, instead of the epochs per run)."""
    session = st.session_state
    return FitSettings(
        epochs or session[state.EPOCHS],
        session[state.BATCH_SIZE],
        session[state.VALIDATION_SPLIT],
        session[state.SEED],
    )


def data_options(dataset: Dataset) -> dict[str, object]:
    """The dataset's own options, as :func:`nnviz.model.codegen.data_code` takes them."""
    if dataset.key != "moons":
        return {}
    session = st.session_state
    return {"moons_samples": session[state.MOONS_SAMPLES], "moons_noise": session[state.MOONS_NOISE]}


def _export_key(dataset: Dataset) -> str:
    return "csv" if dataset.key.startswith("csv") else dataset.key


def setup_notebook(spec: ModelSpec, dataset: Dataset, api: str) -> Callable[[], str]:
    """What makes the notebook of the setup (no trained weights: it trains its own, following test
    row 0) when the download button is pressed. The session is read now: the button's callable runs
    outside the script, where the session cannot be read."""
    key, fit, options, class_names = (
        _export_key(dataset),
        fit_settings(),
        data_options(dataset),
        dataset.class_names,
    )

    def notebook() -> str:
        import nbformat

        from nnviz.model.notebook import course_notebook, row_sample

        made = course_notebook(
            spec, key, fit, sample=row_sample("test", 0), class_names=class_names, api=api, **options
        )
        return nbformat.writes(made)

    return notebook


def notebook_download(ws: Workspace, spec: ModelSpec, dataset: Dataset, sample: Sample) -> None:
    """A button that downloads a zip: a notebook of this setup that follows ``sample`` through the
    network, and an ``.npz`` with the weights trained here (and an uploaded CSV's prepared rows)."""
    from nnviz.model.notebook import course_notebook, notebook_bundle, row_sample, values_sample

    key = _export_key(dataset)
    stem = f"nnviz_{key}"
    epochs = len(ws.history)
    fit = fit_settings(epochs)
    what = "your drawing" if dataset.is_image else "the values you typed"
    notebook_sample = row_sample(*sample.row) if sample.row else values_sample(sample.x, what)
    # Read now: the button's callable runs outside the script, where the session cannot be read.
    model, class_names, options = ws.model, dataset.class_names, data_options(dataset)
    api = st.session_state[state.CODE_API]
    arrays = None
    if key == "csv":
        arrays = {name: getattr(dataset, name) for name in ("X_train", "y_train", "X_test", "y_test")}

    def bundle() -> bytes:  # made when the button is pressed, not on every run of the page
        notebook = course_notebook(
            spec, key, fit, sample=notebook_sample, class_names=class_names,
            api=api,
            weights_file=f"{stem}.npz", **options,
        )  # fmt: skip
        return notebook_bundle(notebook, stem, model.get_weights(), arrays)

    st.subheader("Take it to a notebook")
    trained = (
        f"trains it for the {plural(epochs, 'epoch')} trained here, batch for batch as the app did"
        if epochs
        else f"trains it for {plural(fit.epochs, 'epoch')} (none was trained here yet)"
    )
    st.caption(
        f"A Jupyter notebook in the course's style: it loads the data as this app does, builds this network, "
        f"{trained} with batch size {fit.batch_size}, validation split {fit.validation_split:g} and seed "
        f"{fit.seed}, evaluates it, then follows this input through the layers with `predict_and_log`, "
        f"numpy beside Keras. The `.npz` beside it holds the weights as they are here"
        + (f" (after {plural(ws.hand_steps, 'step')} applied by hand)" if ws.hand_steps else "")
        + ": the notebook loads them, so it prints the numbers on this page."
    )
    st.download_button(
        "Download the notebook and the weights (.zip)",
        bundle,
        file_name=f"{stem}_notebook.zip",
        mime="application/zip",
        icon=":material/download:",
        key="inspect.notebook",
        on_click="ignore",
    )
