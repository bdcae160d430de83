"""Models built for users train correctly and are freed with everything TensorFlow traced for them."""

import gc
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.func_graph import FuncGraph

from nnviz.model.build import OPTIMIZER_RULES, build_model
from nnviz.model.spec import LayerSpec, ModelSpec

SPEC = ModelSpec((3,), (LayerSpec("Dense", 4, "tanh"), LayerSpec("Dense", 1, "linear")), "mse", "sgd", 0.1)

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the traced steps are TensorFlow's"
)


def _traced_graphs() -> list[FuncGraph]:
    return [o for o in gc.get_objects() if isinstance(o, FuncGraph)]


def test_a_dropped_model_takes_its_traced_training_step_with_it():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=16).astype("float32")
    gc.collect()
    existing = {id(graph) for graph in _traced_graphs()}
    model = build_model(SPEC)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    traced = [weakref.ref(graph) for graph in _traced_graphs() if id(graph) not in existing]
    assert any(ref().name == "one_step_on_data" for ref in traced), "fit should have traced its step"
    del model
    gc.collect()
    assert [ref().name for ref in traced if ref() is not None] == []


def test_one_sgd_step_moves_every_weight_by_minus_learning_rate_times_its_gradient():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    model = build_model(SPEC, seed=3)
    before = [w.numpy().copy() for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(X) - y))
    gradients = [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]
    model.train_on_batch(X, y)
    for old, gradient, new in zip(before, gradients, model.trainable_weights, strict=True):
        np.testing.assert_allclose(new.numpy(), old - SPEC.learning_rate * gradient, rtol=1e-5, atol=1e-6)


def _by_rule(name: str, w: np.ndarray, gradients: list[np.ndarray], lr: float) -> np.ndarray:
    """Three steps of the update rule as OPTIMIZER_RULES writes it, with its constants."""
    m = v = np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        if name == "sgd":
            w = w - lr * g
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g**2
            w = w - lr * g / np.sqrt(v + 1e-7)
        else:
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
            w = w - lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-7)
    return w


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_the_update_rule_shown_for_each_optimizer_is_what_keras_does(name):
    assert name in OPTIMIZER_RULES
    rng = np.random.default_rng(0)
    start = rng.normal(size=5)
    gradients = [rng.normal(size=5) for _ in range(3)]
    optimizer = build_model(ModelSpec((3,), (LayerSpec("Dense", 1, "linear"),), "mse", name, 0.01)).optimizer
    variable = keras.Variable(start.astype("float32"))
    optimizer.build([variable])
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(g.astype("float32"))], [variable])
    np.testing.assert_allclose(variable.numpy(), _by_rule(name, start, gradients, 0.01), rtol=1e-5, atol=1e-6)
