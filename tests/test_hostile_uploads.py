"""AppTests: hostile CSV files on the Data page and hostile weight files on the Train page end in a
message that says what to fix, never in Streamlit's exception box."""

import zipfile

import numpy as np
from test_hostile_files import MB, archive, bomb, good_members, npy, npy_header
from test_pages import choose_dataset, followed, open_app, texts, workspace


def _rows(header: str, rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode()


def _shown(elements) -> str:
    return texts(elements).replace("\\", "")  # plain() escapes Markdown characters with backslashes


REFUSED_CSV = {
    "a header name over the csv field limit": (
        _rows("a," + "b" * 200_000 + ",label", [f"{k},{k},x{k % 2}" for k in range(20)]),
        "A field in the header line is longer than 131,072 characters",
    ),
    "a 400-digit integer": (
        _rows("a,b,label", [f"{k},{'9' * 400 if k == 3 else k},x{k % 2}" for k in range(20)]),
        "beyond float32's range (±3.4e38)",
    ),
    "a target of 1e39": (
        _rows("a,b,price", [f"{k},{k % 3},{'1e39' if k == 3 else k * 1.5}" for k in range(20)]),
        "Column 'price' holds '1e39' in data row 4",
    ),
    "a feature of 1e308": (
        _rows("a,b,label", [f"{k},{'1e308' if k == 3 else k},x{k % 2}" for k in range(20)]),
        "Column 'b' holds '1e308' in data row 4",
    ),
    "an empty file": (b"", "The file is empty"),
    "only a header": (b"a,b,label\n", "header but no data rows"),
    "duplicate column names": (_rows("a,a,label", ["1,2,x"] * 12), "'a' appears more than once"),
    "very many columns": (
        _rows(",".join(f"c{k}" for k in range(3000)), [",".join(["1"] * 3000)] * 2),
        "3,000 columns",
    ),
    "NUL bytes": (b"a,b,label\n1,\x002,x\n", "NUL bytes"),
    "UTF-16 without a byte-order mark": ("a,b,label\n1,2,x\n".encode("utf-16-le"), "UTF-16 text without"),
    "ragged lines": (
        _rows("a,label", [f"{k},{k},x" for k in range(12)]),
        "Line 2 has 3 fields but the header has 2",
    ),
}

READ_CSV = {
    # file, a note on the page; each must end as a dataset with its metrics shown
    "CR-only line ends": (_rows("a,b,label", [f"{k},{k % 5},x{k % 2}" for k in range(30)], "\r"), None),
    "a blank first line": (
        b"\n" + _rows("a,b,label", [f"{k},{k % 5},x{k % 2}" for k in range(30)]),
        "Skipped 1 blank line",
    ),
    "a byte-order mark": (
        b"\xef\xbb\xbf" + _rows("a,b,label", [f"{k},{k % 5},x{k % 2}" for k in range(30)]),
        None,
    ),
    "UTF-16": (
        "\n".join(["a,b,label"] + [f"{k},{k % 5},x{k % 2}" for k in range(30)]).encode("utf-16"),
        "Read as UTF-16",
    ),
    "semicolons and decimal commas": (
        _rows("a;b;label", [f"{k};{k % 5},5;x{k % 2}" for k in range(30)]),
        "Read as semicolon-separated values.",
    ),
    "a class with one row": (
        _rows("a,b,label", [f"{k},{k % 5},{'lonely' if k == 7 else 'x' + str(k % 2)}" for k in range(30)]),
        "Class 'lonely' has only 1 row",
    ),
}


def test_the_data_page_explains_every_hostile_csv_and_reads_the_readable_ones():
    at = choose_dataset(open_app(), "csv")
    uploader = lambda: at.get("file_uploader")[0]  # noqa: E731 - the element is new after each run
    for case, (raw, message) in REFUSED_CSV.items():
        uploader().set_value((f"{case}.csv", raw, "text/csv")).run()
        assert not at.exception, (case, at.exception)
        assert message in _shown(at.error), (case, _shown(at.error))
        assert at.session_state["csv_dataset"] is None, case
    for case, (raw, note) in READ_CSV.items():
        uploader().set_value((f"{case}.csv", raw, "text/csv")).run()
        assert not at.exception and not at.error, (case, at.exception, _shown(at.error))
        assert at.session_state["csv_dataset"].feature_names == ("a", "b"), case
        assert {m.label for m in at.metric} >= {"Training rows", "Test rows", "Task"}, case
        if note:
            assert note in _shown(at.caption), (case, _shown(at.caption))


def test_one_numeric_feature_is_shown_against_the_target_and_trains():
    at = choose_dataset(open_app(), "csv")
    raw = _rows("name,height,kind", [f"p{k},{150 + k},{'ab'[k > 19]}" for k in range(40)])
    at.get("file_uploader")[0].set_value(("one.csv", raw, "text/csv")).run()
    assert not at.exception, at.exception
    assert "The feature against the target" in texts(at.subheader)
    assert {m.label: m.value for m in at.metric}["Input shape"] == "1"
    dataset = at.session_state["csv_dataset"]
    assert dataset.feature_names == ("height",) and dataset.class_names == ("a", "b")
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    at.number_input(key="w.epochs").set_value(2).run()
    followed(at.button(key="train.start").click().run())
    assert not at.exception, at.exception
    assert "Done: 2 epochs in" in texts(at.success)


def test_hostile_weight_files_are_refused_on_the_train_page():
    at = open_app("pages/train.py")
    model = workspace(at).model
    before = [w.copy() for w in model.get_weights()]
    shapes = [w.shape for w in before]
    files = {
        "deflate bomb": (
            bomb(256 * MB, header=npy_header((32 * MB,)), shapes=shapes),
            "more than the weights of this model can take",
        ),
        "bzip2 bomb": (bomb(64 * MB, method=zipfile.ZIP_BZIP2, shapes=shapes), "compressed with bzip2"),
        "huge header": (
            archive([("arr_0.npy", npy_header((10**12,))), *good_members(shapes)[1:]]),
            "shape (1000000000000,) in the file",
        ),
        ".npy renamed": (npy(np.ones(shapes[0])), "single .npy array renamed .npz"),
        "truncated": (archive(good_members(shapes))[:200], "truncated"),
        "1e300": (
            archive([("arr_0.npy", npy(np.full(shapes[0], 1e300))), *good_members(shapes)[1:]]),
            "beyond float32's range (±3.4e38)",
        ),
    }
    for case, (raw, message) in files.items():
        at.get("file_uploader")[0].set_value((f"{case}.npz", raw, "application/octet-stream")).run()
        assert not at.exception, (case, at.exception)
        assert message in _shown(at.error), (case, _shown(at.error))
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before)), case
