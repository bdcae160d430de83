"""ModelSpec -> compiled ``keras.Sequential``.

Each layer, optimizer and metric is described once here as ``(class name, keyword arguments)``;
:func:`build_model` instantiates those descriptions and :mod:`nnviz.model.codegen` prints the very same
ones as Python, so the exported code always builds the model the app trains.
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nnviz.model.spec import LAYER_KINDS, LayerSpec, ModelSpec, metric_name

if TYPE_CHECKING:
    import keras

Call = tuple[str, dict]


def layer_call(layer: LayerSpec) -> Call:
    """The ``keras.layers`` class and keyword arguments for one layer."""
    if layer.kind == "Dense":
        return "Dense", {"units": layer.units, "activation": layer.activation}
    if layer.kind == "Activation":
        return "Activation", {"activation": layer.activation}
    if layer.kind == "Dropout":
        return "Dropout", {"rate": layer.rate}
    if layer.kind == "Rescaling":
        return "Rescaling", {"scale": layer.scale, "offset": layer.offset}
    if layer.kind in ("Flatten", "BatchNormalization"):
        return layer.kind, {}
    if layer.kind == "Conv2D":
        options = ("filters", "kernel_size", "strides", "padding", "activation")
        return "Conv2D", {name: getattr(layer, name) for name in options}
    if layer.kind == "MaxPooling2D":
        return "MaxPooling2D", {"pool_size": layer.pool_size}
    if layer.kind == "Reshape":
        return "Reshape", {"target_shape": tuple(layer.target_shape)}
    raise ValueError(f"Layer kind {layer.kind!r} cannot be built; use one of {', '.join(LAYER_KINDS)}.")


def optimizer_call(spec: ModelSpec) -> Call:
    """The ``keras.optimizers`` class and its learning rate."""
    name = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}[spec.optimizer]
    return name, {"learning_rate": spec.learning_rate}


# How each optimizer turns a gradient g into a step, with Keras's default constants written in, for
# the Build page. (η is the learning rate; the tests check the constants against Keras's defaults.)
OPTIMIZER_RULES = {
    "sgd": (
        r"w \leftarrow w - \eta\, g",
        "Plain gradient descent: every weight moves against its gradient, in proportion to it.",
    ),
    "adam": (
        r"m \leftarrow 0.9\,m + 0.1\,g,\quad v \leftarrow 0.999\,v + 0.001\,g^2,\quad "
        r"w \leftarrow w - \eta\,\frac{\sqrt{1 - 0.999^t}}{1 - 0.9^t}\cdot\frac{m}{\sqrt{v} + 10^{-7}}",
        "Adam keeps running averages of the gradient (m) and of its square (v), corrects them for "
        "starting at zero (t = steps so far), and moves each weight by about η in the direction of m: "
        "every weight gets its own step size.",
    ),
    "rmsprop": (
        r"v \leftarrow 0.9\,v + 0.1\,g^2,\quad w \leftarrow w - \eta\,\frac{g}{\sqrt{v + 10^{-7}}}",
        "RMSprop divides each gradient by a running average of its recent size, so weights with "
        "large gradients take smaller steps.",
    ),
}


def metric_call(spec: ModelSpec) -> Call:
    """The metric reported beside the loss, always named ``accuracy`` or ``mae`` in the history."""
    if metric_name(spec.loss) == "mae":
        return "MeanAbsoluteError", {"name": "mae"}
    if spec.loss == "sparse_categorical_crossentropy":
        return "SparseCategoricalAccuracy", {"name": "accuracy"}
    # Hinge scores are in [-1, 1]: the class boundary is 0, not 0.5.
    threshold = 0.0 if spec.loss == "hinge" else 0.5
    return "BinaryAccuracy", {"name": "accuracy", "threshold": threshold}


def build_model(spec: ModelSpec, *, seed: int = 0) -> keras.Sequential:
    """Build and compile the network described by ``spec``, with weights initialised from ``seed``.

    The spec should have passed :func:`nnviz.model.spec.check_spec`; this function does not re-check it.
    """
    import keras  # lazily: the TensorFlow import costs seconds

    _release_traced_steps_with_their_model()
    with seeded_initial_weights(seed):
        layers = [_instantiate(keras.layers, *layer_call(layer)) for layer in spec.layers]
        model = keras.Sequential([keras.Input(shape=spec.input_shape), *layers])
    model.compile(
        optimizer=_instantiate(keras.optimizers, *optimizer_call(spec)),
        loss=spec.loss,
        metrics=[_instantiate(keras.metrics, *metric_call(spec))],
    )
    return model


_THIS_THREAD = threading.local()


@contextlib.contextmanager
def seeded_initial_weights(seed: int) -> Iterator[None]:
    """Within this block, layers made in this thread draw their seeds as after
    ``keras.utils.set_random_seed(seed)``, whatever other threads do at the same moment.

    Keras gives each initializer and dropout layer a seed drawn from Python's process-wide
    ``random`` generator, which ``set_random_seed`` reseeds. On a server where several sessions
    build models at once, those draws interleave and a session would get weights its seed does not
    give. Here each thread draws from its own ``random.Random(seed)``: the same sequence
    ``random.seed(seed)`` starts, so the exported code, which calls ``set_random_seed``, builds the
    same weights.
    """
    _draw_keras_seeds_per_thread()
    _THIS_THREAD.seeds = random.Random(seed)
    try:
        yield
    finally:
        _THIS_THREAD.seeds = None


class _SeedsOfThisThread:
    """Stands in for the ``random`` module inside ``keras.src.random.seed_generator``."""

    def __getattr__(self, name: str):
        return getattr(getattr(_THIS_THREAD, "seeds", None) or random, name)


@functools.cache
def _draw_keras_seeds_per_thread() -> None:
    from keras.src.random import seed_generator

    seed_generator.python_random = _SeedsOfThisThread()


def _instantiate(module, name: str, kwargs: dict):
    return getattr(module, name)(**kwargs)


@functools.cache
def _release_traced_steps_with_their_model() -> None:
    """Let TensorFlow free a model's compiled training step when the model goes (~5 MB each).

    Keras's TensorFlow optimizers sum the gradients across replicas with
    ``ReplicaContext.all_reduce``, which wraps the sum in ``tf.custom_gradient``. Traced into a
    graph, every such wrapper is added to TensorFlow's process-wide gradient registry and never
    removed, and it holds the whole traced training step. A server that builds a model per user
    grew ~5.7 MB per model trained that way (measured with 60 models; ``clear_session`` does not
    help). Without a ``tf.distribute`` strategy there is one replica and its sum is the gradients
    themselves, so nnviz skips the call; with a strategy, Keras's own code runs unchanged.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    keras_all_reduce = TFOptimizer._all_reduce_sum_gradients

    def all_reduce_sum_gradients(self, grads_and_vars):
        if tf.distribute.has_strategy():
            return keras_all_reduce(self, grads_and_vars)
        return list(grads_and_vars)

    TFOptimizer._all_reduce_sum_gradients = all_reduce_sum_gradients
