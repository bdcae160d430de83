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

from nnviz.model.spec import Limits, ModelSpec, SpecError, shown
from nnviz.views.words import plural

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

    The archive is checked before any array data is read: the number of members, their names,
    compression (stored or deflate only) and declared sizes, then each ``.npy`` header's shape and
    dtype against the model's weight, and only then that many bytes are read (never more). So a
    file can make the server allocate at most what the model's own weights need; nothing is
    unpickled. Values must be finite and within float32's range.

    Raises:
        ModelFileError: saying what does not match, before any weight is changed.
    """
    wanted = [
        (tuple(v.shape), np.dtype(v.dtype), name) for v, name in zip(model.weights, _weight_names(model))
    ]
    arrays = _read_weight_arrays(raw, wanted)
    model.set_weights([array.astype(dtype) for array, (_, dtype, _) in zip(arrays, wanted)])


# What one weights upload may make the server hold beyond the model's own weights: each member's
# .npy header (numpy writes ~128 bytes) and its zip entry.
MAX_NPY_HEADER = 4_096
_ZIP_ENTRY_OVERHEAD = 1_024
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FIX = "Export the weights from nnviz (Download the weights) and upload that .npz unchanged."


def _weight_names(model) -> list[str]:
    """``Weight array 2 (kernel of layer 2, Dense)`` for each of ``model.weights``, as messages name them."""
    owner = {
        id(variable): (position, type(layer).__name__)
        for position, layer in enumerate(model.layers, start=1)
        for variable in layer.weights
    }
    names = []
    for k, variable in enumerate(model.weights):
        position, kind = owner.get(id(variable), (None, None))
        where = f"{variable.name} of layer {position}, {kind}" if position else variable.name
        names.append(f"Weight array {k} ({where})")
    return names


def _read_weight_arrays(raw: bytes, wanted: list[tuple[tuple[int, ...], np.dtype, str]]) -> list[np.ndarray]:
    if len(raw) > MAX_WEIGHT_BYTES:
        raise ModelFileError(
            f"The weights file is {len(raw) / 1e6:.0f} MB; at most "
            f"{MAX_WEIGHT_BYTES / 1e6:.0f} MB is accepted."
        )
    if raw[:6] == b"\x93NUMPY":
        raise ModelFileError(
            "This is a single .npy array renamed .npz, not an .npz archive of the model's "
            f"{plural(len(wanted), 'weight array')}. {_FIX}"
        )
    member_limits = [math.prod(shape) * _MAX_ITEMSIZE + MAX_NPY_HEADER for shape, _, _ in wanted]
    if len(raw) > sum(member_limits) + _ZIP_ENTRY_OVERHEAD * (len(wanted) + 1):
        raise ModelFileError(
            f"The file is {len(raw):,} bytes, more than the weights of this model can take "
            f"({sum(member_limits):,} bytes at most): {_FIX}"
        )
    entries = _zip_entry_count(raw)
    if entries != len(wanted):
        raise ModelFileError(
            f"The file has {plural(entries, 'array')} but this model has "
            f"{plural(len(wanted), 'weight array')}: export the weights from the same architecture."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = _checked_members(archive, member_limits)
            return [
                _read_member(archive, info, shape, name) for info, (shape, _, name) in zip(members, wanted)
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as err:
        raise ModelFileError(f"The .npz archive is damaged or truncated ({err}). {_FIX}") from None


_MAX_ITEMSIZE = 8  # float64 / int64: the widest plain number accepted
_EOCD = b"PK\x05\x06"


def _zip_entry_count(raw: bytes) -> int:
    """The number of members the zip's end record declares, read before ``zipfile`` builds an
    object per member (a small file can declare millions)."""
    if raw[:4] not in (b"PK\x03\x04", _EOCD):
        raise ModelFileError(f"This is not an .npz file (a zip archive of .npy arrays). {_FIX}")
    end = raw.rfind(_EOCD, max(0, len(raw) - 22 - 65_535))
    if end < 0 or end + 22 > len(raw):
        raise ModelFileError(f"The .npz archive is truncated (its end record is missing). {_FIX}")
    return int.from_bytes(raw[end + 10 : end + 12], "little")


def _checked_members(archive: zipfile.ZipFile, member_limits: list[int]) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(infos) != len(member_limits):
        raise ModelFileError(
            f"The file has {plural(len(infos), 'array')} but this model has "
            f"{plural(len(member_limits), 'weight array')}: export the weights from the same architecture."
        )
    for info in infos:
        if info.is_dir() or not info.filename.endswith(".npy"):
            raise ModelFileError(f"The archive holds {info.filename!r}, which is not an .npy array. {_FIX}")
        if names.count(info.filename) > 1:
            raise ModelFileError(f"The archive holds {info.filename!r} more than once. {_FIX}")
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{info.filename!r} is encrypted. {_FIX}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}.get(
                info.compress_type, f"method {info.compress_type}"
            )
            raise ModelFileError(
                f"{info.filename!r} is compressed with {method}; only stored or deflate members "
                f"(as np.savez and np.savez_compressed write) are read. {_FIX}"
            )
    ordered = sorted(infos, key=lambda info: _array_order(info.filename[: -len(".npy")]))
    for info, limit in zip(ordered, member_limits):
        # Deflate cannot shrink data more than ~1032:1; a larger declared ratio is a forged size.
        stored_wrong = info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
        if info.file_size > limit or stored_wrong or info.file_size > 1_100 * info.compress_size + 64:
            raise ModelFileError(
                f"{info.filename!r} declares {info.file_size:,} bytes uncompressed from "
                f"{info.compress_size:,}; the model's weight in that place needs at most "
                f"{limit:,}. {_FIX}"
            )
    return ordered


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], name: str
) -> np.ndarray:
    """One ``.npy`` member: header checked against ``shape`` first, then exactly its data read."""
    with archive.open(info) as stream:
        magic = stream.read(8)
        if len(magic) < 8 or magic[:6] != b"\x93NUMPY" or magic[6:] not in (b"\x01\x00", b"\x02\x00"):
            raise ModelFileError(f"{info.filename!r} is not a plain .npy array (version 1 or 2). {_FIX}")
        length_bytes = stream.read(2 if magic[6] == 1 else 4)
        length = int.from_bytes(length_bytes, "little")
        if len(length_bytes) < 2 or length > MAX_NPY_HEADER:
            raise ModelFileError(
                f"{info.filename!r} has a header of {length:,} bytes; a weight array's is under "
                f"{MAX_NPY_HEADER:,}. {_FIX}"
            )
        header = io.BytesIO(length_bytes + stream.read(length))
        reader = np.lib.format.read_array_header_1_0 if magic[6] == 1 else np.lib.format.read_array_header_2_0
        try:
            found, fortran_order, dtype = reader(header, max_header_size=MAX_NPY_HEADER)
        except Exception as err:  # noqa: BLE001 - numpy's header parser raises several kinds
            raise ModelFileError(f"{info.filename!r} has an unreadable .npy header ({err}). {_FIX}") from None
        if (
            dtype.hasobject
            or dtype.fields is not None
            or dtype.subdtype is not None
            or dtype.kind not in "fiu"
            or dtype.itemsize > _MAX_ITEMSIZE
        ):
            raise ModelFileError(
                f"{name} is of type {dtype}, not plain numbers (float or int, at most 64 bits): "
                "the file is not a plain .npz of numeric arrays. " + _FIX
            )
        if tuple(found) != shape:
            raise ModelFileError(
                f"{name} has shape {tuple(found)} in the file but the model needs {shape}: "
                "export the weights from the same architecture."
            )
        data = _read_exactly(stream, math.prod(shape) * dtype.itemsize, f"{info.filename!r}", shape, dtype)
    array = data.view(dtype).reshape(shape, order="F" if fortran_order else "C")
    _check_float32_range(array, name)
    return array


def _read_exactly(stream, size: int, what: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``size`` bytes into one buffer, in chunks (never trusting the declared file size), and then
    a check that nothing follows."""
    data = np.empty(size, np.uint8)
    filled = 0
    while filled < size:
        chunk = stream.read(min(size - filled, 1 << 16))
        if not chunk:
            break
        data[filled : filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
        filled += len(chunk)
    if filled < size or stream.read(1):
        raise ModelFileError(
            f"{what} holds {'fewer' if filled < size else 'more'} bytes than its header's shape "
            f"{shape} of {dtype} needs ({size:,}). {_FIX}"
        )
    return data


def _check_float32_range(array: np.ndarray, name: str) -> None:
    values = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > _FLOAT32_MAX))
    if len(bad):
        where = np.unravel_index(bad[0], array.shape) if array.ndim else ()
        value = values.reshape(-1)[bad[0]]
        problem = (
            "which is not a number"
            if np.isnan(value)
            else "which is infinite"
            if np.isinf(value)
            else "which is beyond float32's range (±3.4e38), the precision the model computes in"
        )
        raise ModelFileError(
            f"{name} holds {value:g} at index {tuple(int(i) for i in where)}, {problem} "
            f"({plural(len(bad), 'such value')} in all): use weights whose values are finite and "
            "within ±3.4e38."
        )


def _array_order(name: str) -> tuple[int, str]:
    """``arr_2`` before ``arr_10``, as ``np.savez`` numbered them."""
    number = name.rpartition("_")[2]
    return (int(number), name) if number.isdigit() else (10**9, name)
