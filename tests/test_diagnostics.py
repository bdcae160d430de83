"""What training does inside: gradient sizes, dead ReLU units and activation spread, checked independently."""

import numpy as np
import tensorflow as tf

from nnviz.data.datasets import load_two_moons
from nnviz.explain.diagnostics import health_over_epochs, layer_health, probe_rows
from nnviz.model.build import build_model
from nnviz.model.spec import LayerSpec, ModelSpec

SPEC = ModelSpec(
    (2,),
    (LayerSpec("Dense", 8, "relu"), LayerSpec("Dropout", rate=0.2), LayerSpec("Dense", 1, "sigmoid")),
    "binary_crossentropy",
)


def _moons():
    data = load_two_moons(300, noise=0.2, random_state=0)
    rows = probe_rows(len(data.X_train), seed=0)
    return data.X_train[rows].astype(np.float32), data.y_train[rows].astype(np.float32)


def test_gradient_norms_spreads_and_dead_units_are_what_a_tape_and_numpy_give():
    model = build_model(SPEC, seed=1)
    X, y = _moons()
    health = layer_health(model, X, y)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=X, y=y, y_pred=model(X, training=False), training=False)
    kernels = [model.layers[0].kernel, model.layers[2].kernel]
    expected = [
        float(np.sqrt((g.numpy().astype(np.float64) ** 2).sum())) for g in tape.gradient(loss, kernels)
    ]
    assert health[1].gradient_norm is None  # dropout has no kernel
    np.testing.assert_allclose([health[0].gradient_norm, health[2].gradient_norm], expected, rtol=1e-5)
    hidden = np.maximum(
        X.astype(np.float64) @ model.layers[0].kernel.numpy() + model.layers[0].bias.numpy(), 0
    )
    np.testing.assert_allclose(health[0].spread, hidden.std(), rtol=1e-5)
    assert health[0].dead_share == np.mean(np.all(hidden <= 0, axis=0))
    assert health[1].dead_share is None and health[2].dead_share is None  # not ReLU layers


def test_a_relu_layer_pushed_below_zero_is_reported_dead_and_gets_no_gradient():
    model = build_model(SPEC, seed=1)
    kernel, bias = model.layers[0].get_weights()
    bias[:5] = -100.0  # five of eight units can never be positive on these inputs
    model.layers[0].set_weights([kernel, bias])
    X, y = _moons()
    health = layer_health(model, X, y)
    assert health[0].dead_share == 5 / 8


def test_a_deep_sigmoid_network_shows_its_vanishing_gradients():
    """Eight sigmoid layers: the first layer's gradient is orders of magnitude below the last one's."""
    deep = ModelSpec(
        (2,),
        (*[LayerSpec("Dense", 16, "sigmoid")] * 8, LayerSpec("Dense", 1, "sigmoid")),
        "binary_crossentropy",
    )
    X, y = _moons()
    health = layer_health(build_model(deep, seed=0), X, y)
    first, last = health[0].gradient_norm, health[-1].gradient_norm
    assert first < last / 1000
    relu = ModelSpec(
        (2,), (*[LayerSpec("Dense", 16, "relu")] * 8, LayerSpec("Dense", 1, "sigmoid")), "binary_crossentropy"
    )
    health = layer_health(build_model(relu, seed=0), X, y)
    assert health[0].gradient_norm > health[-1].gradient_norm / 100  # ReLU keeps them within reach


def test_over_epochs_each_snapshot_is_measured_with_its_own_weights():
    model = build_model(SPEC, seed=2)
    X, y = _moons()
    snapshots = {0: model.get_weights()}
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    snapshots[3] = model.get_weights()
    report = health_over_epochs(build_model(SPEC), snapshots.__getitem__, [0, 3], X, y)
    fresh = build_model(SPEC)
    for epoch in (0, 3):
        fresh.set_weights(snapshots[epoch])
        assert report[epoch] == layer_health(fresh, X, y)
    assert report[0] != report[3]


def test_the_probe_rows_depend_on_the_seed_alone():
    assert np.array_equal(probe_rows(1000, seed=3), probe_rows(1000, seed=3))
    assert not np.array_equal(probe_rows(1000, seed=3), probe_rows(1000, seed=4))
    assert len(probe_rows(100, seed=0)) == 100 and len(probe_rows(10_000, seed=0)) == 256


def test_the_look_back_draws_the_three_pictures_each_with_what_healthy_looks_like():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.number_input(key="w.epochs").set_value(4).run()
    at.button(key="train.start").click().run()
    while at.session_state["workspaces"]["moons"].job.running:
        at.run()
    at.run()
    assert not at.exception and len(at.session_state["workspaces"]["moons"].history) == 4
    at.toggle(key="replay.health").set_value(True).run()
    assert not at.exception, at.exception
    keys = [chart.key for chart in at.get("plotly_chart")]
    assert {"replay.health.gradient_norm", "replay.health.dead_share", "replay.health.spread"} <= set(keys)
    advice = " ".join(str(c.value) for c in at.caption)
    assert "Vanishing" in advice and "dead ReLU unit" in advice and "collapses" in advice
