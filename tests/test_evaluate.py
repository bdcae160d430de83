"""The Evaluate page's numbers, checked against scikit-learn's metrics; its predictions kept per set of
weights, computed in the training queue's turn and within the work limit."""

import re
import threading
import time

import numpy as np
import pytest
from sklearn import metrics

from nnviz.explain.evaluate import classification_report, regression_report


@pytest.mark.parametrize("k", [2, 3, 10])
def test_confusion_precision_recall_f1_match_scikit_learn(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 300)
    logits = rng.normal(size=(300, k)) + 2.0 * np.eye(k)[y]  # better than chance, not perfect
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    report = classification_report(probabilities, y)
    predicted = probabilities.argmax(axis=1)
    labels = list(range(k))
    np.testing.assert_array_equal(report.confusion, metrics.confusion_matrix(y, predicted, labels=labels))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    np.testing.assert_allclose(report.precision, precision)
    np.testing.assert_allclose(report.recall, recall)
    np.testing.assert_allclose(report.f1, f1)
    np.testing.assert_array_equal(report.support, support)
    assert report.accuracy == pytest.approx(metrics.accuracy_score(y, predicted))
    assert set(report.wrong) == set(np.flatnonzero(predicted != y))
    assert np.all(np.diff(report.confidence[report.wrong]) <= 0)  # the most confident mistakes first


def test_a_class_never_predicted_has_precision_zero_not_nan():
    probabilities = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.3, 0.7, 0.0]])
    report = classification_report(probabilities, np.array([0, 2, 1]))
    assert report.precision[2] == 0 and report.recall[2] == 0 and not np.isnan(report.f1).any()


def test_regression_summaries_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.normal(3, 2, 200)
    predicted = y + rng.normal(0, 0.5, 200)
    report = regression_report(predicted[:, None], y)
    assert report.r2 == pytest.approx(metrics.r2_score(y, predicted))
    assert report.rmse == pytest.approx(np.sqrt(metrics.mean_squared_error(y, predicted)))
    assert report.mae == pytest.approx(metrics.mean_absolute_error(y, predicted))
    np.testing.assert_allclose(report.residuals, y - predicted)


# weights_digest: what the kept predictions are keyed by.


def test_the_weights_digest_changes_with_any_value_shape_or_dtype():
    from nnviz.explain.evaluate import weights_digest

    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(4, 3)).astype("float32"), np.zeros(3, "float32")]
    assert weights_digest(weights) == weights_digest([w.copy() for w in weights])
    nudged = [weights[0].copy(), weights[1]]
    nudged[0][2, 1] = np.nextafter(nudged[0][2, 1], np.float32(np.inf))  # one value, one ulp
    reshaped = [weights[0].reshape(3, 4), weights[1]]  # the same bytes in another shape
    retyped = [weights[0], weights[1].astype("float64")]
    transposed = [np.asfortranarray(weights[0]), weights[1]]  # same values, other memory order
    digests = {weights_digest(w) for w in (weights, nudged, reshaped, retyped)}
    assert len(digests) == 4
    assert weights_digest(transposed) == weights_digest(weights)


# The Evaluate page: predictions within the work limit, in the queue's turn, kept per set of weights.

TIMEOUT = 120


def _open(dataset: str, page: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.dataset").set_value(dataset).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def predictions_counted(monkeypatch):
    """Counts the calls that compute network outputs (one per chunk of rows)."""
    from nnviz.explain import predict

    calls = []
    original = predict.network_outputs

    def counted(model, X, **kwargs):
        calls.append(len(X))
        return original(model, X, **kwargs)

    monkeypatch.setattr(predict, "network_outputs", counted)
    return calls


def test_evaluate_predicts_once_per_set_of_weights_across_reruns_and_pages(predictions_counted):
    def test_rows_predicted():  # the Train page's boundary also predicts, over its 150×150 grid
        return predictions_counted.count(30)

    at = _open("iris", "pages/evaluate.py")
    assert test_rows_predicted() == 1 and "Confusion matrix" in "".join(s.value for s in at.subheader)
    at.run()
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert test_rows_predicted() == 1  # reruns read the kept predictions
    at.switch_page("pages/inspect.py").run()
    at.radio(key="inspect.how").set_value("A misclassified one").run()
    assert not at.exception and test_rows_predicted() == 1  # Inspect reads the same ones
    at.switch_page("pages/train.py").run()
    at.button(key="train.step").click().run()  # one epoch: new weights
    ws = at.session_state["workspaces"]["iris"]
    ws.job.join(60)
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception and test_rows_predicted() == 2
    at.run()
    at.switch_page("pages/inspect.py").run()
    assert test_rows_predicted() == 2


def test_evaluate_waits_for_a_free_slot_in_the_training_queue(predictions_counted):
    from nnviz.training.engine import QueueTicket
    from nnviz.ui.training import training_queue

    at = _open("moons", "pages/build.py")
    queue = training_queue()
    holders = [QueueTicket(f"other-{k}") for k in range(queue.capacity)]
    for holder in holders:
        queue.join(holder)
        assert queue.admit(holder, timeout=1)
    freed = threading.Timer(1.5, lambda: [queue.leave(holder) for holder in holders])
    freed.start()
    started = time.monotonic()
    at.switch_page("pages/evaluate.py").run()
    waited = time.monotonic() - started
    freed.join()
    assert not at.exception and predictions_counted == [60] and waited >= 1.4
    assert queue.training == 0


def test_a_network_over_the_work_limit_is_refused_on_every_page_before_it_is_built():
    """Within the 2 M-parameter limit (about 630,000), but 98 MFLOP per image (limit 20 MFLOP)."""
    from nnviz.model.spec import LayerSpec
    from nnviz.ui.state import LayerRow

    at = _open("mnist", "pages/build.py")
    ws = at.session_state["workspaces"]["mnist"]
    ws.rows = [
        LayerRow(layer)
        for layer in (
            LayerSpec("Reshape", target_shape=(28, 28, 1)),
            LayerSpec("Conv2D", filters=1024, kernel_size=11, padding="same"),
            LayerSpec("MaxPooling2D", pool_size=4),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 10, "softmax"),
        )
    ]
    for page in ("pages/build.py", "pages/train.py", "pages/evaluate.py", "pages/inspect.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        errors = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))  # as shown: unescaped
        assert "This network needs 98.4 MFLOP (multiply-adds) per image" in errors, page
        assert "the limit on this server is 20 MFLOP" in errors and "fewer filters" in errors
        assert ws.model is None  # nothing was built, nothing predicted
    assert not at.metric and not at.get("plotly_chart")


def test_a_training_run_over_the_work_limit_says_how_many_epochs_fit(monkeypatch):
    from nnviz.model.spec import LayerSpec
    from nnviz.ui.state import LayerRow

    at = _open("moons", "pages/build.py")
    ws = at.session_state["workspaces"]["moons"]
    ws.rows = [LayerRow(LayerSpec("Dense", 5)), LayerRow(LayerSpec("Dense", 1, "sigmoid"))]  # 2·5 + 5·1
    at.switch_page("pages/train.py").run()
    n_train = ws.job.trainer.n_train
    monkeypatch.setenv("NNVIZ_MAX_RUN_FLOPS", str(3 * 15 * n_train * 4))  # room for exactly 4 epochs
    at.number_input(key="w.epochs").set_value(5).run()
    warnings = " ".join(w.value for w in at.warning)
    assert f"5 epochs × {n_train:,} rows × 15 FLOP per row × 3" in warnings
    assert "train at most 4 epochs at a time" in warnings
    assert at.button(key="train.start").disabled
    at.number_input(key="w.epochs").set_value(4).run()
    assert not at.button(key="train.start").disabled
