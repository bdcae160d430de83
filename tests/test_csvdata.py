"""Uploaded CSV files: good ones become datasets, bad ones a message that says what to fix."""

import numpy as np
import pytest

from nnviz.csvdata import CsvError, CsvLimits, csv_dataset, infer_task, read_csv


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
    "too many rows": (_rows("a,b", ["1,2"] * 120), "120 rows; this server accepts at most 100"),
    "too many columns": (
        _rows(",".join(f"c{k}" for k in range(30)), [",".join("1" * 30)] * 12),
        "at most 20",
    ),
    "duplicate names": (_rows("a,a,label", ["1,2,x"] * 12), "'a' appears more than once"),
    "blank name": (_rows("a,,label", ["1,2,x"] * 12), "Column 2 has no name"),
    "ragged lines": (b"a,b\n1,2\n3,4,5,6\n", "not a regular table"),
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
