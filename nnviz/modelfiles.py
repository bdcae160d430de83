"""Model files a user can download and bring back, safely.

Out: the trained model as a ``.keras`` file, its weights as ``.npz``, and the architecture plus
settings as a JSON spec. In: only the JSON spec (validated against the same bounds as the widgets)
and ``.npz`` weights, read with ``allow_pickle=False`` and checked shape by shape. A user's
``.keras`` or ``.h5`` file is never loaded: Keras model loading has had a long series of
code-execution vulnerabilities, and nothing a user sends is ever unpickled.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from nnviz.spec import Limits, ModelSpec, SpecError, shown

SPEC_FORMAT = "nnviz-spec/1"
MAX_SPEC_BYTES = 100_000
MAX_WEIGHT_BYTES = 50_000_000
MAX_INPUT_VALUES = 100_000  # one sample's size: 28×28 images are 784


class ModelFileError(ValueError):
    """A file that cannot be imported, with the reason and the fix in one sentence."""


def spec_json(spec: ModelSpec, *, settings: dict[str, object]) -> str:
    """The architecture, compile settings and training settings (dataset, epochs, seed…) as JSON."""
    return json.dumps({"format": SPEC_FORMAT, "model": spec.to_dict(), "settings": settings}, indent=2)


def read_spec_json(raw: bytes, *, limits: Limits | None = None) -> tuple[ModelSpec, dict[str, object]]:
    """Parse and validate an uploaded JSON spec.

    Raises:
        ModelFileError: for anything that is not a spec within this server's bounds.
    """
    limits = limits or Limits.from_env()
    if len(raw) > MAX_SPEC_BYTES:
        raise ModelFileError(
            f"The spec file is {len(raw):,} bytes; a spec is at most {MAX_SPEC_BYTES:,}. "
            "Upload the JSON that nnviz exported."
        )
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError as err:
        raise ModelFileError(
            f"The spec is not UTF-8 text (byte {err.start:,} cannot be read). Upload the JSON that nnviz exported."
        ) from None
    except json.JSONDecodeError as err:
        raise ModelFileError(
            f"The spec is not valid JSON ({err}). Upload the JSON that nnviz exported."
        ) from None
    except RecursionError:
        raise ModelFileError(
            "The spec is nested too deeply to be read (an nnviz spec is three levels deep). "
            "Upload the JSON that nnviz exported."
        ) from None
    except ValueError as err:  # NaN or Infinity, or a whole number of over 4,300 digits
        why = (
            str(err)
            if str(err).startswith("it contains")
            else "it contains a number of more than 4,300 digits"
        )
        raise ModelFileError(
            f"The spec cannot be read: {why}. Upload the JSON that nnviz exported."
        ) from None
    if not isinstance(document, dict) or document.get("format") != SPEC_FORMAT:
        raise ModelFileError(
            f'This is not an nnviz spec (expected "format": "{SPEC_FORMAT}"). '
            "Upload the JSON that nnviz exported."
        )
    try:
        spec = ModelSpec.from_dict(document.get("model"), limits=limits)
    except SpecError as err:
        raise ModelFileError("The spec cannot be used: " + " ".join(err.problems)) from None
    size = math.prod(spec.input_shape)
    if size > MAX_INPUT_VALUES:
        raise ModelFileError(
            f"The input shape {shown(spec.input_shape)} has {f'{size:,}' if size < 10**30 else 'over 10³⁰'} values; "
            f"this server accepts at most {MAX_INPUT_VALUES:,} per sample."
        )
    settings = document.get("settings", {})
    if not isinstance(settings, dict) or not all(
        isinstance(v, (str, int, float, bool)) and not isinstance(v, list) for v in settings.values()
    ):
        raise ModelFileError("The spec's settings must be an object of plain values (numbers and text).")
    return spec, settings


def _refuse_constant(name: str) -> float:
    raise ValueError(f"it contains {name}, which is not a number JSON allows; write a number instead")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(
            f"it contains the number {shown(text)}, too large for any float; write a smaller one"
        )
    return value


def model_bytes(model) -> bytes:
    """The model as a ``.keras`` file (architecture, weights, optimizer state)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def weights_npz(model) -> bytes:
    """The model's weights, in order, as a plain ``.npz`` of numeric arrays."""
    buffer = io.BytesIO()
    np.savez(buffer, *model.get_weights())
    return buffer.getvalue()


def load_weights_npz(model, raw: bytes) -> None:
    """Set ``model``'s weights from an uploaded ``.npz``, after checking every array.

    Only plain numeric arrays are read (``allow_pickle=False``); their number, order and shapes
    must match the model's weights exactly.

    Raises:
        ModelFileError: saying what does not match, before any weight is changed.
    """
    if len(raw) > MAX_WEIGHT_BYTES:
        raise ModelFileError(
            f"The weights file is {len(raw) / 1e6:.0f} MB; at most "
            f"{MAX_WEIGHT_BYTES / 1e6:.0f} MB is accepted."
        )
    expected = model.get_weights()
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            arrays = [archive[name] for name in sorted(archive.files, key=_array_order)]
    except ValueError as err:
        # numpy refuses pickled data without allow_pickle: exactly the files that could run code.
        raise ModelFileError(
            f"The file is not a plain .npz of numeric arrays ({err}). Export the weights "
            "from nnviz and upload that .npz."
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise ModelFileError(
            f"This is not an .npz weights file ({err}). Upload the .npz nnviz exported."
        ) from None
    if len(arrays) != len(expected):
        raise ModelFileError(
            f"The file has {len(arrays)} arrays but this model has {len(expected)} weight "
            "arrays: export the weights from the same architecture."
        )
    for k, (array, wanted) in enumerate(zip(arrays, expected)):
        if array.shape != wanted.shape:
            raise ModelFileError(
                f"Weight array {k} has shape {array.shape} but the model needs {wanted.shape}: "
                "export the weights from the same architecture."
            )
        if not np.issubdtype(array.dtype, np.number):
            raise ModelFileError(f"Weight array {k} is of type {array.dtype}, not numbers.")
        if not np.all(np.isfinite(array)):
            raise ModelFileError(f"Weight array {k} contains NaN or infinite values.")
    model.set_weights([array.astype(wanted.dtype) for array in arrays])


def _array_order(name: str) -> tuple[int, str]:
    """``arr_2`` before ``arr_10``, as ``np.savez`` numbered them."""
    number = name.rpartition("_")[2]
    return (int(number), name) if number.isdigit() else (10**9, name)
