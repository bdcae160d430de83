"""How good is the model on rows it never trained on: the numbers behind the Evaluate page.

Classification: the confusion matrix, per-class precision, recall and F1, accuracy, and which
rows were wrong. Regression: residuals, R², RMSE and MAE. Pure numpy, written out so that each
formula reads as it is taught (the tests compare them with scikit-learn's).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ClassReport:
    """A classifier's results on labelled rows.

    Attributes:
        confusion: ``confusion[t, p]`` = rows of true class ``t`` predicted as ``p``, shape ``(k, k)``.
        precision, recall, f1, support: per class, shape ``(k,)``; precision is 0 for a class
            never predicted (no predictions, none right), as scikit-learn reports with ``zero_division=0``.
        wrong: indices of the misclassified rows, most confident mistakes first.
        predicted: the predicted class of every row.
        confidence: the probability the model gave its prediction, every row.
    """

    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    wrong: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.confusion.sum()) if self.confusion.sum() else 0.0


def classification_report(probabilities: np.ndarray, y_true: np.ndarray) -> ClassReport:
    """Everything the Evaluate page shows for a classifier.

    Args:
        probabilities: per-class probabilities, shape ``(n, k)`` (see :func:`nnviz.explain.predict.class_probabilities`).
        y_true: true class indices, shape ``(n,)``.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    k = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    confusion = np.bincount(y_true * k + predicted, minlength=k * k).reshape(k, k)
    right = np.diag(confusion).astype(np.float64)
    predicted_per_class = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(right, predicted_per_class, out=np.zeros(k), where=predicted_per_class > 0)
    recall = np.divide(right, support, out=np.zeros(k), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return ClassReport(confusion, precision, recall, f1, support, wrong, predicted, confidence)


@dataclass(frozen=True)
class RegressionReport:
    """A regressor's results: ``residuals = y_true - predicted`` and the usual summaries of them."""

    residuals: np.ndarray
    r2: float
    rmse: float
    mae: float


def regression_report(predicted: np.ndarray, y_true: np.ndarray) -> RegressionReport:
    """R² = 1 − Σ residual² / Σ (y − mean y)², RMSE = √mean residual², MAE = mean |residual|.

    Args:
        predicted: the model's predictions, shape ``(n,)`` or ``(n, 1)``.
        y_true: the true values, shape ``(n,)``.
    """
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    y_true = np.asarray(y_true, dtype=np.float64)
    residuals = y_true - predicted
    spread = float(((y_true - y_true.mean()) ** 2).sum())
    r2 = 1.0 - float((residuals**2).sum()) / spread if spread else 0.0
    return RegressionReport(
        residuals, r2, float(np.sqrt((residuals**2).mean())), float(np.abs(residuals).mean())
    )


def weights_digest(weights: list[np.ndarray]) -> str:
    """A digest of a model's weights (``model.get_weights()``): equal exactly when every weight,
    shape and dtype is, so a result computed from them can be kept until any of them changes."""
    digest = hashlib.blake2b(digest_size=16)
    for array in weights:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.data)
    return digest.hexdigest()
