"""ModelSpec -> the Keras code that builds and compiles exactly that model."""

from __future__ import annotations

import json

from nnviz.build import Call, layer_call, metric_call, optimizer_call
from nnviz.spec import ModelSpec


def keras_code(spec: ModelSpec, *, seed: int = 0) -> str:
    """Runnable Python (Keras 3, Sequential API) that builds and compiles ``spec``.

    Args:
        spec: the network; its layers, loss, optimizer and learning rate are all written out.
        seed: passed to ``keras.utils.set_random_seed`` so the initial weights match the app's.

    Returns:
        Source code that defines ``model``; it imports only ``keras``.
    """
    layer_lines = "".join(f"    {_render('layers', call)},\n" for call in map(layer_call, spec.layers))
    return (
        "import keras\n"
        "from keras import layers\n"
        "\n"
        f"keras.utils.set_random_seed({seed})\n"
        "\n"
        "model = keras.Sequential([\n"
        f"    keras.Input(shape={tuple(spec.input_shape)!r}),\n"
        f"{layer_lines}"
        "])\n"
        "model.compile(\n"
        f"    optimizer={_render('keras.optimizers', optimizer_call(spec))},\n"
        f"    loss={_literal(spec.loss)},\n"
        f"    metrics=[{_render('keras.metrics', metric_call(spec))}],\n"
        ")\n"
        "model.summary()\n"
    )


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
