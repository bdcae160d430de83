"""Inspect's "One step backwards" section, through the app: every verdict agrees, nothing changes the
model until "Apply this step", and then it changes by exactly Keras's step."""

import numpy as np
import tensorflow as tf
from streamlit.testing.v1 import AppTest

from nnviz.data.datasets import load_two_moons

TIMEOUT = 120


def _inspect() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, at.exception
    return at


def _texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def test_the_backward_section_shows_every_layer_beside_gradient_tape_and_the_update():
    at = _inspect()
    headings = _texts(at.subheader)
    assert "One step backwards: from the loss to every weight" in headings
    assert "Then the update: Adam, step 1" in headings
    backwards = [m.replace("\\", "") for m in _texts(at.markdown) if m.endswith("· backwards")]  # as shown
    assert backwards == [
        "### Layer 3 · Dense(1, sigmoid) · backwards",
        "### Layer 2 · Dense(8, relu) · backwards",
        "### Layer 1 · Dense(8, relu) · backwards",
    ]
    verdicts = [s for s in _texts(at.success) if "GradientTape" in s or "after the step" in s]
    assert len(verdicts) == 4 and not at.error  # three layers and the update, all agreeing
    assert any("Adam's first step moves each weight by about η" in c for c in _texts(at.caption))


def test_viewing_leaves_the_model_alone_and_applying_takes_exactly_kerass_step():
    at = _inspect()
    ws = at.session_state["workspaces"]["moons"]
    before = [w.copy() for w in ws.model.get_weights()]
    at.radio(key="inspect.backward.over").set_value(at.radio(key="inspect.backward.over").options[1]).run()
    assert not at.exception and "these 16 rows" in " ".join(_texts(at.markdown))
    assert all(np.array_equal(a, b) for a, b in zip(before, ws.model.get_weights()))
    assert not ws.model.optimizer.built  # not even the optimizer's slots were made

    # The step a GradientTape and Adam give for the same 16 rows, worked out here independently.
    session = at.session_state
    data = load_two_moons(
        session["moons_samples"], noise=session["moons_noise"], random_state=session["seed"]
    )
    n_train = int(len(data.X_train) * 0.8)  # fit's validation_split=0.2 holds out the last fifth
    rows = np.random.default_rng([session["seed"], 0]).permutation(n_train)[:16]  # epoch 0's order
    X, y = data.X_train[rows].astype(np.float32), data.y_train[rows].astype(np.float32)
    with tf.GradientTape() as tape:
        loss = ws.model.compute_loss(x=X, y=y, y_pred=ws.model(X, training=False), training=False)
    gradients = tape.gradient(loss, ws.model.trainable_weights)
    expected = []
    for w, g in zip(before, gradients):  # Adam's first step: m = 0.1 g, v = 0.001 g², t = 1
        g = g.numpy().astype(np.float64)
        m, v = 0.1 * g, 0.001 * g**2
        alpha = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
        expected.append(w - alpha * m / (np.sqrt(v) + 1e-7))

    at.button(key="inspect.backward.apply").click().run()
    assert not at.exception, at.exception
    after = ws.model.get_weights()
    for a, e in zip(after, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
    assert ws.hand_steps == 1 and int(ws.model.optimizer.iterations) == 1
    assert "Then the update: Adam, step 2" in _texts(at.subheader)
    assert any("1 step applied by hand so far" in c for c in _texts(at.caption))
