"""Hostile weight files: bombs and forged archives are refused before the server allocates for them.

Every file here is refused by :func:`nnviz.model.modelfiles.load_weights_npz` with a message, and the
bombs are refused while Python allocates at most a few MB (tracemalloc) although numpy's own
``np.load`` would have decompressed hundreds of MB or more. ``python tests/test_hostile_files.py``
measures the peak resident memory of each bomb in a fresh process.
"""

from __future__ import annotations

import io
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from nnviz.model.build import build_model
from nnviz.model.modelfiles import ModelFileError, load_weights_npz, weights_npz
from nnviz.model.spec import LayerSpec, ModelSpec

SPEC = ModelSpec(
    (4,),
    (LayerSpec("Dense", 5), LayerSpec("Dropout"), LayerSpec("Dense", 3, "softmax")),
    "sparse_categorical_crossentropy",
)
SHAPES = [(4, 5), (5,), (5, 3), (3,)]  # the Dense kernels and biases, worked out by hand
# An MNIST-sized model: its weights take 3.2 MB as float64, so a 1 MB bomb is not too big a file.
BIG = ModelSpec(
    (784,), (LayerSpec("Dense", 512), LayerSpec("Dense", 10, "softmax")), "sparse_categorical_crossentropy"
)
BIG_SHAPES = [(784, 512), (512,), (512, 10), (10,)]
MB = 1 << 20


def npy_header(shape, descr: str = "<f8", *, version: int = 1) -> bytes:
    """A ``.npy`` magic and header declaring ``shape`` and ``descr`` (the data is not included)."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    writer = np.lib.format.write_array_header_1_0 if version == 1 else np.lib.format.write_array_header_2_0
    writer(buffer, header)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def archive(members: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def good_members(shapes=SHAPES) -> list[tuple[str, bytes]]:
    return [(f"arr_{k}.npy", npy(np.ones(shape))) for k, shape in enumerate(shapes)]


def bomb(
    size: int, *, method: int = zipfile.ZIP_DEFLATED, header: bytes | None = None, shapes=BIG_SHAPES
) -> bytes:
    """Weight arrays of ``shapes`` (BIG's by default), the first followed by ``size`` zero bytes,
    streamed into the archive so that building it never holds ``size`` bytes."""
    buffer = io.BytesIO()
    chunk = bytes(MB)
    with zipfile.ZipFile(buffer, "w", compression=method, compresslevel=9) as zf:
        with zf.open("arr_0.npy", "w", force_zip64=True) as member:
            member.write(header if header is not None else npy_header(shapes[0]))
            for _ in range(size // MB):
                member.write(chunk)
        for name, data in good_members(shapes)[1:]:
            zf.writestr(name, data)
    return buffer.getvalue()


def forged_size(raw: bytes, name: str, size: int) -> bytes:
    """``raw`` with the central directory declaring ``size`` uncompressed bytes for ``name``."""
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == name.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 46)
    raise AssertionError(f"{name} not found")


@pytest.fixture(scope="module")
def model():
    return build_model(SPEC, seed=1)


@pytest.fixture(scope="module")
def big_model():
    return build_model(BIG, seed=1)


def refused(model, raw: bytes, match: str) -> str:
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ModelFileError, match=match) as caught:
        load_weights_npz(model, raw)
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)
    return str(caught.value)


BOMBS = {
    # name: (builder, message): each declares hundreds of MB that np.load would decompress.
    "deflate after a right header": (lambda: bomb(1024 * MB), "declares 1,073,741,"),
    "deflate with a huge shape": (
        lambda: bomb(1024 * MB, header=npy_header((128 * MB,))),
        "declares 1,073,741,",
    ),
    "bzip2": (lambda: bomb(64 * MB, method=zipfile.ZIP_BZIP2), "compressed with bzip2"),
    "lzma": (lambda: bomb(16 * MB, method=zipfile.ZIP_LZMA), "compressed with LZMA"),
    "header claiming 10**12 elements": (
        lambda: archive([("arr_0.npy", npy_header((10**12,))), *good_members(BIG_SHAPES)[1:]]),
        r"shape \(1000000000000,\) in the file but the model needs \(784, 512\)",
    ),
    "header claiming 10**12 elements of the right rank": (
        lambda: archive([("arr_0.npy", npy_header((10**6, 10**6))), *good_members(BIG_SHAPES)[1:]]),
        r"Weight array 0 \(kernel of layer 1, Dense\) has shape \(1000000, 1000000\)",
    ),
    "deflate bomb whose declared size is forged small": (
        lambda: forged_size(bomb(64 * MB), "arr_0.npy", len(npy_header(BIG_SHAPES[0])) + 784 * 512 * 8),
        "damaged or truncated|more bytes",
    ),
    "a v2 header declaring 4 GB of header": (
        lambda: archive(
            [("arr_0.npy", b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little")), *good_members()[1:]]
        ),
        "has a header of 4,294,967,295 bytes",
    ),
}


@pytest.mark.parametrize("case", list(BOMBS), ids=list(BOMBS))
def test_a_bomb_is_refused_without_allocating_for_it(big_model, case):
    build, message = BOMBS[case]
    raw = build()
    assert len(raw) < 5 * MB  # small enough to pass Streamlit's upload limit
    before = [w.copy() for w in big_model.get_weights()]
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=message):
            load_weights_npz(big_model, raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # At most the model's own weights (3.2 MB as float64) are ever read, and only a forged size gets that far.
    assert peak < (4 if "forged" in case else 1) * MB, f"{peak / MB:.1f} MB allocated while refusing"
    assert all(np.array_equal(now, then) for now, then in zip(big_model.get_weights(), before))


def test_the_bombs_would_have_been_decompressed_by_np_load():
    """The control: numpy's own reader inflates the deflate bomb to its full size."""
    with np.load(io.BytesIO(bomb(32 * MB, header=npy_header((4 * MB,)))), allow_pickle=False) as archive_:
        assert archive_["arr_0"].nbytes == 32 * MB  # what the old loader did before checking shapes


def test_thousands_of_members_are_refused_before_zipfile_lists_them(model):
    raw = archive([(f"arr_{k}.npy", b"") for k in range(20_000)])
    tracemalloc.start()
    try:
        refused(model, raw, "more than the weights of this model can take|has 20000 arrays")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MB


def _replace(members, k, data):
    members = list(members)
    members[k] = (members[k][0], data)
    return members


BROKEN = {
    ".npy renamed .npz": (lambda: npy(np.ones((4, 5))), "single .npy array renamed .npz"),
    "truncated zip": (lambda: archive(good_members())[:300], "truncated|not an .npz"),
    "zip cut before its end record": (lambda: archive(good_members())[:-30], "truncated"),
    "not a zip": (lambda: b"weights = [1, 2, 3]\n", "not an .npz file"),
    "empty file": (lambda: b"", "not an .npz file"),
    "PNG image": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(100), "not an .npz file"),
    "empty zip": (lambda: archive([]), "has 0 arrays but this model has 4"),
    "a directory entry": (
        lambda: archive([("arr_0.npy/", b""), *good_members()[1:]]),
        "'arr_0.npy/', which is not an .npy array",
    ),
    "a duplicate name": (
        lambda: archive([*good_members()[:3], ("arr_2.npy", npy(np.ones((5, 3))))]),
        "'arr_2.npy' more than once",
    ),
    "a text member": (lambda: archive([*good_members()[:3], ("notes.txt", b"hi")]), "'notes.txt'"),
    "an extra member": (lambda: archive([*good_members(), ("arr_4.npy", npy(np.ones(2)))]), "has 5 arrays"),
    "a missing member": (lambda: archive(good_members()[:3]), "has 3 arrays but this model has 4"),
    "object dtype (a pickle)": (
        lambda: archive(_replace(good_members(), 1, npy_header((5,), "|O") + b"\x80\x04N.")),
        r"type object, not plain numbers",
    ),
    "complex numbers": (lambda: archive(_replace(good_members(), 1, npy(np.ones(5, complex)))), "complex128"),
    "text array": (lambda: archive(_replace(good_members(), 1, npy(np.array(["a"] * 5)))), "<U1"),
    "structured array": (
        lambda: archive(_replace(good_members(), 1, npy(np.zeros(5, [("a", "<f4"), ("b", "<f4")])))),
        "not plain numbers",
    ),
    "128-bit floats": (lambda: archive(_replace(good_members(), 1, npy_header((5,), "<c16"))), "complex128"),
    "data shorter than the header says": (
        lambda: archive(_replace(good_members(), 0, npy(np.ones((4, 5)))[:-8])),
        "fewer bytes than its header's shape",
    ),
    "data after the array": (
        lambda: archive(_replace(good_members(), 0, npy(np.ones((4, 5))) + b"\0" * 64)),
        "more bytes than its header's shape",
    ),
    "npy format version 3": (
        lambda: archive(_replace(good_members(), 1, b"\x93NUMPY\x03\x00" + npy(np.ones(5))[8:])),
        "version 1 or 2",
    ),
    "garbage header": (
        lambda: archive(_replace(good_members(), 1, b"\x93NUMPY\x01\x00\x10\x00{'shape': __import__}\n")),
        "unreadable .npy header",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_a_broken_or_forged_archive_is_refused_with_a_message(model, case):
    build, message = BROKEN[case]
    text = refused(model, build(), message)
    assert "Traceback" not in text


OUT_OF_FLOAT32 = {
    "1e300": (1e300, r"holds 1e\+300 at index \(2, 3\), which is beyond float32's range \(±3.4e38\)"),
    "-1e39": (-1e39, r"holds -1e\+39 at index \(2, 3\), which is beyond float32's range"),
    "3.5e38": (3.5e38, "beyond float32's range"),
    "inf": (np.inf, "which is infinite"),
    "NaN": (np.nan, "which is not a number"),
}


@pytest.mark.parametrize("case", list(OUT_OF_FLOAT32), ids=list(OUT_OF_FLOAT32))
def test_values_float32_cannot_hold_are_refused_not_turned_into_inf(model, case):
    value, message = OUT_OF_FLOAT32[case]
    kernel = np.zeros((4, 5))
    kernel[2, 3] = value
    text = refused(model, archive(_replace(good_members(), 0, npy(kernel))), message)
    assert text.startswith("Weight array 0 (kernel of layer 1, Dense)")


def test_values_at_the_edge_of_float32_and_other_plain_layouts_load(model):
    edge = float(np.finfo(np.float32).max)  # 3.4028235e38 itself is a float32
    kernel = np.asfortranarray(np.arange(20, dtype=">f8").reshape(4, 5))  # big-endian, column order
    kernel[0, 0] = -edge
    members = [
        ("arr_0.npy", npy(kernel)),
        ("arr_1.npy", npy(np.arange(5, dtype=np.int64))),
        ("arr_2.npy", npy(np.full((5, 3), 0.5, np.float16))),
        ("arr_3.npy", npy(np.array([1, 2, 3], np.uint8))),
    ]
    load_weights_npz(model, archive(members, method=zipfile.ZIP_DEFLATED))
    weights = model.get_weights()
    expected_kernel = np.arange(20, dtype=np.float32).reshape(4, 5)
    expected_kernel[0, 0] = -np.finfo(np.float32).max
    np.testing.assert_array_equal(weights[0], expected_kernel)
    np.testing.assert_array_equal(weights[1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(weights[2], np.full((5, 3), 0.5))
    np.testing.assert_array_equal(weights[3], [1, 2, 3])


def test_savez_compressed_exports_load_too(model):
    other = build_model(SPEC, seed=7)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, *other.get_weights())
    load_weights_npz(model, buffer.getvalue())
    for mine, theirs in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    load_weights_npz(model, weights_npz(build_model(SPEC, seed=1)))  # back to the module's weights


# --- python tests/test_hostile_files.py: peak resident memory of each bomb, in a fresh process ---

MEASURED = {  # each first member's header claims all the bytes that follow, as the audit's did
    "deflate bomb (1 GB of zeros, ~1 MB file)": "bomb(1024 * MB, header=npy_header((128 * MB,)))",
    "bzip2 bomb (1.9 GB of zeros, ~2 kB file)": "bomb(1900 * MB, method=zipfile.ZIP_BZIP2, header=npy_header((1900 * MB // 8,)))",
    "lzma bomb (512 MB of zeros)": "bomb(512 * MB, method=zipfile.ZIP_LZMA, header=npy_header((64 * MB,)))",
    "npy header claiming 10**12 float64": "archive([('arr_0.npy', npy_header((10**12,))), *good_members(BIG_SHAPES)[1:]])",
}

_CHILD = """
import io, sys, zipfile
sys.path.insert(0, {tests!r})
import numpy as np
from test_hostile_files import *
from nnviz.model.modelfiles import load_weights_npz
model = build_model(BIG)
raw = {build}

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field))

with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from the resident size now
start = status("VmRSS:")
try:
    if {old}:
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive_:
            [archive_[name] for name in archive_.files]
        outcome = "read"
    else:
        load_weights_npz(model, raw)
        outcome = "loaded"
except Exception as err:
    outcome = type(err).__name__
grown = status("VmHWM:") - start
print(f"{{len(raw):>10,}} B file  {{outcome:>15}}  peak RSS +{{grown / 1024:,.1f}} MB")
"""


def _measure() -> None:
    import os
    import subprocess
    from pathlib import Path

    tests = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": str(Path(tests).parent), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for old in (True, False):
        print("np.load, as the loader did before:" if old else "load_weights_npz now:")
        for label, build in MEASURED.items():
            code = _CHILD.format(tests=tests, build=build, old=old)
            result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
            print(f"  {label:45s}", (result.stdout.strip() or result.stderr.strip().splitlines()[-1]))


if __name__ == "__main__":
    _measure()
