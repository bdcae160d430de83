"""Model files: exports round-trip; hostile or mismatched imports are refused before they touch anything."""

import io
import json
import pickle
import zipfile

import keras
import numpy as np
import pytest

from nnviz.model.build import build_model
from nnviz.model.modelfiles import (
    SPEC_FORMAT,
    ModelFileError,
    load_weights_npz,
    model_bytes,
    read_spec_json,
    spec_json,
    weights_npz,
)
from nnviz.model.spec import LayerSpec, Limits, ModelSpec

SPEC = ModelSpec(
    (4,),
    (LayerSpec("Dense", 5), LayerSpec("Dropout"), LayerSpec("Dense", 3, "softmax")),
    "sparse_categorical_crossentropy",
    "rmsprop",
    0.003,
)
SETTINGS = {"dataset": "iris", "epochs": 40, "batch_size": 16, "validation_split": 0.2, "seed": 3}


def test_spec_json_round_trip_keeps_architecture_and_settings():
    spec, settings = read_spec_json(spec_json(SPEC, settings=SETTINGS).encode())
    assert spec == SPEC and settings == SETTINGS


def test_weights_round_trip_reproduces_the_outputs():
    trained, fresh = build_model(SPEC, seed=1), build_model(SPEC, seed=2)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    load_weights_npz(fresh, weights_npz(trained))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), trained.predict(x, verbose=0), rtol=1e-6)


def test_the_keras_file_is_a_loadable_model_archive(tmp_path):
    model = build_model(SPEC, seed=1)
    path = tmp_path / "model.keras"
    path.write_bytes(model_bytes(model))
    assert zipfile.is_zipfile(path)
    # Our own export, loaded by the test only: the app never loads a .keras file from a user.
    again = keras.saving.load_model(path)
    assert [w.shape for w in again.get_weights()] == [w.shape for w in model.get_weights()]


def _spec_document(**model_changes) -> bytes:
    document = {"format": SPEC_FORMAT, "model": {**SPEC.to_dict(), **model_changes}, "settings": {}}
    return json.dumps(document).encode()


HOSTILE_SPECS = {
    "Lambda layer": (
        _spec_document(layers=[{"kind": "Lambda", "function": "__import__('os').system('id')"}]),
        "'Lambda' is not supported",
    ),
    "extra layer option": (
        _spec_document(layers=[{"kind": "Dense", "units": 3, "kernel_initializer": "x"}]),
        "no option 'kernel_initializer'",
    ),
    "units as text": (_spec_document(layers=[{"kind": "Dense", "units": "3"}]), "Dense.units must be int"),
    "oversized input": (_spec_document(input_shape=[100000, 100000]), "accepts at most 100,000"),
    "too many units": (
        _spec_document(layers=[{"kind": "Dense", "units": 10**7, "activation": "relu"}]),
        "this server allows 1,024",
    ),
    "too many layers": (_spec_document(layers=[{"kind": "Flatten"}] * 50), "this server allows 20"),
    "not JSON": (b"model = keras.Sequential()", "not valid JSON"),
    "JSON list": (b"[1, 2, 3]", "not an nnviz spec"),
    "other format": (json.dumps({"format": "keras", "config": {}}).encode(), "not an nnviz spec"),
    "huge file": (b" " * 200_000, "a spec is at most"),
    "nested settings": (
        json.dumps({"format": SPEC_FORMAT, "model": SPEC.to_dict(), "settings": {"x": {"y": 1}}}).encode(),
        "plain values",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_SPECS), ids=list(HOSTILE_SPECS))
def test_hostile_or_broken_specs_are_refused(case):
    raw, message = HOSTILE_SPECS[case]
    with pytest.raises(ModelFileError, match=None) as caught:
        read_spec_json(raw, limits=Limits())
    assert message in str(caught.value)


class _Boom:
    def __reduce__(self):  # would run code if this file were ever unpickled
        return (pytest.fail, ("a user's pickle was executed",))


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_a_pickled_npz_is_refused_without_running_it():
    model = build_model(SPEC, seed=1)
    before = [w.copy() for w in model.get_weights()]
    arrays = {f"arr_{k}": w for k, w in enumerate(before)}
    hostile = _npz(**{**arrays, "arr_1": np.array([_Boom()] * 5, dtype=object)})  # the bias's shape
    with pytest.raises(ModelFileError, match="not a plain .npz of numeric arrays"):
        load_weights_npz(model, hostile)
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (pickle.dumps([np.zeros(3)]), "not an .npz file"),
        (b"not a zip at all", "not an .npz file"),
    ],
)
def test_files_that_are_not_npz_are_refused(raw, message):
    with pytest.raises(ModelFileError, match=message):
        load_weights_npz(build_model(SPEC), raw)


def test_weights_of_another_architecture_are_refused_before_anything_changes():
    model = build_model(SPEC, seed=1)
    before = [w.copy() for w in model.get_weights()]
    other = ModelSpec(
        (4,), (LayerSpec("Dense", 6), LayerSpec("Dense", 3, "softmax")), "sparse_categorical_crossentropy"
    )
    with pytest.raises(
        ModelFileError,
        match=r"Weight array 0 \(kernel of layer 1, Dense\) has shape \(4, 6\) in the file but the model needs \(4, 5\)",
    ):
        load_weights_npz(model, weights_npz(build_model(other)))
    with pytest.raises(ModelFileError, match="has 1 array but this model has 4 weight arrays"):
        load_weights_npz(model, _npz(arr_0=np.zeros((4, 5))))
    with pytest.raises(ModelFileError, match="which is not a number|which is infinite"):
        load_weights_npz(
            model,
            weights_npz(model)[:0]
            or _npz(**{f"arr_{k}": np.full(w.shape, np.nan) for k, w in enumerate(before)}),
        )
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)
