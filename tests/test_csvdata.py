"""Uploaded CSV files: good ones become datasets, bad ones a message that says what to fix."""

import numpy as np
import pytest

from nnviz.data.csvdata import CsvError, CsvLimits, csv_dataset, infer_task, read_csv


def _rows(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _classes(n: int = 30) -> bytes:
    return _rows("a,b,label", [f"{k},{k % 7 * 0.5},{'yes' if k % 3 else 'no'}" for k in range(n)])


def test_a_good_classification_file_becomes_a_standardised_dataset():
    dataset, notes = csv_dataset(read_csv(_classes(), name="pets.csv"), target="label")
    assert dataset.task == "binary" and dataset.class_names == ("no", "yes")
    assert dataset.feature_names == ("a", "b") and len(dataset.X_train) + len(dataset.X_test) == 30
    np.testing.assert_allclose(dataset.X_train.mean(axis=0), 0, atol=1e-5)
    assert dataset.title == "Your CSV: pets.csv" and any("standardised" in note for note in notes)


def test_text_columns_are_left_out_with_a_note_and_numbers_kept():
    raw = _rows("name,height,weight", [f"p{k},{150 + k},{50.5 + 2.25 * k}" for k in range(20)])
    dataset, notes = csv_dataset(read_csv(raw), target="weight")
    assert dataset.task == "regression" and dataset.feature_names == ("height",)
    assert notes[0] == "Left out 1 column that holds text, not numbers: 'name'."


@pytest.mark.parametrize("blank", ["", " ", "NaN"])
def test_a_column_without_any_value_is_left_out_with_a_note(blank):
    raw = _rows("height,empty,weight", [f"{150 + k},{blank},{50.5 + 2.25 * k}" for k in range(20)])
    dataset, notes = csv_dataset(read_csv(raw), target="weight")
    assert dataset.feature_names == ("height",)
    assert "Left out 1 column that holds no values at all: 'empty'." in notes
    only_empty = _rows("empty,label", [f"{blank},{'ab'[k % 2]}" for k in range(20)])
    with pytest.raises(CsvError, match="No column besides the target holds numbers"):
        csv_dataset(read_csv(only_empty), target="label")


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 2] * 10, "classification"),
        ([k * 0.37 for k in range(30)], "regression"),
        (list(range(30)), "regression"),  # 30 distinct whole numbers: more than a class count
        (["cat", "dog", "cow"] * 10, "classification"),
    ],
)
def test_the_task_is_inferred_from_the_target(values, task):
    raw = _rows("x,y", [f"{k},{v}" for k, v in enumerate(values)])
    assert infer_task(read_csv(raw), "y") == task


def test_the_user_can_override_the_task():
    raw = _rows("x,y", [f"{k},{k % 3}" for k in range(30)])
    dataset, _ = csv_dataset(read_csv(raw), target="y", task="regression")
    assert dataset.task == "regression" and dataset.y_train.dtype == np.float32


def test_column_names_with_markup_stay_plain_text():
    raw = _rows('"<script>alert(1)</script>",<b>y</b>', [f"{k},{k % 2}" for k in range(20)])
    dataset, _ = csv_dataset(read_csv(raw), target="<b>y</b>")
    assert dataset.feature_names == ("<script>alert(1)</script>",) and dataset.target_name == "<b>y</b>"


BAD_FILES = {
    "empty": (b"", "The file is empty"),
    "only whitespace": (b"  \n\n", "The file is empty"),
    "header only": (b"a,b,label\n", "header but no data rows"),
    "not UTF-8": ("a,b\n1,caf\u00e9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    "binary spreadsheet": (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
    "too many bytes": (b"a,b\n" + b"1,2\n" * 3000, "accepts CSV files up to"),
    "too many rows": (_rows("a,b", ["1,2"] * 120), "more than 100 rows; this server accepts at most 100"),
    "too many columns": (
        _rows(",".join(f"c{k}" for k in range(30)), [",".join("1" * 30)] * 12),
        "at most 20",
    ),
    "duplicate names": (_rows("a,a,label", ["1,2,x"] * 12), "'a' appears more than once"),
    "blank name": (_rows("a,,label", ["1,2,x"] * 12), "Column 2 has no name"),
    "ragged lines": (b"a,b\n1,2\n3,4,5,6\n", "Line 3 has 4 fields but the header has 2"),
    "text in a number column": (
        _rows("a,b,label", [f"{k},{'twelve' if k == 4 else k},x{k % 2}" for k in range(20)]),
        "'b' holds numbers but also text such as 'twelve' (data row 5)",
    ),
    "NaN in a feature": (
        _rows("a,b,label", [f"{k},{'' if k == 3 else k},x{k % 2}" for k in range(20)]),
        "'b' has 1 empty or NaN value (first in data row 4)",
    ),
    "inf in a feature": (
        _rows("a,b,label", [f"{k},{'inf' if k == 6 else k},x{k % 2}" for k in range(20)]),
        "'b' has 1 infinite value (first in data row 7)",
    ),
    "one class only": (_rows("a,label", [f"{k},same" for k in range(20)]), "only one class ('same')"),
    "thousands of classes": (_rows("a,label", [f"{k},id{k}" for k in range(80)]), "80 different values"),
    "missing label": (
        _rows("a,label", [f"{k},{'' if k == 2 else 'x' + str(k % 2)}" for k in range(20)]),
        "empty in data row 3",
    ),
    "no numeric features": (_rows("name,label", [f"n{k},x{k % 2}" for k in range(20)]), "No column besides"),
    "too few rows": (_rows("a,label", ["1,x", "2,y", "3,x"]), "at least 10"),
    "text target for regression": (_rows("a,label", [f"{k},x{k % 2}" for k in range(20)]), "holds text"),
    "unknown target": (_classes(), "There is no column 'price'"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_a_bad_file_gets_a_message_that_says_what_to_fix(case):
    raw, message = BAD_FILES[case]
    limits = CsvLimits(max_bytes=10_000, max_rows=100, max_columns=20, max_classes=50)
    target = {"unknown target": "price"}.get(case, "label")
    task = "regression" if case == "text target for regression" else "infer"
    with pytest.raises(CsvError) as caught:
        table = read_csv(raw, limits=limits)
        csv_dataset(table, target=target, task=task, limits=limits)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


# --- Files from other programs and hostile files (issue 10): read correctly, or one clear message ---


def _expected_split(X: np.ndarray, y: np.ndarray, *, stratify: bool, seed: int = 0):
    """What the dataset must hold, computed with scikit-learn directly."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


PLAIN_X = np.array([[k, (k * 7) % 11 * 0.5] for k in range(30)], dtype=np.float64)
PLAIN_Y = np.array([k % 3 for k in range(30)])
PLAIN_LINES = ["a,b,label"] + [f"{int(a)},{b:g},{'xyz'[y]}" for (a, b), y in zip(PLAIN_X, PLAIN_Y)]


def _variant(lines: list[str], *, newline: str = "\n", encoding: str = "utf-8", before: str = "") -> bytes:
    return (before + newline.join(lines) + newline).encode(encoding)


READ_CORRECTLY = {
    "CR-only line ends (old Mac)": (_variant(PLAIN_LINES, newline="\r"), None),
    "CRLF line ends (Windows)": (_variant(PLAIN_LINES, newline="\r\n"), None),
    "mixed line ends": ("\r\n".join(PLAIN_LINES[:10]) + "\r" + "\n".join(PLAIN_LINES[10:]), None),
    "UTF-8 byte-order mark": (_variant(PLAIN_LINES, encoding="utf-8-sig"), None),
    "UTF-16 LE with a byte-order mark": (_variant(PLAIN_LINES, encoding="utf-16"), "Read as UTF-16 text."),
    "UTF-16 BE with a byte-order mark": (
        b"\xfe\xff" + _variant(PLAIN_LINES, encoding="utf-16-be"),
        "Read as UTF-16 text.",
    ),
    "UTF-32 with a byte-order mark": (_variant(PLAIN_LINES, encoding="utf-32"), "Read as UTF-32 text."),
    "a blank first line": (_variant(PLAIN_LINES, before="\n"), "Skipped 1 blank line before the header."),
    "blank and space-only lines first": (
        _variant(PLAIN_LINES, before="\r\n  \r\n\t\r\n"),
        "Skipped 3 blank lines before the header.",
    ),
    "semicolons": (
        _variant([line.replace(",", ";") for line in PLAIN_LINES]),
        "Read as semicolon-separated values.",
    ),
    "semicolons and decimal commas": (
        _variant([line.replace(",", ";").replace(".", ",") for line in PLAIN_LINES]),
        "Numbers with a decimal comma (1,5) were read as 1.5.",
    ),
    "tabs": (_variant([line.replace(",", "\t") for line in PLAIN_LINES]), "Read as tab-separated values."),
}


@pytest.mark.parametrize("case", list(READ_CORRECTLY), ids=list(READ_CORRECTLY))
def test_files_from_other_programs_are_read_as_the_plain_file(case):
    raw, note = READ_CORRECTLY[case]
    raw = raw.encode() if isinstance(raw, str) else raw
    dataset, notes = csv_dataset(read_csv(raw), target="label")
    X_train, X_test, y_train, y_test = _expected_split(PLAIN_X, PLAIN_Y, stratify=True)
    assert dataset.feature_names == ("a", "b") and dataset.class_names == ("x", "y", "z")
    np.testing.assert_allclose(dataset.X_train, X_train, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dataset.X_test, X_test, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dataset.y_train, y_train)
    np.testing.assert_array_equal(dataset.y_test, y_test)
    if note:
        assert note in notes


def test_one_numeric_feature_makes_a_usable_dataset():
    raw = _rows("height,kind", [f"{150 + k},{'ab'[k % 2]}" for k in range(40)])
    dataset, notes = csv_dataset(read_csv(raw), target="kind")
    X = np.arange(150, 190, dtype=np.float64).reshape(-1, 1)
    X_train, X_test, y_train, _ = _expected_split(X, np.arange(40) % 2, stratify=True)
    assert dataset.input_shape == (1,) and dataset.feature_names == ("height",)
    np.testing.assert_allclose(dataset.X_train, X_train, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(dataset.y_train, y_train)
    assert "1 numeric feature, standardised" in notes[-1]


TOO_SMALL_TO_STRATIFY = {
    # labels, the class named in the note
    "a class with one row": (["x", "y"] * 14 + ["y", "lonely"], "Class 'lonely' has only 1 row"),
    "more classes than test rows": (
        [f"c{k % 5}" for k in range(10)],
        "The 2 test rows cannot hold one row of each of the 5 classes",
    ),
    "more classes than training rows": (
        [f"c{k}" for k in range(12)] * 2 + [f"c{k}" for k in range(12, 20)] * 2,
        "test rows cannot hold one row of each of the 20 classes",
    ),
}


@pytest.mark.parametrize("case", list(TOO_SMALL_TO_STRATIFY), ids=list(TOO_SMALL_TO_STRATIFY))
def test_classes_too_small_to_stratify_fall_back_to_a_random_split_with_a_note(case):
    labels, note = TOO_SMALL_TO_STRATIFY[case]
    raw = _rows("a,label", [f"{k},{label}" for k, label in enumerate(labels)])
    dataset, notes = csv_dataset(read_csv(raw), target="label", limits=CsvLimits(max_classes=50))
    classes = sorted(set(labels), key=lambda c: (len(c), c))
    y = np.array([dataset.class_names.index(label) for label in labels])
    X = np.arange(len(labels), dtype=np.float64).reshape(-1, 1)
    _, _, y_train, y_test = _expected_split(X, y, stratify=False)
    assert sorted(dataset.class_names, key=lambda c: (len(c), c)) == classes
    np.testing.assert_array_equal(dataset.y_train, y_train)
    np.testing.assert_array_equal(dataset.y_test, y_test)
    assert any(note in n and "split at random" in n for n in notes), notes


def _with_cell(row: int, column: str, cell: str, *, target_kind: str = "class") -> bytes:
    """30 rows of a,b,label with one cell replaced."""
    rows = []
    for k in range(30):
        cells = {
            "a": str(k),
            "b": str(k % 4),
            "label": f"{k * 1.5}" if target_kind == "number" else "xy"[k % 2],
        }
        if k == row:
            cells[column] = cell
        rows.append(",".join(cells.values()))
    return _rows("a,b,label", rows)


HOSTILE = {
    # raw file, task, message (each names the problem and how to fix it)
    "a header name over the csv field limit": (
        _rows("a," + "b" * 200_000 + ",label", [f"{k},{k},x{k % 2}" for k in range(20)]),
        "infer",
        "A field in the header line is longer than 131,072 characters",
    ),
    "a 201-character column name": (
        _rows("a," + "n" * 201 + ",label", [f"{k},{k},x{k % 2}" for k in range(20)]),
        "infer",
        "Column 2's name is 201 characters long; names are at most 200",
    ),
    "a cell over the csv field limit": (
        _with_cell(5, "b", "7" * 140_000),
        "infer",
        "A field in line 7 is longer",
    ),
    "a 400-digit integer in a feature": (
        _with_cell(3, "b", "9" * 400),
        "infer",
        "Column 'b' holds '999999999999'… (400 characters) in data row 4 (1 such value), beyond float32's range (±3.4e38)",
    ),
    "a negative 400-digit integer": (_with_cell(3, "b", "-" + "9" * 400), "infer", "beyond float32's range"),
    "a 5,000-digit integer (over Python's int-to-text limit)": (
        _with_cell(3, "b", "1" * 5000),
        "infer",
        "(5,000 characters) in data row 4",
    ),
    "a 400-digit integer as the target": (
        _with_cell(3, "label", "9" * 400, target_kind="number"),
        "regression",
        "Column 'label' holds '999999999999'… (400 characters) in data row 4",
    ),
    "a target of 1e39": (
        _with_cell(3, "label", "1e39", target_kind="number"),
        "regression",
        "Column 'label' holds '1e39' in data row 4 (1 such value), beyond float32's range (±3.4e38)",
    ),
    "a feature of 1e308": (_with_cell(0, "a", "1e308"), "infer", "Column 'a' holds '1e308' in data row 1"),
    "a feature of -3.5e38": (
        _with_cell(29, "a", "-3.5e38"),
        "infer",
        "Column 'a' holds '-3.5e38' in data row 30",
    ),
    "a feature of 1e400 (inf in float64)": (_with_cell(2, "b", "1e400"), "infer", "Column 'b' holds '1e400'"),
    "inf written out": (
        _with_cell(2, "b", "-Infinity"),
        "infer",
        "'b' has 1 infinite value (first in data row 3)",
    ),
    "text in a numeric target": (
        _with_cell(3, "label", "z", target_kind="number"),
        "infer",
        "Column 'label' holds numbers but also text such as 'z' (data row 4)",
    ),
    "UTF-16 without a byte-order mark": (
        _classes().decode().encode("utf-16-le"),
        "infer",
        "or UTF-16 text without a byte-order mark",
    ),
    "UTF-32 without a byte-order mark": (_classes().decode().encode("utf-32-le"), "infer", "NUL bytes"),
    "NUL bytes in a cell": (_classes().replace(b"3,", b"3\x00,", 1), "infer", "NUL bytes"),
    "only blank lines": (b"\r\n\r\n  \r\n", "infer", "The file is empty"),
    "header and blank lines only": (b"\n\na,b,label\n\n\n", "infer", "header but no data rows"),
    "duplicate names after trimming spaces": (
        _rows("a, a,label", ["1,2,x"] * 12),
        "infer",
        "'a' appears more than once",
    ),
    "duplicate names, semicolon file": (
        _rows("a;a;label", ["1;2;x"] * 12),
        "infer",
        "'a' appears more than once",
    ),
    "very many columns": (
        _rows(",".join(f"c{k}" for k in range(5_000)), [",".join(["1"] * 5_000)] * 3),
        "infer",
        "5,000 columns; this server accepts at most 200",
    ),
    "more fields than the header on every line": (
        _rows("a,label", [f"{k},{k},x{k % 2}" for k in range(20)]),
        "infer",
        "Line 2 has 3 fields but the header has 2",
    ),
    "fewer fields on one line": (
        _rows("a,b,label", [f"{k},{k},x{k % 2}" if k != 6 else "6,x0" for k in range(20)]),
        "infer",
        "Line 8 has 2 fields but the header has 3",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_file_gets_a_message_naming_the_problem_and_the_fix(case):
    raw, task, message = HOSTILE[case]
    with pytest.raises(CsvError) as caught:
        table = read_csv(raw)
        csv_dataset(table, target="label", task=task)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 400  # a sentence, not a dump of the file


def test_values_at_the_edge_of_float32_are_accepted():
    edge = float(np.finfo(np.float32).max)
    raw = _with_cell(0, "a", repr(edge))
    dataset, _ = csv_dataset(read_csv(raw), target="label")
    assert np.isfinite(dataset.X_train).all() and np.isfinite(dataset.X_test).all()


def test_a_huge_file_of_rows_is_refused_before_pandas_parses_it():
    raw = b"a,b\n" + b"1,2\n" * 2_000
    with pytest.raises(CsvError, match="more than 1,000 rows"):
        read_csv(raw, limits=CsvLimits(max_rows=1_000))
