"""The session's setup as a Jupyter notebook in the style of the course notebooks, and a download of it
with the weights the app trained.

The notebook loads the data as the app does (:func:`nnviz.model.codegen.data_code`, with the same offline
stand-ins), builds and compiles the model (Sequential or functional), prints ``model.summary()``, trains
it epoch by epoch on the app's own batch order (:func:`nnviz.training.engine.epoch_order`), evaluates it,
and follows one input through the layers with the course's ``predict_and_log``: each layer's Keras output
beside the same layer recomputed in numpy, as the Inspect page shows them. With the ``.npz`` of the
download beside it, the notebook loads the app's trained weights, so what it prints is what the app showed.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import nbformat
import numpy as np

from nnviz.data.catalog import DATASET_TITLES
from nnviz.model.codegen import FitSettings, data_code, model_code, sign_accuracy_code
from nnviz.model.spec import ModelSpec

# How many values of each layer's output the notebook prints (the whole output when it has no more).
SHOWN_VALUES = 12


@dataclass(frozen=True)
class NotebookSample:
    """The input the notebook follows through the network.

    Args:
        code: Python that defines ``x``, one sample without the batch axis, e.g. ``x = X_test[28]``.
        heading: what it is, in words, e.g. ``"test row 28"``.
    """

    code: str
    heading: str


def row_sample(part: str, position: int) -> NotebookSample:
    """Row ``position`` of the training (``part="train"``) or test (``"test"``) rows."""
    if part not in ("train", "test"):
        raise ValueError(f"part={part!r} is unknown; use 'train' or 'test'.")
    words = "training" if part == "train" else "test"
    return NotebookSample(f"x = X_{part}[{position}]\n", f"{words} row {position}")


def values_sample(x: np.ndarray, heading: str) -> NotebookSample:
    """An input given by its values (typed or drawn): written out in full, each float exactly."""
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        rows = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x[None]
        body = ",\n".join("    [" + ", ".join(f"{int(v):3d}" for v in row) + "]" for row in rows)
        literal = f"np.array([\n{body},\n], dtype={str(x.dtype)!r}).reshape({x.shape!r})"
    else:
        values = ", ".join(repr(float(v)) for v in np.asarray(x, dtype=np.float32).ravel())
        literal = f"np.array([{values}], dtype='float32').reshape({x.shape!r})"
    return NotebookSample(f"x = {literal}\n", heading)


def course_notebook(
    spec: ModelSpec,
    dataset_key: str,
    fit: FitSettings,
    *,
    sample: NotebookSample,
    class_names: Sequence[str] = (),
    api: str = "sequential",
    weights_file: str | None = None,
    **data_options,
) -> nbformat.NotebookNode:
    """A notebook that reproduces the app's setup.

    Args:
        spec: the network and its compile settings.
        dataset_key: a built-in dataset, or ``"csv"``: then the arrays are read from ``weights_file``.
        fit: epochs, batch size, validation split, seed.
        sample: the input that ``predict_and_log`` follows.
        class_names: one per class (empty for regression), for the prediction's last line.
        api: ``"sequential"`` or ``"functional"``.
        weights_file: the ``.npz`` shipped beside the notebook (see :func:`notebook_bundle`), or None.
        data_options: the dataset's options (``moons_samples``, ``moons_noise``).

    Raises:
        ValueError: an uploaded CSV without ``weights_file`` (its rows cannot be loaded otherwise).
    """
    if dataset_key == "csv":
        if weights_file is None:
            raise ValueError("An uploaded CSV travels only inside the download's .npz: give weights_file.")
        data = _csv_code(weights_file)
    else:
        # numpy is imported in the first cell already
        data = (
            data_code(dataset_key, seed=fit.seed, **data_options)
            .replace("import numpy as np\n", "")
            .lstrip("\n")
        )
    layers = " → ".join(layer.label() for layer in spec.layers)
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(_introduction(dataset_key, fit, layers, weights_file)),
        code(
            "import numpy as np\nimport keras\nfrom keras import layers\n\n"
            "np.set_printoptions(precision=6, suppress=True, linewidth=100)"
        ),
        md("## The data\nThe same rows as in the app, split the same way."),
        code(data + '\nprint("training rows", X_train.shape, "test rows", X_test.shape)'),
        md(f"## The model\n{layers}, compiled with the app's loss, optimizer and learning rate."),
        code(model_code(spec, seed=fit.seed, api=api).rstrip()),
        code("model.summary()"),
        md(_training_words(fit)),
        code(_training_code(fit)),
    ]
    if weights_file:
        cells += [
            md(
                "## The app's trained weights\nReplaces the weights just trained by the ones the app trained."
            ),
            code(
                f"trained = np.load({json.dumps(weights_file)})\n"
                'model.set_weights([trained[f"weight_{k}"] for k in range(len(model.weights))])'
            ),
        ]
    cells += [
        md("## Evaluate\nThe test rows, which training never saw."),
        code(
            (
                "test_loss, test_metric = model.evaluate(X_test, y_test, verbose=0)\n"
                f'print(f"test loss {{test_loss:.4f}}, test {_metric(spec)} {{test_metric:.4f}}")\n'
                + sign_accuracy_code(spec).replace("import numpy as np\n\n", "")
            ).rstrip()
        ),
        md(
            "## One input through the network\n"
            "`predict_and_log` feeds each layer the output Keras gave for the layer before (as the app's "
            "Inspect page does) and prints that layer's output from Keras beside the same layer "
            f"recomputed in numpy from its weights (at most {SHOWN_VALUES} values of each)."
        ),
        code(_by_hand_code(spec)),
        code(_PREDICT_AND_LOG),
        md(f"The input: {sample.heading}."),
        code(sample.code + "output = predict_and_log(model, x)\n" + _prediction_code(spec, class_names)),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def _introduction(dataset_key: str, fit: FitSettings, layers: str, weights_file: str | None) -> str:
    title = DATASET_TITLES[dataset_key]
    text = (
        f"# {title}: {layers}\n\n"
        "Exported from nnviz. This notebook loads the data as the app did, builds the same network with "
        f"the same starting weights (seed {fit.seed}), trains it with the app's settings, evaluates it and "
        "follows one input through the layers with numpy beside Keras, as the app's Inspect page does.\n\n"
        "Run all cells."
    )
    if weights_file:
        text += (
            f" Keep `{weights_file}` beside this notebook: it holds the weights the app trained, loaded "
            "after training, so that the numbers printed at the end are the ones the app showed."
        )
    return text


def _csv_code(weights_file: str) -> str:
    return (
        "# Your CSV file as the app prepared it (columns encoded, rows split): the arrays travel in the .npz\n"
        f"prepared = np.load({json.dumps(weights_file)})\n"
        'X_train, y_train, X_test, y_test = (prepared[name] for name in ("X_train", "y_train", "X_test", "y_test"))\n'
    )


def _training_words(fit: FitSettings) -> str:
    held_out = (
        f"The last {fit.validation_split:.0%} of the training rows are held out for the validation "
        "scores, as `fit(validation_split=…)` holds them out; "
        if fit.validation_split
        else ""
    )
    return (
        "## Training\n"
        f"{held_out}epoch *k* visits the other rows in the order `np.random.default_rng([{fit.seed}, k])` "
        "gives, in batches of the app's size, as the app trains. "
        f"`model.fit(X_train, y_train, epochs={fit.epochs}, batch_size={fit.batch_size}, "
        f"validation_split={fit.validation_split!r})` trains the same way with Keras's own shuffle."
    )


def _training_code(fit: FitSettings) -> str:
    every = max(fit.epochs // 10, 1)
    return (
        f"EPOCHS, BATCH_SIZE, VALIDATION_SPLIT, SEED = {fit.epochs}, {fit.batch_size}, {fit.validation_split!r}, {fit.seed}\n\n"
        "n_fit = int(np.floor(len(X_train) * (1 - VALIDATION_SPLIT)))\n"
        "X_fit, y_fit = X_train[:n_fit], y_train[:n_fit]\n"
        "validation = (X_train[n_fit:], y_train[n_fit:]) if n_fit < len(X_train) else None\n"
        "history = {}\n"
        "for epoch in range(EPOCHS):\n"
        "    order = np.random.default_rng([SEED, epoch]).permutation(n_fit)\n"
        "    logs = model.fit(\n"
        "        X_fit[order], y_fit[order], batch_size=BATCH_SIZE, initial_epoch=epoch, epochs=epoch + 1,\n"
        "        shuffle=False, validation_data=validation, verbose=0,\n"
        "    ).history\n"
        "    for name, values in logs.items():\n"
        "        history.setdefault(name, []).extend(values)\n"
        f"    if (epoch + 1) % {every} == 0 or epoch + 1 == EPOCHS:\n"
        '        shown = sorted(history, key=lambda name: (name.startswith("val_"), not name.endswith("loss")))\n'
        '        print(f"epoch {epoch + 1}/{EPOCHS}: " + ", ".join(f"{name} {history[name][-1]:.4f}" for name in shown))'
    )


def _metric(spec: ModelSpec) -> str:
    return "mae" if spec.loss == "mse" else "accuracy"


# The numpy of each layer kind, as a branch of by_hand(layer, x); only the kinds in the model are written.
_BY_HAND = {
    "Dense": (
        'if kind == "Dense":\n'
        "    W, b = layer.get_weights()\n"
        "    return activate(layer.activation.__name__, x @ W + b)\n"
    ),
    "Activation": 'if kind == "Activation":\n    return activate(layer.activation.__name__, x)\n',
    "Dropout": 'if kind == "Dropout":  # it only drops values while training\n    return x\n',
    "Flatten": 'if kind == "Flatten":\n    return x.reshape(-1)\n',
    "Reshape": 'if kind == "Reshape":\n    return x.reshape(layer.target_shape)\n',
    "Rescaling": 'if kind == "Rescaling":\n    return x * layer.scale + layer.offset\n',
    "BatchNormalization": (
        'if kind == "BatchNormalization":  # with the statistics it learnt, as when predicting\n'
        "    gamma, beta, mean, variance = layer.get_weights()\n"
        "    return (x - mean) / np.sqrt(variance + layer.epsilon) * gamma + beta\n"
    ),
    "Conv2D": (
        'if kind == "Conv2D":\n'
        "    kernel, bias = layer.get_weights()\n"
        "    (size, _), (stride, _) = layer.kernel_size, layer.strides\n"
        '    if layer.padding == "same":  # zeros around, so that the output has ceil(side / stride) cells\n'
        "        pads = [max((-(-side // stride) - 1) * stride + size - side, 0) for side in x.shape[:2]]\n"
        "        x = np.pad(x, [(p // 2, p - p // 2) for p in pads] + [(0, 0)])\n"
        "    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]\n"
        '    return activate(layer.activation.__name__, np.einsum("hwcij,ijcf->hwf", windows, kernel) + bias)\n'
    ),
    "MaxPooling2D": (
        'if kind == "MaxPooling2D":\n'
        "    size, _ = layer.pool_size\n"
        "    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(0, 1))[::size, ::size]\n"
        "    return windows.max(axis=(-2, -1))\n"
    ),
}
_ACTIVATE = '''def activate(name, z):
    """The activation function called name, in numpy."""
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return z  # linear


'''
_PREDICT_AND_LOG = f'''def show(values):
    """At most {SHOWN_VALUES} values of an array, and how many it has."""
    flat = np.asarray(values).reshape(-1)
    more = f" … ({{flat.size}} values)" if flat.size > {SHOWN_VALUES} else ""
    return np.array2string(flat[:{SHOWN_VALUES}], separator=", ", max_line_width=10**6) + more


def predict_and_log(model, x):
    """Follow one input through the model; print each layer's output from Keras and from numpy."""
    print("input", np.shape(x), show(x))
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):  # a functional model lists its input first
            continue
        keras_output = keras.ops.convert_to_numpy(layer(np.asarray(x, "float32")[None], training=False))[0]
        numpy_output = by_hand(layer, np.asarray(x, "float64"))
        print(f"\\n{{layer.name}} ({{type(layer).__name__}}), output shape {{keras_output.shape}}")
        print("  Keras:", show(keras_output))
        print("  numpy:", show(numpy_output))
        print(f"  largest difference: {{np.abs(keras_output - numpy_output).max():.1e}}")
        x = keras_output
    return x'''


def _by_hand_code(spec: ModelSpec) -> str:
    kinds = list(dict.fromkeys(layer.kind for layer in spec.layers))
    branches = "".join(_BY_HAND[kind] for kind in kinds)
    activates = any(kind in ("Dense", "Activation", "Conv2D") for kind in kinds)
    body = "".join(f"    {line}\n" if line else "\n" for line in branches.splitlines())
    return (
        (_ACTIVATE if activates else "")
        + "def by_hand(layer, x):\n"
        + '    """The layer\'s output for one input x (no batch axis), computed in numpy from its weights."""\n'
        + "    kind = type(layer).__name__\n"
        + body
        + '    raise ValueError(f"no numpy for {kind}")'
    )


def _prediction_code(spec: ModelSpec, class_names: Sequence[str]) -> str:
    if spec.loss == "mse":
        return 'print(f"\\nprediction: {float(output[0]):.3f}")'
    names = f"class_names = {json.dumps(list(class_names), ensure_ascii=False)}\n"  # a Python literal too
    if spec.loss == "sparse_categorical_crossentropy":
        return names + (
            "best = int(np.argmax(output))\n"
            'print(f"\\nprediction: {class_names[best]} with probability {output[best]:.3f}")'
        )
    if spec.loss == "hinge":
        return names + (
            'print(f"\\nprediction: {class_names[int(output[0] > 0)]} (score {float(output[0]):+.3f}: its sign is the class)")'
        )
    return names + (
        'print(f"\\nprediction: {class_names[int(output[0] > 0.5)]} '
        '(probability of {class_names[1]}: {float(output[0]):.3f})")'
    )


def notebook_bundle(
    notebook: nbformat.NotebookNode,
    stem: str,
    weights: Sequence[np.ndarray],
    arrays: dict[str, np.ndarray] | None = None,
) -> bytes:
    """A zip holding ``{stem}.ipynb`` and ``{stem}.npz``: the weights (``weight_0``, … in
    ``model.weights`` order) and, for an uploaded CSV, its prepared ``arrays`` (X_train, y_train, …)."""
    stored = {f"weight_{k}": np.asarray(w) for k, w in enumerate(weights)} | dict(arrays or {})
    npz = io.BytesIO()
    np.savez_compressed(npz, **stored)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.ipynb", nbformat.writes(notebook))
        archive.writestr(f"{stem}.npz", npz.getvalue())
    return bundle.getvalue()
