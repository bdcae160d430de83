"""Download and import model files from the pages (the checks themselves are in :mod:`nnviz.model.modelfiles`)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import streamlit as st

from nnviz.data.catalog import DATASET_TITLES, dataset_title
from nnviz.model.modelfiles import ModelFileError, read_spec_json, spec_json
from nnviz.model.sharelink import setting_problem
from nnviz.model.spec import shown
from nnviz.ui import state
from nnviz.ui.state import LayerRow, Workspace
from nnviz.ui.widgets import forget_widgets, plain
from nnviz.views.words import plural

if TYPE_CHECKING:
    from nnviz.data.datasets import Dataset
    from nnviz.model.spec import ModelSpec

# Training settings a spec may carry; each must pass the widgets' bounds (sharelink.setting_problem).
_SETTINGS = (state.EPOCHS, state.BATCH_SIZE, state.VALIDATION_SPLIT, state.SEED)


def settings_of_session() -> dict[str, object]:
    """The dataset and training settings saved beside the architecture."""
    session = st.session_state
    return {"dataset": session[state.DATASET], **{key: session[key] for key in _SETTINGS}}


def _unused_settings(settings: dict[str, object], dataset: Dataset) -> list[str]:
    """What of a spec file's settings is not used, named: keys nnviz has no setting for, and the
    dataset it was saved for when that is not the one it goes into."""
    known = ("dataset", *_SETTINGS)
    notes = [
        f"The spec's {shown(key)}={shown(value)} was left out: nnviz has no such setting "
        f"(it reads {', '.join(known)})."
        for key, value in settings.items()
        if key not in known
    ]
    saved_for = settings.get("dataset", dataset.key)
    if saved_for != dataset.key:
        what = (
            f"was saved for {dataset_title(saved_for)}"
            if saved_for in DATASET_TITLES
            else f"names dataset={shown(saved_for)}, which nnviz does not have"
        )
        notes.append(f"The spec {what}; it was imported into {dataset.title}, the dataset chosen here.")
    return notes


def _first_time(kind: str, raw: bytes) -> bool:
    """True once per uploaded file: a rerun must not apply the same upload again."""
    digest = hashlib.sha256(raw).hexdigest()
    key = f"files.applied.{kind}"
    if st.session_state.get(key) == digest:
        return False
    st.session_state[key] = digest
    return True


def spec_import(ws: Workspace, dataset: Dataset) -> None:
    """Download the architecture and settings as JSON, or import such a file into this workspace."""
    spec = ws.spec(dataset)
    st.download_button(
        "Download architecture and settings (.json)",
        icon=":material/download:",
        data=lambda: spec_json(spec, settings=settings_of_session()),
        file_name=f"nnviz-{dataset.key}.json",
        mime="application/json",
        key="files.spec.download",
        on_click="ignore",
    )
    upload = st.file_uploader(
        "Import an architecture (.json exported by nnviz)", type=["json"], key="files.spec.upload"
    )
    report = st.session_state.pop(_IMPORT_REPORT, None)  # set by the run that imported, before its rerun
    if report:
        st.success(plain(report[0]), icon=":material/upload_file:")
        for problem in report[1:]:
            st.warning(plain(problem), icon=":material/warning:")
    if upload is None or not _first_time("spec", upload.getvalue()):
        return
    try:
        imported, settings = read_spec_json(upload.getvalue())
    except ModelFileError as err:
        st.error(plain(str(err)), icon=":material/error:")
        return
    if imported.input_shape != dataset.input_shape:
        st.error(
            plain(
                f"This architecture takes inputs of shape {imported.input_shape}, but {dataset.title} has "
                f"{dataset.input_shape}: choose the dataset it was made for first."
            ),
            icon=":material/error:",
        )
        return
    ws.rows = [LayerRow(layer) for layer in imported.layers]
    ws.loss, ws.optimizer, ws.learning_rate = imported.loss, imported.optimizer, imported.learning_rate
    skipped = _unused_settings(settings, dataset)
    for key in _SETTINGS:
        if key in settings:
            problem = setting_problem(key, settings[key])
            if problem is None:
                st.session_state[key] = settings[key]
                forget_widgets(key)
            else:
                skipped.append(f"The spec's {key}={shown(settings[key])} was left out: {problem}")
    forget_widgets(dataset.key)
    st.session_state[_IMPORT_REPORT] = [
        f"Imported {plural(len(imported.layers), 'layer')} and the settings.",
        *skipped,
    ]
    st.rerun()


_IMPORT_REPORT = "files.spec.report"


def model_downloads_and_weights(ws: Workspace, dataset: Dataset, spec: ModelSpec) -> None:
    """Download the trained model or its weights; load weights exported from the same architecture."""
    from nnviz.model.modelfiles import load_weights_npz, model_bytes, weights_npz

    downloads = (
        ("Download the model (.keras)", "files.keras", lambda: model_bytes(ws.model), ".keras"),
        ("Download the weights (.npz)", "files.npz", lambda: weights_npz(ws.model), "-weights.npz"),
    )
    for column, (label, key, data, suffix) in zip(st.columns(len(downloads)), downloads):
        column.download_button(
            label,
            icon=":material/download:",
            key=key,
            data=data,
            file_name=f"nnviz-{dataset.key}{suffix}",
            mime="application/octet-stream",
            on_click="ignore",
        )
    upload = st.file_uploader(
        "Load weights (.npz exported by nnviz for this architecture)",
        type=["npz"],
        key="files.weights.upload",
        help="Only plain numeric arrays are read; .keras and .h5 files are never loaded.",
    )
    if upload is None or not _first_time("weights", upload.getvalue()):
        return
    try:
        load_weights_npz(ws.model, upload.getvalue())
    except ModelFileError as err:
        st.error(plain(str(err)), icon=":material/error:")
        return
    ws.restart_history()  # the curve belonged to the old weights
    st.success("Weights loaded: the model now computes with them.", icon=":material/upload_file:")
