"""A digit drawn in the browser → a 28×28 image prepared the way MNIST's digits were.

MNIST's creators fitted each handwritten digit into a 20×20 box (keeping its proportions,
anti-aliased), then placed it in a 28×28 image so that its centre of mass sits at the centre.
A model trained on MNIST expects exactly that; a digit drawn in a corner, or filling the whole
canvas, would otherwise look nothing like what it learnt from.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MNIST_SIDE = 28
_DIGIT_BOX = 20  # MNIST's digits fill a 20×20 box inside the 28×28 image


def ink(rgba: np.ndarray) -> np.ndarray:
    """How much ink covers each pixel of a canvas drawn in dark strokes on a transparent background.

    Args:
        rgba: the canvas, shape ``(height, width, 4)``, uint8.

    Returns:
        Ink in 0–255, shape ``(height, width)``, float64: opacity times darkness.
    """
    rgba = np.asarray(rgba, dtype=np.float64)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"Expected an RGBA canvas of shape (height, width, 4), got shape {rgba.shape}.")
    darkness = 1.0 - rgba[:, :, :3].mean(axis=2) / 255.0
    return rgba[:, :, 3] * darkness


def to_mnist(ink_image: np.ndarray) -> np.ndarray | None:
    """Fit a drawing into MNIST's format: a 20×20 box, centred by mass in 28×28, uint8 0–255.

    Args:
        ink_image: ink per pixel, shape ``(height, width)``, 0 = paper, larger = more ink.

    Returns:
        The digit, shape ``(28, 28)``, uint8; None when nothing was drawn.
    """
    ink_image = np.asarray(ink_image, dtype=np.float64)
    rows, columns = np.nonzero(ink_image > 0.05 * ink_image.max()) if ink_image.max() > 0 else ((), ())
    if len(rows) == 0:
        return None
    digit = ink_image[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = _DIGIT_BOX / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))  # (width, height)
    small = np.asarray(
        Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    )
    small = np.clip(small, 0, None)
    if small.max() > 0:
        small = small / small.max() * 255.0
    image = np.zeros((MNIST_SIDE, MNIST_SIDE))
    top, left = (MNIST_SIDE - small.shape[0]) // 2, (MNIST_SIDE - small.shape[1]) // 2
    image[top : top + small.shape[0], left : left + small.shape[1]] = small
    return _centre_by_mass(image).round().clip(0, 255).astype(np.uint8)


def _centre_by_mass(image: np.ndarray) -> np.ndarray:
    """Shift ``image`` by whole pixels so that its centre of mass is at pixel (14, 14), as in MNIST."""
    total = image.sum()
    rows, columns = np.indices(image.shape)
    shift_rows = round(image.shape[0] / 2 - (rows * image).sum() / total)
    shift_columns = round(image.shape[1] / 2 - (columns * image).sum() / total)
    shifted = np.zeros_like(image)
    src_rows = slice(max(0, -shift_rows), image.shape[0] - max(0, shift_rows))
    dst_rows = slice(max(0, shift_rows), image.shape[0] - max(0, -shift_rows))
    src_columns = slice(max(0, -shift_columns), image.shape[1] - max(0, shift_columns))
    dst_columns = slice(max(0, shift_columns), image.shape[1] - max(0, -shift_columns))
    shifted[dst_rows, dst_columns] = image[src_rows, src_columns]
    return shifted
