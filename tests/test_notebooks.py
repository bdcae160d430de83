"""The notebook export, run for real: offline, in a fresh Jupyter kernel (nbclient), its printed numbers
compared with the app's own (the engine's training, the Inspect page's layer trace)."""

from __future__ import annotations

import io
import json
import re
import zipfile

import nbclient
import nbformat
import numpy as np
import pytest

from nnviz.data.datasets import load_dataset
from nnviz.explain.trace import layer_trace
from nnviz.model.build import build_model
from nnviz.model.codegen import FitSettings
from nnviz.model.notebook import SHOWN_VALUES, course_notebook, notebook_bundle, row_sample, values_sample
from nnviz.model.sharelink import parse_layers
from nnviz.model.spec import ModelSpec
from nnviz.training.engine import Trainer

# No download can succeed in the kernel: every request goes to a closed local port, nothing is cached.
_UNREACHABLE = "http://127.0.0.1:9"


def _spec(input_shape, layers: str, loss: str, optimizer: str, learning_rate: float) -> ModelSpec:
    return ModelSpec(input_shape, parse_layers(layers), loss, optimizer, learning_rate)


def _digit() -> np.ndarray:
    """A drawn 'one': what the canvas gives, a 28×28 uint8 image."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 13:16] = 255
    return image


CASES = {
    # The course's examples 1 and 3, and a convolutional net with every other kind of layer.
    "iris": (
        _spec((4,), "Dense_5_relu~Dense_3_softmax", "sparse_categorical_crossentropy", "sgd", 0.01),
        FitSettings(20, 8, 0.0, seed=0),
        "sequential",
    ),
    "moons": (
        _spec((2,), "Dense_20_tanh~Dense_50_relu~Dense_1_sigmoid", "binary_crossentropy", "adam", 0.01),
        FitSettings(10, 1, 0.1, seed=2),
        "functional",
    ),
    "mnist": (
        _spec(
            (28, 28),
            "Rescaling_0.00392156862745098_0.0~Reshape_28x28x1~Conv2D_4_3_2_same_relu~MaxPooling2D_2"
            "~BatchNormalization~Flatten~Dropout_0.1~Dense_10_softmax",
            "sparse_categorical_crossentropy",
            "adam",
            0.01,
        ),
        FitSettings(1, 64, 0.1, seed=0),
        "sequential",
    ),
}


def _run(notebook_dir, name: str, monkeypatch) -> str:
    """Execute the notebook in a fresh kernel, offline; everything it printed, in order."""
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, _UNREACHABLE)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(notebook_dir / "keras"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(notebook_dir / "sklearn"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(notebook_dir / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(notebook_dir)}}
    )
    client.execute()
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def _printed_values(line: str) -> np.ndarray:
    """The numbers of one ``show()`` line: ``  Keras: [0.1, 2.5] … (128 values)``."""
    inside = line[line.index("[") + 1 : line.index("]")]
    return np.array([float(v) for v in inside.replace("\n", " ").split(",") if v.strip()])


def _same_as_the_trace(lines: list[str], trace, *, atol: float) -> None:
    """The ``Keras:`` and ``numpy:`` lines predict_and_log printed are the trace's values, layer by layer."""
    keras_lines = [line for line in lines if line.startswith("  Keras:")]
    numpy_lines = [line for line in lines if line.startswith("  numpy:")]
    assert len(keras_lines) == len(numpy_lines) == len(trace)
    for step, keras_line, numpy_line in zip(trace, keras_lines, numpy_lines):
        shown = min(step.keras_output.size, SHOWN_VALUES)
        for line, values in ((keras_line, step.keras_output), (numpy_line, step.numpy_output)):
            expected = np.asarray(values, np.float64).reshape(-1)[:shown]
            np.testing.assert_allclose(
                _printed_values(line), expected, rtol=1e-5, atol=atol, err_msg=f"{step.kind}: {line}"
            )
        assert ("values)" in keras_line) == (step.keras_output.size > SHOWN_VALUES)


@pytest.mark.parametrize("key", list(CASES))
def test_the_exported_notebook_prints_the_apps_numbers(key, tmp_path, monkeypatch):
    spec, fit, api = CASES[key]
    dataset = load_dataset(key, random_state=fit.seed) if key != "mnist" else load_dataset("mnist")
    model = build_model(spec, seed=fit.seed)
    history = Trainer(
        model,
        dataset.X_train,
        dataset.y_train,
        batch_size=fit.batch_size,
        validation_split=fit.validation_split,
        seed=fit.seed,
    ).run(fit.epochs)
    if key == "iris":  # the course's first flower, iris row 0, is test row 28
        sample, x = row_sample("test", 28), dataset.X_test[28]
    elif key == "moons":
        x = np.array([0.25, -0.125], np.float32)
        sample = values_sample(x, "the values you typed")
    else:
        x = _digit()
        sample = values_sample(x, "your drawing")
    notebook = course_notebook(
        spec,
        key,
        fit,
        sample=sample,
        class_names=dataset.class_names,
        api=api,
        weights_file=f"nnviz_{key}.npz",
        **({"moons_samples": 300, "moons_noise": 0.15} if key == "moons" else {}),
    )
    bundle = zipfile.ZipFile(io.BytesIO(notebook_bundle(notebook, f"nnviz_{key}", model.get_weights())))
    assert sorted(bundle.namelist()) == [f"nnviz_{key}.ipynb", f"nnviz_{key}.npz"]
    bundle.extractall(tmp_path)
    printed = _run(tmp_path, f"nnviz_{key}", monkeypatch)
    lines = printed.splitlines()

    # Its own training, before the app's weights are loaded: the app's curve, epoch for epoch.
    last = next(line for line in lines if line.startswith(f"epoch {fit.epochs}/{fit.epochs}:"))
    assert f"loss {history[-1]['loss']:.4f}" in last, (last, history[-1])
    assert f"accuracy {history[-1]['accuracy']:.4f}" in last, (last, history[-1])
    if fit.validation_split:
        assert f"val_loss {history[-1]['val_loss']:.4f}" in last, (last, history[-1])

    # Evaluation with the app's weights.
    loss, metric = model.evaluate(dataset.X_test, dataset.y_test, verbose=0)
    assert f"test loss {loss:.4f}, test accuracy {metric:.4f}" in printed

    # predict_and_log: every layer's Keras and numpy values are the Inspect page's.
    trace = layer_trace(model, x)
    assert len(trace) == len(spec.layers)
    _same_as_the_trace(lines, trace, atol=6e-7)  # printed with 6 decimals
    differences = [float(line.rsplit(" ", 1)[1]) for line in lines if "largest difference" in line]
    assert len(differences) == len(trace) and max(differences) < 1e-4
    output = trace[-1].keras_output
    if key == "moons":
        expected_class = dataset.class_names[int(output[0] > 0.5)]
    else:
        expected_class = dataset.class_names[int(output.argmax())]
    assert f"prediction: {expected_class}" in printed


def test_an_uploaded_csv_travels_in_the_npz_and_a_notebook_without_weights_trains_its_own():
    spec = _spec((3,), "Dense_4_relu~Dense_1_linear", "mse", "adam", 0.01)
    fit = FitSettings(2, 16, 0.2)
    with pytest.raises(ValueError, match="weights_file"):
        course_notebook(spec, "csv", fit, sample=row_sample("test", 0))
    notebook = course_notebook(spec, "iris", fit, sample=row_sample("test", 0), class_names=("a", "b", "c"))
    sources = "\n".join(cell.source for cell in notebook.cells)
    assert "np.load" not in sources and "set_weights" not in sources
    arrays = {"X_train": np.ones((5, 3), np.float32), "y_train": np.zeros(5, np.float32)}
    csv_notebook = course_notebook(spec, "csv", fit, sample=row_sample("train", 2), weights_file="w.npz")
    bundle = zipfile.ZipFile(io.BytesIO(notebook_bundle(csv_notebook, "nnviz_csv", [np.eye(2)], arrays)))
    stored = np.load(io.BytesIO(bundle.read("nnviz_csv.npz")))
    assert sorted(stored.files) == ["X_train", "weight_0", "y_train"]
    np.testing.assert_array_equal(stored["weight_0"], np.eye(2))
    assert "x = X_train[2]" in "\n".join(cell.source for cell in csv_notebook.cells)
    assert json.loads(bundle.read("nnviz_csv.ipynb"))["nbformat"] == 4


def test_a_class_name_from_a_file_is_a_string_literal_not_code():
    spec = _spec((2,), "Dense_2_softmax", "sparse_categorical_crossentropy", "adam", 0.01)
    hostile = ('"); import os; os.system("echo pwned"); ("', "b\\n\u2028")
    notebook = course_notebook(
        spec, "moons", FitSettings(1, 8, 0.0), sample=row_sample("test", 0), class_names=hostile
    )
    last = notebook.cells[-1].source
    names = re.search(r"class_names = (.*)\n", last).group(1)
    namespace: dict = {}
    exec(f"class_names = {names}", namespace)  # noqa: S102 - the point: it only defines a list
    assert namespace["class_names"] == list(hostile)


@pytest.mark.parametrize("seed", range(30))
def test_the_notebooks_numpy_is_the_inspect_pages_for_random_networks(seed, capsys):
    """The notebook's by_hand and predict_and_log, run here on random networks of every layer kind
    (convolutions with strides and both paddings, pooling, batch normalisation, rescaling...): each
    printed layer equals the Inspect page's trace of the same input."""
    from test_backprop import _random_network

    from nnviz.model.spec import check_spec

    rng = np.random.default_rng(seed)
    spec, target = _random_network(rng)
    while check_spec(spec, target):
        spec, target = _random_network(rng)
    model = build_model(spec, seed=seed)
    x = (rng.normal(size=spec.input_shape) * 3).astype(np.float32)
    notebook = course_notebook(spec, "moons", FitSettings(1, 8, 0.0), sample=values_sample(x, "random"))
    functions = [
        cell.source
        for cell in notebook.cells
        if "def by_hand" in cell.source or "def predict_and_log" in cell.source
    ]
    namespace = {"np": np, "keras": __import__("keras")}
    for source in functions:
        exec(source, namespace)  # noqa: S102 - the notebook's own code, as a kernel would run it
    capsys.readouterr()
    namespace["predict_and_log"](model, x)
    lines = capsys.readouterr().out.splitlines()
    _same_as_the_trace(lines, layer_trace(model, x), atol=1e-5)


def test_an_uploaded_csvs_notebook_runs_on_the_rows_in_its_npz(tmp_path, monkeypatch):
    """A CSV with hostile names: the notebook reads the prepared rows from its .npz, names the classes
    as the file does (as string literals), and prints the app's evaluation and trace."""
    from nnviz.data.csvdata import csv_dataset, read_csv

    rng = np.random.default_rng(3)
    hostile = "x');print('pwned');('\u2028y"  # a class named like code, with a line separator
    rows = ["a,b,label"]
    for _ in range(60):
        a, b = rng.normal(size=2)
        rows.append(f"{a:.4f},{b:.4f},{'ok' if a + b > 0 else hostile}")
    table = read_csv(("\n".join(rows) + "\n").encode())
    dataset, _ = csv_dataset(table, target="label", random_state=0)
    assert hostile in dataset.class_names
    spec = _spec((2,), "Dense_4_tanh~Dense_2_softmax", "sparse_categorical_crossentropy", "adam", 0.05)
    model = build_model(spec, seed=0)
    fit = FitSettings(3, 8, 0.25, seed=0)
    history = Trainer(model, dataset.X_train, dataset.y_train, batch_size=8, validation_split=0.25).run(3)
    arrays = {name: getattr(dataset, name) for name in ("X_train", "y_train", "X_test", "y_test")}
    notebook = course_notebook(
        spec,
        "csv",
        fit,
        sample=row_sample("test", 1),
        class_names=dataset.class_names,
        weights_file="nnviz_csv.npz",
    )
    zipfile.ZipFile(
        io.BytesIO(notebook_bundle(notebook, "nnviz_csv", model.get_weights(), arrays))
    ).extractall(tmp_path)
    printed = _run(tmp_path, "nnviz_csv", monkeypatch)
    assert "pwned" not in printed.replace("print('pwned')", "")  # the name was data, never run
    assert f"epoch 3/3: loss {history[-1]['loss']:.4f}" in printed
    loss, metric = model.evaluate(dataset.X_test, dataset.y_test, verbose=0)
    assert f"test loss {loss:.4f}, test accuracy {metric:.4f}" in printed
    trace = layer_trace(model, dataset.X_test[1])
    _same_as_the_trace(printed.splitlines(), trace, atol=6e-7)
    best = int(np.argmax(trace[-1].keras_output))
    assert f"prediction: {dataset.class_names[best]} with probability" in printed
