"""The Evaluate page's numbers, checked against scikit-learn's metrics."""

import numpy as np
import pytest
from sklearn import metrics

from nnviz.evaluate import classification_report, regression_report


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
