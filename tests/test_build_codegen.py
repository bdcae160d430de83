"""The exported Keras code builds the very model the app trains."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import sklearn.datasets
from sklearn.utils import Bunch

from nnviz.data.catalog import OFFLINE_NOTES, STAND_IN_TITLES
from nnviz.data.datasets import load_dataset, load_housing, load_iris_data, load_mnist, load_two_moons
from nnviz.model.build import build_model
from nnviz.model.codegen import FitSettings, data_code, keras_code, training_script
from nnviz.model.spec import LayerSpec, ModelSpec, Target, starter_spec

CASES = [
    ModelSpec(
        (2,),
        (LayerSpec("Dense", 6, "tanh"), LayerSpec("Dense", 1, "sigmoid")),
        "binary_crossentropy",
        "sgd",
        0.1,
    ),
    ModelSpec((2,), (LayerSpec("Dense", 4), LayerSpec("Dense", 1, "tanh")), "hinge", "rmsprop", 0.003),
    ModelSpec(
        (28, 28),
        (
            LayerSpec("Rescaling"),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 16),
            LayerSpec("Dropout", rate=0.3),
            LayerSpec("Dense", 10, "softmax"),
        ),
        "sparse_categorical_crossentropy",
        "adam",
        0.001,
    ),
    ModelSpec(
        (8,),
        (
            LayerSpec("Dense", 4),
            LayerSpec("Activation", activation="sigmoid"),
            LayerSpec("Rescaling", scale=2.0, offset=-1.0),
            LayerSpec("Dense", 1, "linear"),
        ),
        "mse",
    ),
]


def _run(code: str):
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)  # the code under test is our own output
    return namespace["model"]


@pytest.mark.parametrize("spec", CASES)
def test_exported_code_builds_the_same_model(spec, capsys):
    exported = _run(keras_code(spec, seed=7))
    built = build_model(spec, seed=7)
    assert [layer.get_config() | {"name": ""} for layer in exported.layers] == [
        layer.get_config() | {"name": ""} for layer in built.layers
    ]
    for mine, theirs in zip(exported.get_weights(), built.get_weights()):
        np.testing.assert_array_equal(mine, theirs)  # same seed, same initial weights
    assert exported.loss == built.loss == spec.loss
    assert exported.optimizer.get_config() | {"name": ""} == built.optimizer.get_config() | {"name": ""}
    assert "Total params" in capsys.readouterr().out  # the code ends with model.summary()


def test_hinge_accuracy_thresholds_at_zero():
    model = build_model(CASES[1], seed=0)
    model.fit(np.zeros((4, 2), "float32"), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    [accuracy] = [m for m in model.metrics[-1].metrics if m.name == "accuracy"]
    assert accuracy.get_config()["threshold"] == 0.0


def test_rescaling_by_one_255th_reads_as_a_fraction():
    assert "layers.Rescaling(scale=1 / 255, offset=0.0)" in keras_code(CASES[2])


@pytest.mark.parametrize("spec", CASES)
def test_functional_api_builds_the_same_layers_and_weights(spec, capsys):
    functional = _run(keras_code(spec, seed=7, api="functional"))
    built = build_model(spec, seed=7)
    assert isinstance(functional, keras.Model) and not isinstance(functional, keras.Sequential)
    assert [layer.get_config() | {"name": ""} for layer in functional.layers[1:]] == [
        layer.get_config() | {"name": ""} for layer in built.layers
    ]  # layers[0] of a functional model is its Input
    for mine, theirs in zip(functional.get_weights(), built.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def _data(code: str) -> dict:
    namespace: dict = {"keras": keras}
    exec(compile(code, "<exported data>", "exec"), namespace)
    return namespace


def _same_data(exported: dict, dataset) -> None:
    for name in ("X_train", "X_test", "y_train", "y_test"):
        np.testing.assert_allclose(exported[name], getattr(dataset, name), rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("seed", [0, 5])
def test_exported_data_loading_gives_the_apps_rows(seed):
    _same_data(
        _data(data_code("moons", seed=seed, moons_samples=120, moons_noise=0.3)),
        load_two_moons(120, noise=0.3, random_state=seed),
    )
    _same_data(_data(data_code("iris", seed=seed)), load_iris_data(random_state=seed))
    exported = _data(data_code("sum5", seed=seed))
    _same_data(exported, load_dataset("sum5", random_state=seed))
    assert exported["X_train"].dtype == np.float32 and exported["y_train"].dtype == np.int64


def test_exported_housing_and_mnist_loading_give_the_apps_rows(monkeypatch):
    """The real loaders download; here they are handed the same offline arrays as the app's loaders."""
    rng = np.random.default_rng(0)
    bunch = Bunch(
        data=rng.normal(size=(200, 8)) * 10, target=rng.uniform(0, 5, 200), feature_names=list("abcdefgh")
    )
    monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", lambda **_: bunch)
    _same_data(_data(data_code("housing", seed=3)), load_housing(random_state=3, fetch=lambda: bunch))
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), rng.integers(0, 10, 50)
    split = ((images[0][:40], images[1][:40]), (images[0][40:], images[1][40:]))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: split)
    _same_data(_data(data_code("mnist")), load_mnist(fetch=lambda: split))


def test_an_uploaded_csv_has_no_data_export_and_says_why():
    with pytest.raises(ValueError, match="load your CSV yourself"):
        data_code("csv-1234")


# Runs an exported script in a fresh interpreter, then saves the arrays it trained on and reports its
# model's layers and parameter counts.
_RUNNER = """
import json, runpy, sys
import numpy as np
names = runpy.run_path(sys.argv[1])
np.savez(sys.argv[2], **{name: names[name] for name in ("X_train", "X_test", "y_train", "y_test")})
print(json.dumps([[type(layer).__name__, layer.count_params()] for layer in names["model"].layers]))
"""
# No download can succeed: every request goes to a closed local port, and nothing is cached yet.
_UNREACHABLE = "http://127.0.0.1:9"


def _offline(*_args, **_kwargs):
    raise OSError("[Errno -3] Temporary failure in name resolution")


def _apps_offline_data(dataset_key: str, seed: int):
    """The arrays the app trains on without a network (its loaders, their downloads failing)."""
    if dataset_key == "moons":
        return load_two_moons(300, noise=0.15, random_state=seed)
    if dataset_key == "iris":
        return load_iris_data(random_state=seed)
    if dataset_key == "housing":
        return load_housing(random_state=seed, fetch=_offline)
    return load_mnist(fetch=_offline)  # one fixed split whatever the seed (the app passes 0)


@pytest.mark.parametrize(
    ("dataset_key", "spec", "api"),
    [
        ("moons", starter_spec((2,), Target("binary", 2, "moon")), "sequential"),
        ("iris", starter_spec((4,), Target("multiclass", 3, "species")), "functional"),
        ("housing", starter_spec((10,), Target("regression", 0, "progression")), "sequential"),
        (
            "mnist",
            starter_spec((28, 28), Target("multiclass", 10, "digit"), convolutional=True),
            "sequential",
        ),
    ],
)
def test_the_exported_script_runs_offline_on_the_apps_very_arrays(tmp_path, dataset_key, spec, api):
    """Offline, the whole script falls back as the app does (same stand-in, same split, same note)
    and trains on exactly the arrays the app trains on."""
    seed = 3
    script = tmp_path / "exported.py"
    script.write_text(training_script(spec, dataset_key, FitSettings(1, 64, 0.2, seed=seed), api=api))
    proxies = {name: _UNREACHABLE for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    env = {key: value for key, value in os.environ.items() if key.lower() != "no_proxy"}
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(script), str(tmp_path / "arrays.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={
            **env,
            **proxies,
            "KERAS_HOME": str(tmp_path / "keras"),
            "SCIKIT_LEARN_DATA": str(tmp_path / "sklearn"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        },
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "val_loss" in done.stdout and "test loss" in done.stdout  # fit validated, evaluate ran
    app = _apps_offline_data(dataset_key, seed)
    if dataset_key in OFFLINE_NOTES:  # the same words as on the app's screen, whole
        assert app.fallback_reason == OFFLINE_NOTES[dataset_key]
        assert OFFLINE_NOTES[dataset_key] in done.stdout.splitlines()
    else:
        assert not any(note in done.stdout for note in OFFLINE_NOTES.values())
    exported = np.load(tmp_path / "arrays.npz")
    for name in ("X_train", "X_test", "y_train", "y_test"):
        np.testing.assert_array_equal(exported[name], getattr(app, name), err_msg=name)
        assert exported[name].dtype == getattr(app, name).dtype or name.startswith("y"), name
    layers = json.loads(done.stdout.strip().splitlines()[-1])
    if api == "functional":
        assert layers[0] == ["InputLayer", 0]
        layers = layers[1:]
    built = build_model(spec)
    assert layers == [[type(layer).__name__, layer.count_params()] for layer in built.layers]


@pytest.mark.parametrize("dataset_key", ["housing", "mnist"])
def test_the_scripts_note_is_printed_in_one_piece(dataset_key):
    """The note is cut into source lines at spaces only; printed, it is the app's note exactly."""
    code = data_code(dataset_key, seed=1)
    block = code[code.index("    print(\n") : code.index("    )\n") + 6]
    namespace: dict = {"print": lambda text: namespace.setdefault("printed", text)}
    exec(compile("if True:\n" + block, "<note>", "exec"), namespace)
    assert namespace["printed"] == OFFLINE_NOTES[dataset_key]
    assert all(len(line) <= 100 for line in block.splitlines())


def test_the_script_header_names_the_fallback_and_counts_epochs_in_words():
    spec = starter_spec((10,), Target("regression", 0, "y"))
    header = training_script(spec, "housing", FitSettings(1, 32, 0.2)).split('"""')[1]
    assert "1 epoch," in header and STAND_IN_TITLES["housing"] in header
    assert "stand-in" not in training_script(spec, "iris", FitSettings(2, 32, 0.2)).split('"""')[1]
