"""A user's own CSV file as a :class:`~nnviz.data.datasets.Dataset`, with a clear message for every bad input.

Everything a user uploads is checked here, before it reaches a model: size, encoding, shape,
column names, numbers, missing values and the target. Problems raise :class:`CsvError` with one
sentence that says what is wrong and how to fix it. Column names are data, never markup: the UI
shows them as plain text.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnviz.data.datasets import Dataset, split_rows, standardise
from nnviz.views.words import plural

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
        max_name_chars: longest column name.
    """

    max_bytes: int = 5_000_000
    max_rows: int = 100_000
    max_columns: int = 200
    max_classes: int = 50
    max_classes_inferred: int = 20
    max_name_chars: int = 200


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV: the table, the file name it came from and how it was read (notes for the user)."""

    frame: pd.DataFrame
    name: str
    digest: str  # identifies the content, so each upload gets its own workspace
    notes: tuple[str, ...] = ()


def read_csv(raw: bytes, *, name: str = "upload.csv", limits: CsvLimits | None = None) -> CsvTable:
    """Parse uploaded bytes into a table, or raise :class:`CsvError` saying what to fix.

    Also read: UTF-16 text with a byte-order mark, CR-only (old Mac) and CRLF line ends, blank lines
    before the header, and semicolon- or tab-separated files (with decimal commas); each is said so
    in the table's notes.
    """
    limits = limits or CsvLimits()
    if len(raw) > limits.max_bytes:
        raise CsvError(
            f"The file is {len(raw) / 1e6:.1f} MB; this server accepts CSV files up to "
            f"{limits.max_bytes / 1e6:.0f} MB. Upload fewer rows or columns."
        )
    text, notes = _decoded(raw)
    if "\x00" in text:
        raise CsvError(
            "The file contains NUL bytes, so it is not a UTF-8 text CSV (perhaps a spreadsheet file, "
            "or UTF-16 text without a byte-order mark): save it as 'CSV UTF-8' and upload that."
        )
    # One line end for both parsers: "\r" alone (old Mac files) would otherwise be one long line.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CsvError("The file is empty: upload a CSV with a header line and at least one row.")
    blank = re.match(r"(?:[ \t]*\n)+", text)
    if blank:
        text = text[blank.end() :]
        lines = blank.group().count("\n")
        notes.append(f"Skipped {lines} blank line{'s' if lines > 1 else ''} before the header.")
    separator = _separator(text)
    if separator != ",":
        notes.append(f"Read as {_SEPARATORS[separator]}-separated values.")
    _check_structure(text, separator, limits)
    try:
        # Every cell as text: numbers are parsed by _as_numbers, which tells "inf" written in a
        # cell from a number too large (a 400-digit integer), and keeps labels as written.
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, skipinitialspace=True, index_col=False, dtype=str
        )
    except (pd.errors.ParserError, ValueError, OverflowError, csv.Error) as err:
        raise CsvError(
            f"The file is not a regular table: {err}. Every line needs the same number of "
            f"{_SEPARATORS[separator]}s as the header."
        ) from None
    if frame.empty:
        raise CsvError("The file has a header but no data rows: add at least 10 rows.")
    if separator != "," and _read_decimal_commas(frame):
        notes.append("Numbers with a decimal comma (1,5) were read as 1.5.")
    return CsvTable(frame, name, hashlib.sha256(raw).hexdigest()[:12], tuple(notes))


_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}


_WIDE_ENCODINGS = (
    ("utf-32", (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)),
    ("utf-16", (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)),
)


def _decoded(raw: bytes) -> tuple[str, list[str]]:
    for encoding, marks in _WIDE_ENCODINGS:  # UTF-32 first: its little-endian mark starts as UTF-16's
        if raw.startswith(marks):
            try:
                return raw.decode(encoding), [f"Read as {encoding.upper()} text."]
            except UnicodeDecodeError:
                break  # not really that encoding: reported as not UTF-8 below
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        raise CsvError(
            f"The file is not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}). "
            "Save it again as 'CSV UTF-8' from your spreadsheet program."
        ) from None


def _separator(text: str) -> str:
    """The separator that splits the header line into the most fields (a comma when tied)."""
    first = text.split("\n", 1)[0]
    try:
        counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in _SEPARATORS}
    except csv.Error:
        return ","  # a header field over the csv module's limit: reported by _check_structure
    return max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))


def _check_structure(text: str, separator: str, limits: CsvLimits) -> None:
    """Header names, then the same number of fields on every line and a bounded number of rows,
    checked line by line before pandas builds anything."""
    reader = csv.reader(io.StringIO(text), delimiter=separator, skipinitialspace=True)
    rows = 0
    try:
        header = next(reader)
        _check_names(header, limits)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line, skipped as pandas skips it
            rows += 1
            if len(row) != len(header):
                raise CsvError(
                    f"Line {reader.line_num} has {len(row)} field{'s' if len(row) != 1 else ''} but "
                    f"the header has {len(header)}: every line needs the same number of "
                    f"{_SEPARATORS[separator]}s as the header (quote text that contains one)."
                )
            if rows > limits.max_rows:
                raise CsvError(
                    f"The file has more than {limits.max_rows:,} rows; this server accepts at most "
                    f"{limits.max_rows:,}. Upload a sample of the rows."
                )
    except csv.Error as err:
        where = "the header line" if reader.line_num <= 1 else f"line {reader.line_num}"
        if "field limit" in str(err):
            raise CsvError(
                f"A field in {where} is longer than {csv.field_size_limit():,} characters: "
                f"column names are at most {limits.max_name_chars} characters and cells hold one "
                "value each. Check for a missing closing quote, or shorten it."
            ) from None
        raise CsvError(f"The file is not a regular table ({err} in {where}): check its quotes.") from None


def _read_decimal_commas(frame: pd.DataFrame) -> bool:
    """Text columns that are numbers written with a decimal comma become numbers (in place)."""
    changed = False
    for column in frame.columns:
        text = frame[column].dropna()
        if text.str.contains(",", regex=False).any() and text.str.fullmatch(r"\s*[-+]?\d*,?\d+\s*").all():
            frame[column] = frame[column].str.replace(",", ".", regex=False)
            changed = True
    return changed


def _check_names(header: list[str], limits: CsvLimits) -> None:
    if len(header) > limits.max_columns:
        raise CsvError(
            f"The file has {len(header):,} columns; this server accepts at most "
            f"{limits.max_columns:,}. Keep the columns you need."
        )
    long = [k + 1 for k, column in enumerate(header) if len(column) > limits.max_name_chars]
    if long:
        raise CsvError(
            f"Column {long[0]}'s name is {len(header[long[0] - 1]):,} characters long; names are at "
            f"most {limits.max_name_chars}: shorten it in the header line."
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
    present = values.notna()
    if not present.any():
        return None  # no value at all: nothing to learn from (csv_dataset names it)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(np.float64)
    # As text first: pandas keeps integers beyond int64 (a 400-digit cell) as Python ints, which
    # to_numeric cannot convert; as text they become ±inf, reported as out of range.
    text = values.map(str, na_action="ignore")
    parsed = pd.to_numeric(text, errors="coerce")
    # Numbers pandas gives up on (over 4,300 digits) are still numbers to float(); short text is not.
    unparsed = values.notna() & parsed.isna() & (text.str.len() > 300)
    if unparsed.any():
        parsed[unparsed] = text[unparsed].map(_float_or_nan)
    if parsed[present].notna().mean() >= 0.5:
        return parsed  # mostly numbers: the cells that are not are mistakes, reported by the caller
    return None


def _float_or_nan(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


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
        raise CsvError(
            f"The file has {plural(len(frame), 'row')}; a network needs at least 10 to train and test on."
        )
    task = infer_task(table, target, limits=limits) if task == "infer" else task
    numbers, texts = numeric_columns(table)
    features = [column for column in numbers if column != target]
    notes = list(table.notes)
    left_out = [column for column in texts if column != target]
    empty = [column for column in left_out if frame[column].isna().all()]
    for kind, columns in (
        ("no values at all", empty),
        ("text, not numbers", [c for c in left_out if c not in empty]),
    ):
        if columns:
            notes.append(
                f"Left out {plural(len(columns), 'column')} that hold{'s' if len(columns) == 1 else ''} "
                f"{kind}: {', '.join(repr(c) for c in columns)}."
            )
    if not features:
        raise CsvError("No column besides the target holds numbers: a network needs numeric inputs.")
    X = np.column_stack([_clean_numbers(frame[column], column) for column in features])
    y, class_names = _target(frame[target], target, task, limits)
    unstratified = _why_not_stratified(y, class_names, test_size) if class_names else None
    X_train, X_test, y_train, y_test, train_rows, test_rows = split_rows(
        X,
        y,
        test_size=test_size,
        random_state=random_state,
        stratify=bool(class_names) and not unstratified,
        rows=True,
    )
    if unstratified:
        unseen = [repr(name) for k, name in enumerate(class_names) if not np.any(y_train == k)]
        notes.append(unstratified + (f" Not among the training rows: {', '.join(unseen)}." if unseen else ""))
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


def _why_not_stratified(y: np.ndarray, class_names: tuple[str, ...], test_size: float) -> str | None:
    """Why a split keeping every class's share on both sides is impossible (as scikit-learn's
    ``train_test_split`` counts rows), or None when it is possible."""
    counts = np.bincount(y, minlength=len(class_names))
    n_test = math.ceil(test_size * len(y))
    fallback = "so the rows were split at random, not class by class."
    if counts.min() < 2:
        small = class_names[int(counts.argmin())]
        return (
            f"Class {small!r} has only {counts.min()} row: too few for both the training and the test "
            f"rows, {fallback} Add rows of that class for a fair test."
        )
    if n_test < len(class_names) or len(y) - n_test < len(class_names):
        return (
            f"The {n_test} test rows cannot hold one row of each of the {len(class_names)} classes, "
            f"{fallback} Add rows, or choose a target with fewer classes."
        )
    return None


def _clean_numbers(values: pd.Series, column: str) -> np.ndarray:
    """The column as float64, or :class:`CsvError` naming the first cell that is text, missing,
    infinite or beyond float32 (the precision the network computes in)."""
    numbers = _as_numbers(values)
    bad_text = values.notna() & numbers.isna()
    if bad_text.any():
        row = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise CsvError(
            f"Column {column!r} holds numbers but also text such as {_shown(values.iloc[row])} "
            f"(data row {row + 1}): fix those cells or delete the column."
        )
    array = numbers.to_numpy(np.float64)
    missing = np.flatnonzero(np.isnan(array))
    if len(missing):
        raise CsvError(
            f"Column {column!r} has {plural(len(missing), 'empty or NaN value')} "
            f"(first in data row {missing[0] + 1}): fill them in or delete those rows."
        )
    written_inf = np.isinf(array) & values.map(_is_inf_text).to_numpy(bool)
    if written_inf.any():
        rows = np.flatnonzero(written_inf)
        raise CsvError(
            f"Column {column!r} has {plural(len(rows), 'infinite value')} "
            f"(first in data row {rows[0] + 1}): fill them in or delete those rows."
        )
    huge = np.flatnonzero(~(np.abs(array) <= _FLOAT32_MAX))
    if len(huge):
        raise CsvError(
            f"Column {column!r} holds {_shown(values.iloc[huge[0]])} in data row {huge[0] + 1} "
            f"({len(huge):,} such value{'s' if len(huge) > 1 else ''}), beyond float32's range "
            "(±3.4e38) in which the network computes: rescale the column (divide it by a power of "
            "ten, or take its logarithm) or delete those rows."
        )
    return array


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _is_inf_text(cell: object) -> bool:
    return isinstance(cell, (str, float)) and str(cell).strip().lstrip("+-").lower() in ("inf", "infinity")


def _shown(cell: object) -> str:
    """A cell as the message quotes it: long ones cut, with their length."""
    text = str(cell)
    return repr(text) if len(text) <= 24 else f"{text[:12]!r}… ({len(text):,} characters)"


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
        return _clean_numbers(values, column).astype(np.float32), ()
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
