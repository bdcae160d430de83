"""A user's own CSV file as a :class:`~nnviz.datasets.Dataset`, with a clear message for every bad input.

Everything a user uploads is checked here, before it reaches a model: size, encoding, shape,
column names, numbers, missing values and the target. Problems raise :class:`CsvError` with one
sentence that says what is wrong and how to fix it. Column names are data, never markup: the UI
shows them as plain text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnviz.datasets import Dataset, split_rows, standardise

TASKS = ("infer", "classification", "regression")


class CsvError(ValueError):
    """A CSV file that cannot be used, with the reason and the fix in one sentence."""


@dataclass(frozen=True)
class CsvLimits:
    """Bounds on an uploaded CSV, so one file cannot exhaust a shared server.

    Args:
        max_bytes: largest file accepted.
        max_rows: most data rows.
        max_columns: most columns.
        max_classes: most distinct labels in a classification target.
        max_classes_inferred: a numeric target with more distinct values than this is regression.
    """

    max_bytes: int = 5_000_000
    max_rows: int = 100_000
    max_columns: int = 200
    max_classes: int = 50
    max_classes_inferred: int = 20


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV: the table and the file name it came from."""

    frame: pd.DataFrame
    name: str
    digest: str  # identifies the content, so each upload gets its own workspace


def read_csv(raw: bytes, *, name: str = "upload.csv", limits: CsvLimits | None = None) -> CsvTable:
    """Parse uploaded bytes into a table, or raise :class:`CsvError` saying what to fix."""
    limits = limits or CsvLimits()
    if len(raw) > limits.max_bytes:
        raise CsvError(
            f"The file is {len(raw) / 1e6:.1f} MB; this server accepts CSV files up to "
            f"{limits.max_bytes / 1e6:.0f} MB. Upload fewer rows or columns."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CsvError(
            f"The file is not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}). "
            "Save it again as 'CSV UTF-8' from your spreadsheet program."
        ) from None
    if "\x00" in text:
        raise CsvError(
            "The file contains NUL bytes, so it is not a text CSV (perhaps a spreadsheet file): "
            "save it as 'CSV UTF-8' and upload that."
        )
    if not text.strip():
        raise CsvError("The file is empty: upload a CSV with a header line and at least one row.")
    header = next(csv.reader(io.StringIO(text)))
    _check_names(header, limits)
    try:
        frame = pd.read_csv(io.StringIO(text), skipinitialspace=True)
    except pd.errors.ParserError as err:
        raise CsvError(
            f"The file is not a regular table: {err}. Every line needs the same number of "
            "commas as the header."
        ) from None
    if frame.empty:
        raise CsvError("The file has a header but no data rows: add at least 10 rows.")
    if len(frame) > limits.max_rows:
        raise CsvError(
            f"The file has {len(frame):,} rows; this server accepts at most {limits.max_rows:,}. "
            "Upload a sample of the rows."
        )
    return CsvTable(frame, name, hashlib.sha256(raw).hexdigest()[:12])


def _check_names(header: list[str], limits: CsvLimits) -> None:
    if len(header) > limits.max_columns:
        raise CsvError(
            f"The file has {len(header):,} columns; this server accepts at most "
            f"{limits.max_columns:,}. Keep the columns you need."
        )
    blank = [k + 1 for k, column in enumerate(header) if not column.strip()]
    if blank:
        raise CsvError(f"Column {blank[0]} has no name: give every column a name in the header line.")
    repeated = [column for column, count in Counter(c.strip() for c in header).items() if count > 1]
    if repeated:
        raise CsvError(
            f"Column names must be unique, but {repeated[0]!r} appears more than once: rename one."
        )


def numeric_columns(table: CsvTable) -> tuple[list[str], list[str]]:
    """The columns usable as features (numbers) and those left out (text)."""
    numbers, texts = [], []
    for column in table.frame.columns:
        (numbers if _as_numbers(table.frame[column]) is not None else texts).append(column)
    return numbers, texts


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """The column as floats if it is numeric (blank cells allowed), None if it is text."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(np.float64)
    parsed = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    if present.any() and parsed[present].notna().mean() >= 0.5:
        return parsed  # mostly numbers: the cells that are not are mistakes, reported by the caller
    return None


def infer_task(table: CsvTable, target: str, *, limits: CsvLimits | None = None) -> str:
    """``"classification"`` for text labels or a few distinct whole numbers, else ``"regression"``."""
    limits = limits or CsvLimits()
    values = table.frame[target].dropna()
    numbers = _as_numbers(values)
    if numbers is None:
        return "classification"
    whole = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    return "classification" if whole and numbers.nunique() <= limits.max_classes_inferred else "regression"


def csv_dataset(
    table: CsvTable,
    *,
    target: str,
    task: str = "infer",
    test_size: float = 0.2,
    random_state: int = 0,
    limits: CsvLimits | None = None,
) -> tuple[Dataset, list[str]]:
    """Turn ``table`` into a dataset predicting ``target`` from the numeric columns.

    Args:
        target: the column to predict.
        task: ``"infer"``, ``"classification"`` or ``"regression"``.

    Returns:
        The dataset (features standardised on the training rows) and notes for the user, e.g. which
        text columns were left out.

    Raises:
        CsvError: with the reason and the fix, for anything that would make training meaningless.
    """
    limits = limits or CsvLimits()
    frame = table.frame
    if target not in frame.columns:
        raise CsvError(f"There is no column {target!r}: pick the target from the file's columns.")
    if task not in TASKS:
        raise CsvError(f"Task {task!r} is unknown: use one of {', '.join(TASKS)}.")
    if len(frame) < 10:
        raise CsvError(f"The file has {len(frame)} rows; a network needs at least 10 to train and test on.")
    task = infer_task(table, target, limits=limits) if task == "infer" else task
    numbers, texts = numeric_columns(table)
    features = [column for column in numbers if column != target]
    notes = []
    left_out = [column for column in texts if column != target]
    if left_out:
        plural = len(left_out) > 1
        notes.append(
            f"Left out {len(left_out)} column{'s' if plural else ''} that hold{'' if plural else 's'} "
            f"text, not numbers: {', '.join(repr(c) for c in left_out)}."
        )
    if not features:
        raise CsvError("No column besides the target holds numbers: a network needs numeric inputs.")
    X = np.column_stack([_clean_numbers(frame[column], column) for column in features])
    y, class_names = _target(frame[target], target, task, limits)
    X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
        X, y, test_size=test_size, random_state=random_state, stratify=bool(class_names), rows=True
    )
    X_train, X_test, (mean, scale) = standardise(X_train, X_test, scaling=True)
    notes.append(
        f"{len(features)} numeric feature{'s' if len(features) > 1 else ''}, standardised on the "
        "training rows (mean 0, standard deviation 1)."
    )
    n_classes = len(class_names)
    dataset = Dataset(
        key=f"csv-{table.digest}-{hashlib.sha256(f'{target}/{task}'.encode()).hexdigest()[:6]}",
        title=f"Your CSV: {table.name}",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task="regression" if task == "regression" else ("binary" if n_classes == 2 else "multiclass"),
        feature_names=tuple(str(c) for c in features),
        class_names=class_names,
        target_name=str(target),
        source=f"Uploaded file {table.name}: {len(frame):,} rows, {len(frame.columns)} columns.",
        train_rows=train_rows,
        test_rows=test_rows,
        feature_mean=mean,
        feature_scale=scale,
    )
    return dataset, notes


def _clean_numbers(values: pd.Series, column: str) -> np.ndarray:
    numbers = _as_numbers(values)
    bad_text = values.notna() & numbers.isna()
    if bad_text.any():
        row = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise CsvError(
            f"Column {column!r} holds numbers but also text such as {str(values.iloc[row])!r} "
            f"(data row {row + 1}): fix those cells or delete the column."
        )
    _check_finite(numbers.to_numpy(), column)
    return numbers.to_numpy(np.float64)


def _check_finite(values: np.ndarray, column: str) -> None:
    missing = np.flatnonzero(~np.isfinite(values))
    if len(missing):
        kind = "infinite" if np.isinf(values[missing[0]]) else "empty or NaN"
        raise CsvError(
            f"Column {column!r} has {len(missing):,} {kind} value{'s' if len(missing) > 1 else ''} "
            f"(first in data row {missing[0] + 1}): fill them in or delete those rows."
        )


def _target(
    values: pd.Series, column: str, task: str, limits: CsvLimits
) -> tuple[np.ndarray, tuple[str, ...]]:
    if task == "regression":
        numbers = _as_numbers(values)
        if numbers is None:
            raise CsvError(
                f"The target {column!r} holds text, so it cannot be predicted by regression: "
                "choose classification or a numeric target."
            )
        _check_finite(numbers.to_numpy(np.float64), column)
        return numbers.to_numpy(np.float32), ()
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise CsvError(f"The target {column!r} is empty in data row {row + 1}: give every row a label.")
    labels = values.astype(str).str.strip()
    classes = sorted(labels.unique(), key=_label_order)
    if len(classes) < 2:
        raise CsvError(
            f"The target {column!r} has only one class ({classes[0]!r}): a classifier needs at "
            "least two. Choose another target."
        )
    if len(classes) > limits.max_classes:
        raise CsvError(
            f"The target {column!r} has {len(classes):,} different values; classification supports "
            f"at most {limits.max_classes}. Choose regression (if it holds numbers) or another target."
        )
    index = {label: k for k, label in enumerate(classes)}
    return labels.map(index).to_numpy(np.int64), tuple(classes)


def _label_order(label: str) -> tuple[int, float, str]:
    """Numbers in numeric order (2 before 10), then text alphabetically."""
    try:
        number = float(label)
        return (0, number, "") if math.isfinite(number) else (1, 0.0, label)
    except ValueError:
        return (1, 0.0, label)
