"""One step backwards: numpy gradients beside tf.GradientTape, and the optimizer's update beside Keras's."""

import numpy as np
import pytest
import tensorflow as tf

from nnviz.explain.backprop import Compared, backward_pass, optimizer_step, worked_gradient
from nnviz.model.build import build_model
from nnviz.model.spec import ACTIVATIONS, LAYER_KINDS, LOSS_LABELS, LayerSpec, ModelSpec, Target, check_spec

CLASSES, BINARY, REGRESSION = "sparse_categorical_crossentropy", "binary_crossentropy", "mse"

# Every layer kind and activation the builder offers, with every loss.
NETWORKS = {
    "dense relu softmax": ModelSpec(
        (4,), (LayerSpec("Dense", 5, "relu"), LayerSpec("Dense", 3, "softmax")), CLASSES
    ),
    "tanh, linear, Activation(softmax)": ModelSpec(
        (4,),
        (
            LayerSpec("Dense", 6, "tanh"),
            LayerSpec("Dense", 3, "linear"),
            LayerSpec("Activation", activation="softmax"),
        ),
        CLASSES,
        "sgd",
        0.1,
    ),
    "sigmoid, dropout, batch norm, sigmoid": ModelSpec(
        (2,),
        (
            LayerSpec("Dense", 8, "sigmoid"),
            LayerSpec("Dropout", rate=0.3),
            LayerSpec("BatchNormalization"),
            LayerSpec("Dense", 1, "sigmoid"),
        ),
        BINARY,
        "rmsprop",
        0.01,
    ),
    "hidden softmax, hinge": ModelSpec(
        (2,),
        (
            LayerSpec("Dense", 6, "softmax"),
            LayerSpec("Activation", activation="relu"),
            LayerSpec("Dense", 1, "tanh"),
        ),
        "hinge",
    ),
    "regression": ModelSpec(
        (4,), (LayerSpec("Dense", 6, "relu"), LayerSpec("Dense", 1, "linear")), REGRESSION
    ),
    "cnn": ModelSpec(
        (8, 8, 1),
        (
            LayerSpec("Rescaling", scale=1 / 255),
            LayerSpec("Conv2D", filters=3, kernel_size=3, activation="relu", padding="same"),
            LayerSpec("MaxPooling2D", pool_size=2),
            LayerSpec("Conv2D", filters=2, kernel_size=3, strides=2, activation="tanh"),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 4, "softmax"),
        ),
        CLASSES,
    ),
    "reshape, conv, batch norm": ModelSpec(
        (16,),
        (
            LayerSpec("Reshape", target_shape=(4, 4, 1)),
            LayerSpec("Conv2D", filters=2, kernel_size=2, activation="sigmoid"),
            LayerSpec("BatchNormalization"),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 1, "sigmoid"),
        ),
        BINARY,
    ),
}


def _batch(spec: ModelSpec, rows: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    if len(spec.input_shape) == 3:
        X = rng.integers(0, 256, (rows, *spec.input_shape)).astype(np.float32) * scale
    else:
        X = rng.normal(size=(rows, *spec.input_shape)).astype(np.float32) * scale
    if spec.loss == CLASSES:
        y = rng.integers(0, spec.layers[-1].units if spec.layers[-1].kind == "Dense" else 3, rows)
    elif spec.loss == REGRESSION:
        y = rng.normal(size=rows) * scale
    else:
        y = rng.integers(0, 2, rows)
    return X, y.astype(np.float32)


def _scaled(model, factor: float):
    model.set_weights([w * factor if w.ndim > 1 else w for w in model.get_weights()])
    return model


@pytest.mark.parametrize("rows", [1, 4])
@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["moderate", "large"])
@pytest.mark.parametrize("name", NETWORKS)
def test_every_layer_agrees_with_gradient_tape(name, scale, rows):
    spec = NETWORKS[name]
    model = _scaled(build_model(spec, seed=3), scale)
    X, y = _batch(spec, rows, seed=7, scale=scale)
    backward = backward_pass(model, X, y, spec.loss)
    disagreeing = [
        (step.kind, g.name, g.max_abs_diff)
        for step in backward.layers
        for g in step.gradients
        if not g.agrees
    ]
    assert disagreeing == [] and backward.output_gradient.agrees is not False
    assert [step.index for step in backward.layers] == list(reversed(range(len(spec.layers))))
    # every trainable weight's gradient was compared, and the layers' own add up to the tape's list
    compared = [g for step in reversed(backward.layers) for g in step.gradients if g.name != "∂L/∂x"]
    assert len(compared) == len(model.trainable_weights) == len(backward.tape_weight_gradients)
    for ours, tapes in zip(compared, backward.tape_weight_gradients, strict=True):
        np.testing.assert_allclose(
            ours.numpy, tapes, rtol=1e-4, atol=1e-4 * float(np.abs(tapes).max() + 1e-30)
        )


def test_softmax_cross_entropy_starts_from_p_minus_one_hot_over_the_batch_even_when_saturated():
    """Worked independently: for a single Dense softmax layer, ∂L/∂W = xᵀ(p − onehot)/B, also with
    logits so large that p is exactly 0 and 1 in float32 (where −log(clip(p)) would give 0)."""
    spec = ModelSpec((3,), (LayerSpec("Dense", 3, "softmax"),), CLASSES)
    model = build_model(spec, seed=0)
    W = np.array([[40.0, -40, 0], [0, 30, -30], [-20, 0, 20]], dtype=np.float32)
    model.layers[0].set_weights([W, np.zeros(3, np.float32)])
    X = np.array([[1.0, 0.5, -1.0], [0.2, -1.0, 2.0]], dtype=np.float32)
    y = np.array([2.0, 0.0], dtype=np.float32)
    z = X.astype(np.float64) @ W
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = X.T.astype(np.float64) @ ((p - np.eye(3)[[2, 0]]) / 2)
    backward = backward_pass(model, X, y, CLASSES)
    dense = backward.layers[0]
    np.testing.assert_allclose(dense.gradient("∂L/∂W").numpy, expected, rtol=1e-6)
    np.testing.assert_allclose(dense.gradient("∂L/∂W").tape, expected, rtol=1e-5, atol=1e-6)
    assert backward.output_gradient.name == "∂L/∂z" and np.abs(expected).max() > 0.5


def _like(right: Compared, wrong_value: np.ndarray) -> Compared:
    """The same comparison with a wrongly computed numpy value."""
    return Compared(right.name, wrong_value, right.tape, right.size, right.scale, right.rule)


def test_a_wrong_backward_formula_is_caught():
    """The verdict can fail: the same tape values against a forgotten ReLU mask, a forgotten 1/B,
    a transposed product and a 1 % slip."""
    spec = NETWORKS["dense relu softmax"]
    model = build_model(spec, seed=2)
    X, y = _batch(spec, 4, seed=1)
    backward = backward_pass(model, X, y, spec.loss)
    hidden = backward.layers[-1]  # the first Dense (relu), reached last
    right = hidden.gradient("∂L/∂W")
    x = hidden.inputs
    no_mask = x.T @ hidden.upstream  # δ not multiplied by relu′
    assert (hidden.upstream * (backward.layers[0].inputs <= 0)).any()  # the mask matters here
    output = backward.layers[0]
    batch_sum = output.gradient("∂L/∂W").numpy * len(X)  # forgot to divide by B
    wrongs = [
        _like(right, no_mask),
        _like(output.gradient("∂L/∂W"), batch_sum),
        _like(output.gradient("∂L/∂x"), output.gradient("∂L/∂x").numpy[:, ::-1]),  # units mixed up
        _like(right, right.numpy * 1.01),
    ]
    assert right.agrees and [w.agrees for w in wrongs] == [False, False, False, False]


def test_max_pooling_routes_ties_as_tensorflow_does():
    """ReLU zeros tie inside pooling windows all the time; the gradient goes where TensorFlow sends it."""
    spec = ModelSpec(
        (4, 4, 1),
        (
            LayerSpec("Conv2D", filters=2, kernel_size=1, activation="relu"),
            LayerSpec("MaxPooling2D", pool_size=2),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 2, "softmax"),
        ),
        CLASSES,
    )
    model = build_model(spec, seed=0)
    X = np.zeros((2, 4, 4, 1), np.float32)
    X[0, 0, 1] = X[0, 0, 0] = 3.0  # an exact tie of positive values
    X[1, 2:, 2:] = -1.0
    backward = backward_pass(model, X, np.array([0.0, 1.0], np.float32), CLASSES)
    assert backward.agrees


def test_worked_entry_is_the_product_of_input_and_delta():
    spec = NETWORKS["dense relu softmax"]
    model = build_model(spec, seed=4)
    X, y = _batch(spec, 1, seed=3)
    output = backward_pass(model, X, y, spec.loss).layers[0]
    text = worked_gradient(output, 2, 1)
    value = float(output.inputs[0, 2] * output.delta[0, 1])
    assert text.startswith("∂L/∂W[2, 1] = x[2] × δ[1] = ") and text.endswith(f"= {value:.4g}")
    np.testing.assert_allclose(output.gradient("∂L/∂W").numpy[2, 1], value)


def _trained(spec: ModelSpec, seed: int = 0):
    model = build_model(spec, seed=seed)
    X, y = _batch(spec, 32, seed=seed)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)  # the optimizer has state: m, v, t = 8
    return model


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
@pytest.mark.parametrize("trained", [False, True], ids=["fresh", "after 8 steps"])
def test_one_optimizer_step_matches_keras_and_leaves_the_model_alone(optimizer, trained):
    spec = ModelSpec(
        (4,), (LayerSpec("Dense", 5, "tanh"), LayerSpec("Dense", 3, "softmax")), CLASSES, optimizer, 0.05
    )
    model = _trained(spec) if trained else build_model(spec, seed=0)
    before = [v.numpy().copy() for v in [*model.weights, *model.optimizer.variables]]
    built = model.optimizer.built
    X, y = _batch(spec, 4, seed=9)
    backward = backward_pass(model, X, y, spec.loss)
    step = optimizer_step(model, build_model(spec, seed=99), X, y, backward.tape_weight_gradients)
    assert step.agrees, step.max_abs_diff()
    assert (
        step.step_number == (9 if trained else 1)
        and step.optimizer == {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}[optimizer]
    )
    assert step.loss_after < step.loss_before  # a small step against the gradient lowers this batch's loss
    if optimizer == "sgd":  # derived by hand: w − η g, η as the float32 Keras keeps
        for w, g, after in zip(step.before, step.gradients, step.numpy_after):
            np.testing.assert_allclose(after, w - float(np.float32(0.05)) * g, rtol=1e-12)
    after = [v.numpy() for v in [*model.weights, *model.optimizer.variables]]
    assert model.optimizer.built == built and len(after) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_adam_step_uses_the_models_moments_not_fresh_ones():
    """After training, Adam's m and v are far from 0: a numpy step from zero moments differs from Keras's."""
    spec = ModelSpec((4,), (LayerSpec("Dense", 3, "softmax"),), CLASSES, "adam", 0.05)
    model = _trained(spec, seed=1)
    X, y = _batch(spec, 4, seed=2)
    gradients = backward_pass(model, X, y, spec.loss).tape_weight_gradients
    step = optimizer_step(model, build_model(spec), X, y, gradients)
    alpha = 0.05 * np.sqrt(1 - 0.999**9) / (1 - 0.9**9)
    from_zero = [
        w - alpha * (0.1 * g) / (np.sqrt(0.001 * g**2) + 1e-7) for w, g in zip(step.before, gradients)
    ]
    assert step.agrees
    assert max(np.abs(a - b).max() for a, b in zip(from_zero, step.keras_after)) > 1e-4


def test_gradients_are_those_of_tf_gradient_tape_over_the_compiled_loss():
    """The reference itself, checked once by hand: a tape over model(x) and model.compute_loss."""
    spec = NETWORKS["regression"]
    model = build_model(spec, seed=5)
    X, y = _batch(spec, 3, seed=5)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=X, y=y, y_pred=model(X, training=False), training=False)
    expected = tape.gradient(loss, model.trainable_weights)
    backward = backward_pass(model, X, y, spec.loss)
    assert backward.loss == pytest.approx(float(loss), rel=1e-6)
    for ours, theirs in zip(backward.tape_weight_gradients, expected, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)


def test_the_networks_above_cover_every_layer_kind_activation_and_loss_the_builder_offers():
    layers = [layer for spec in NETWORKS.values() for layer in spec.layers]
    assert {layer.kind for layer in layers} == set(LAYER_KINDS)
    assert {layer.activation for layer in layers if layer.kind in ("Dense", "Conv2D", "Activation")} == set(
        ACTIVATIONS
    )
    assert {spec.loss for spec in NETWORKS.values()} == set(LOSS_LABELS)


def _random_network(rng: np.random.Generator) -> tuple[ModelSpec, Target]:
    """A random network the builder accepts: a tabular or an image stack of random kinds and
    activations, and a head for a random task."""
    acts = list(ACTIVATIONS)
    if rng.random() < 0.5:
        shape, body = (int(rng.integers(1, 6)),), []
        for _ in range(int(rng.integers(1, 5))):
            kind = rng.choice(["Dense", "Dense", "Activation", "Dropout", "BatchNormalization", "Rescaling"])
            if kind == "Dense":
                body.append(LayerSpec("Dense", int(rng.integers(1, 9)), str(rng.choice(acts))))
            elif kind == "Activation":
                body.append(LayerSpec("Activation", activation=str(rng.choice(acts))))
            elif kind == "Rescaling":
                body.append(
                    LayerSpec("Rescaling", scale=float(rng.uniform(-3, 3)), offset=float(rng.normal()))
                )
            else:
                body.append(LayerSpec(str(kind)))
    else:
        shape, body = (
            (int(rng.integers(6, 10)), int(rng.integers(6, 10)), 1),
            [LayerSpec("Rescaling", scale=1 / 255)],
        )
        for _ in range(int(rng.integers(1, 3))):
            body.append(
                LayerSpec(
                    "Conv2D",
                    filters=int(rng.integers(1, 4)),
                    kernel_size=int(rng.integers(1, 4)),
                    strides=int(rng.integers(1, 3)),
                    padding=str(rng.choice(["valid", "same"])),
                    activation=str(rng.choice(["relu", "tanh", "sigmoid", "linear"])),
                )
            )
            if rng.random() < 0.4:
                body.append(LayerSpec("BatchNormalization"))
        if rng.random() < 0.5:
            body.append(LayerSpec("MaxPooling2D", pool_size=2))
        body.append(LayerSpec("Flatten"))
    task = str(rng.choice(["multiclass", "binary", "regression"]))
    if task == "multiclass":
        target, loss, head = Target(task, 3), CLASSES, LayerSpec("Dense", 3, "softmax")
    elif task == "binary" and rng.random() < 0.5:
        target, loss, head = Target(task, 2), BINARY, LayerSpec("Dense", 1, "sigmoid")
    elif task == "binary":
        target, loss, head = (
            Target(task, 2),
            "hinge",
            LayerSpec("Dense", 1, str(rng.choice(["tanh", "linear"]))),
        )
    else:
        target, loss, head = Target(task), REGRESSION, LayerSpec("Dense", 1, "linear")
    optimizer = str(rng.choice(["sgd", "adam", "rmsprop"]))
    return ModelSpec(shape, (*body, head), loss, optimizer, 0.01), target


@pytest.mark.parametrize("seed", range(40))
def test_random_networks_of_every_kind_agree_with_the_tape_and_keras_optimizer(seed):
    rng = np.random.default_rng(seed)
    spec, target = _random_network(rng)
    while check_spec(spec, target):  # redraw until the builder would accept it
        spec, target = _random_network(rng)
    model = _scaled(build_model(spec, seed=seed), float(rng.choice([1.0, 8.0])))
    rows = int(rng.choice([1, 3]))
    X = rng.normal(size=(rows, *spec.input_shape)).astype(np.float32) * (
        100 if len(spec.input_shape) == 3 else 2
    )
    y = (rng.integers(0, target.n_classes, rows) if target.n_classes else rng.normal(size=rows)).astype(
        np.float32
    )
    backward = backward_pass(model, X, y, spec.loss)
    assert backward.agrees, [(s.kind, g.name, g.max_abs_diff) for s in backward.layers for g in s.gradients]
    step = optimizer_step(model, build_model(spec), X, y, backward.tape_weight_gradients)
    assert step.agrees, step.max_abs_diff()


def test_an_input_that_overflows_float32_is_reported_not_compared():
    spec = NETWORKS["regression"]
    model = build_model(spec, seed=0)
    X = np.full((1, 4), 3e38, np.float32)
    backward = backward_pass(model, X, np.array([1.0], np.float32), spec.loss)
    assert not backward.finite
    X, y = _batch(spec, 1, seed=0)
    assert backward_pass(model, X, y, spec.loss).finite
