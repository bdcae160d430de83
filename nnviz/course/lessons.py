"""Lessons are data: one TOML file each in ``lessons/``, read and checked here.

A lesson is a title, a language, an optional course example (a setup in link notation, the same one the
Share box gives) and a list of steps. A step has a few sentences (Markdown), optionally a setup to put
the app in, a page to go to, a task, something worked out by hand beside Keras (``show``) and a question
whose answer the app checks. A lecturer writes one in their own language without touching Python::

    title = "Your first network"
    language = "en"

    [[steps]]
    text = "Iris: 4 measurements in, 3 species out."
    setup = "dataset=iris&layers=Dense_5_relu~Dense_3_softmax&loss=sparse_categorical_crossentropy"
    page = "build"

    [steps.question]
    text = "How many parameters does the network have?"
    check = "parameters"
    hint = "Each Dense layer has inputs × units weights and one bias per unit."

Every file is checked on load. A file with a problem is left out, and each problem is named (file, step,
field, what is allowed), so a lecturer can fix it from the message alone.
"""

from __future__ import annotations

import math
import os
import tomllib
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nnviz.model.sharelink import LESSON_NAME, from_query
from nnviz.model.spec import shown

BUILT_IN_DIR = Path(__file__).resolve().parents[2] / "lessons"
EXTRA_DIRS_ENV = "NNVIZ_LESSONS"  # more folders of lessons, separated by os.pathsep
MAX_FILE_BYTES = 64_000
MAX_FILES = 200  # per folder
MAX_STEPS = 40
MAX_TEXT = 6_000  # characters in one text field
MAX_VALUES = 400  # numbers in one list (a drawn digit has 784; lessons need a few dozen)

PAGES = ("data", "build", "train", "evaluate", "inspect")
CHECKS = {
    "parameters": "the number of parameters of the network on the Build page",
    "predicted_class": "the class the trained network predicts for the question's input",
    "loss_went_down": "whether the training loss went down from the first epoch to the last",
    "misclassified_test_row": "any test row the trained network gets wrong",
    "test_accuracy": "the trained network's accuracy on the test rows, in %",
}
KINDS = ("number", "choice", "yes_no")
SHOWS = {
    "neuron": ("inputs", "weights", "bias", "activation"),
    "softmax": ("logits",),
    "cross_entropy": ("logits", "labels"),
    "predictions": ("inputs",),
}
NEURON_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
# The setup may not move the lesson itself.
_NOT_IN_SETUP = ("lesson", "step")


@dataclass(frozen=True)
class Question:
    """A question whose answer the app checks.

    Args:
        text: the question (Markdown).
        kind: ``"number"``, ``"choice"`` (one of ``choices``) or ``"yes_no"``.
        answer: the fixed answer (a number, a choice, or True/False), or None when ``check`` gives it.
        check: a key of :data:`CHECKS`: the answer is read from the app's state when the student checks.
        tolerance: how far a number may be from the answer and still count.
        choices: the options of a ``"choice"`` question (for ``predicted_class``: the class names).
        input: the input of a ``predicted_class`` question, in the data's own units.
        hint: shown on request and after a wrong answer.
        explain: shown after a right answer.
    """

    text: str
    kind: str = "number"
    answer: float | str | bool | None = None
    check: str | None = None
    tolerance: float = 0.0
    choices: tuple[str, ...] = ()
    input: tuple[float, ...] = ()
    hint: str = ""
    explain: str = ""


@dataclass(frozen=True)
class Show:
    """Something worked out by hand, numpy beside Keras: ``kind`` is a key of :data:`SHOWS`, ``values``
    its numbers (``inputs``, ``weights``, ``bias``, ``logits``, ``labels``) and ``activation``."""

    kind: str
    values: Mapping[str, object]


@dataclass(frozen=True)
class Step:
    """One step of a lesson (see the module's docstring); every field but ``text`` is optional."""

    text: str
    setup: str = ""
    page: str = ""
    task: str = ""
    show: Show | None = None
    question: Question | None = None


@dataclass(frozen=True)
class Lesson:
    """A lesson read from ``path``; ``name`` is the file's name without ``.toml``.

    Args:
        order: its place in the list (then the name).
        setup: the course example it is about, in link notation (empty: none).
        translation_of: the name of the lesson this one translates (empty: none).
        words: the page's own words in the lesson's language, over the built-in ones.
    """

    name: str
    path: Path
    title: str
    language: str
    summary: str
    steps: tuple[Step, ...]
    order: int = 100
    setup: str = ""
    translation_of: str = ""
    words: Mapping[str, str] = field(default_factory=dict)


def shown_path(path: Path) -> str:
    """A lesson file as the page names it: its folder and its name (not where the server keeps it)."""
    return f"{path.parent.name}/{path.name}"


class LessonError(ValueError):
    """A lesson file that cannot be used; ``problems`` says what to change, one message each."""

    def __init__(self, path: Path, problems: list[str]):
        super().__init__(f"{path.name}: " + "; ".join(problems))
        self.path, self.problems = path, problems


def setup_settings(setup: str) -> tuple[dict[str, object], list[str]]:
    """A setup in link notation (``dataset=iris&epochs=20``, or a whole shared link) as settings, and
    what in it cannot be used (see :func:`nnviz.model.sharelink.from_query`)."""
    query = urllib.parse.urlsplit(setup).query if "?" in setup else setup
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    problems = [
        f"the setup's {name}= is for links only; remove it." for name, _ in pairs if name in _NOT_IN_SETUP
    ]
    known = {name for name, _ in pairs}
    settings, link_problems = from_query(dict(pairs))
    unknown = sorted(known - _SETUP_NAMES - set(_NOT_IN_SETUP))
    if unknown:
        problems.append(f"the setup has no {', '.join(unknown)}; use {', '.join(sorted(_SETUP_NAMES))}.")
    if len({name for name, _ in pairs}) != len(pairs):
        problems.append("the setup names a setting twice; keep one.")
    return settings, problems + [problem.replace("The link's", "the setup's") for problem in link_problems]


_SETUP_NAMES = frozenset(
    (
        "dataset",
        "seed",
        "points",
        "noise",
        "epochs",
        "batch",
        "val",
        "layers",
        "loss",
        "optimizer",
        "lr",
        "present",
        "api",
    )
)


def read_lesson(path: Path) -> Lesson:
    """Read and check one lesson file.

    Raises:
        LessonError: naming every problem (too large, not UTF-8, not TOML, unknown keys, wrong types,
            values outside what the app offers).
    """
    name = path.name.removesuffix(".toml")
    problems: list[str] = []
    if not LESSON_NAME.fullmatch(name):
        problems.append(
            "the file's name must be lower-case letters, digits, - and _ (e.g. 01-iris.toml): it is the "
            "lesson's name in links"
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LessonError(
                path, problems + [f"it is {size:,} bytes; a lesson file takes at most {MAX_FILE_BYTES:,}"]
            )
        data = tomllib.loads(
            path.read_bytes().decode("utf-8-sig")
        )  # a BOM, as Windows editors write, is fine
    except UnicodeDecodeError as err:
        raise LessonError(
            path, problems + [f"it is not UTF-8 text (byte {err.start}); save it as UTF-8"]
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise LessonError(path, problems + [f"it is not valid TOML: {err}"]) from err
    except RecursionError as err:  # tomllib reads nested lists and tables recursively
        raise LessonError(
            path, problems + ["it nests lists or tables too deeply to read; flatten them"]
        ) from err
    except OSError as err:
        raise LessonError(path, problems + [f"it cannot be read ({err.strerror})"]) from err
    reader = _Reader(problems)
    reader.keys(
        data, "", {"title", "language", "summary", "order", "setup", "translation_of", "words", "steps"}
    )
    title = reader.text(data, "title", required=True, limit=200)
    language = reader.text(data, "language", required=True, limit=20)
    if language and not (language.replace("-", "").isalnum() and language.isascii()):
        problems.append(f"language={shown(language)} should be a language code such as en, nl or de")
    setup = reader.setup(data, "setup")
    translation_of = reader.text(data, "translation_of", limit=64)
    if translation_of and not LESSON_NAME.fullmatch(translation_of):
        problems.append(
            f"translation_of={shown(translation_of)} should be another lesson's file name without .toml"
        )
    words = data.get("words", {})
    if not (isinstance(words, dict) and all(isinstance(v, str) and len(v) <= 200 for v in words.values())):
        problems.append('words should be a table of short texts, e.g. [words] check = "Controleer"')
        words = {}
    else:
        reader.keys(words, "words.", set(WORDS["en"]))
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(step, dict) for step in steps):
        problems.append("steps should be one or more [[steps]] tables")
        steps = []
    elif len(steps) > MAX_STEPS:
        problems.append(f"it has {len(steps)} steps; a lesson takes at most {MAX_STEPS}: split it in two")
        steps = []
    parsed = tuple(_step(reader.at(f"step {k}: "), step) for k, step in enumerate(steps, start=1))
    order = data.get("order", 100)
    if type(order) is not int or not 0 <= order <= 10_000:
        problems.append(f"order={shown(order)} should be a whole number from 0 to 10000")
        order = 100
    if problems:
        raise LessonError(path, problems)
    return Lesson(
        name=name,
        path=path,
        title=title,
        language=language,
        summary=reader.text(data, "summary", limit=MAX_TEXT),
        steps=parsed,
        order=order,
        setup=setup,
        translation_of=translation_of,
        words={key: value for key, value in words.items() if key in WORDS["en"]},
    )


class _Reader:
    """Reads typed fields of one table, adding a message (with ``prefix``: where) for each problem."""

    def __init__(self, problems: list[str], prefix: str = ""):
        self.problems, self.prefix = problems, prefix

    def at(self, prefix: str) -> _Reader:
        return _Reader(self.problems, prefix)

    def problem(self, message: str) -> None:
        self.problems.append(self.prefix + message)

    def keys(self, table: dict, path: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.problem(
                f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(path + shown(k, 30) for k in unknown)}; "
                f"use {', '.join(sorted(allowed))}"
            )

    def text(self, table: dict, key: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.problem(f'{key} is missing; add {key} = "…"')
            return ""
        if not isinstance(value, str):
            self.problem(f"{key} should be text in quotes, got {shown(value)}")
            return ""
        if len(value) > limit:
            self.problem(f"{key} is {len(value):,} characters long; at most {limit:,}")
            return ""
        if required and not value.strip():
            self.problem(f"{key} is empty")
        return value

    def choice(self, table: dict, key: str, allowed: Iterable[str]) -> str:
        value, allowed = table.get(key), tuple(allowed)
        if value is not None and value not in allowed:
            self.problem(f"{key}={shown(value)} is unknown; use one of {', '.join(allowed)}")
            return ""
        return value or ""

    def number(self, table: dict, key: str, *, low: float = -1e9, high: float = 1e9) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.problem(f"{key} should be a number, got {shown(value)}")
            return None
        if not low <= value <= high:
            self.problem(f"{key}={shown(value)} should be from {low:g} to {high:g}")
            return None
        return float(value)

    def numbers(self, table: dict, key: str, *, rows: bool = False) -> tuple | None:
        """A list of numbers, or with ``rows`` a list of equally long lists of numbers."""
        value = table.get(key)
        if value is None:
            self.problem(f"{key} is missing")
            return None
        lists = value if rows else [value]
        flat = [v for row in lists if isinstance(row, list) for v in row]
        fine = (
            isinstance(value, list)
            and value
            and all(isinstance(row, list) and row for row in lists)
            and len({len(row) for row in lists}) == 1
            and len(flat) <= MAX_VALUES
            and all(
                not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) for v in flat
            )
            and all(abs(v) <= 1e6 for v in flat)
        )
        if not fine:
            what = "a list of equally long lists of numbers" if rows else "a list of numbers"
            self.problem(
                f"{key} should be {what} (at most {MAX_VALUES} in all, each within ±1e6), got {shown(value)}"
            )
            return None
        return (
            tuple(tuple(float(v) for v in row) for row in lists) if rows else tuple(float(v) for v in value)
        )

    def setup(self, table: dict, key: str) -> str:
        setup = self.text(table, key, limit=4_000)
        if setup:
            _, problems = setup_settings(setup)
            for problem in problems:
                self.problem(f"{key}: {problem}")
        return setup


def _step(reader: _Reader, data: dict) -> Step:
    reader.keys(data, "", {"text", "setup", "page", "task", "show", "question"})
    show = data.get("show")
    question = data.get("question")
    if show is not None and not isinstance(show, dict):
        reader.problem('show should be a table: [steps.show] kind = "softmax" …')
        show = None
    if question is not None and not isinstance(question, dict):
        reader.problem('question should be a table: [steps.question] text = "…" …')
        question = None
    return Step(
        text=reader.text(data, "text", required=True),
        setup=reader.setup(data, "setup"),
        page=reader.choice(data, "page", PAGES),
        task=reader.text(data, "task"),
        show=_show(reader.at(reader.prefix + "show: "), show) if show is not None else None,
        question=_question(reader.at(reader.prefix + "question: "), question)
        if question is not None
        else None,
    )


def _show(reader: _Reader, data: dict) -> Show | None:
    kind = reader.choice(data, "kind", SHOWS)
    if not kind:
        if "kind" not in data:
            reader.problem(f"kind is missing; use one of {', '.join(SHOWS)}")
        return None
    reader.keys(data, "", {"kind", *SHOWS[kind]})
    values: dict[str, object] = {}
    if kind == "neuron":
        values["inputs"] = reader.numbers(data, "inputs")
        values["weights"] = reader.numbers(data, "weights")
        values["bias"] = reader.number(data, "bias", low=-1e6, high=1e6) or 0.0
        values["activation"] = reader.choice(data, "activation", NEURON_ACTIVATIONS) or "relu"
        if values["inputs"] and values["weights"] and len(values["inputs"]) != len(values["weights"]):
            reader.problem("inputs and weights should be equally long: one weight per input")
    elif kind == "softmax":
        values["logits"] = reader.numbers(data, "logits")
    elif kind == "cross_entropy":
        logits, labels = reader.numbers(data, "logits", rows=True), reader.numbers(data, "labels")
        values["logits"], values["labels"] = logits, labels
        if logits and labels:
            classes = len(logits[0])
            if len(labels) != len(logits):
                reader.problem(
                    f"labels has {len(labels)} values for {len(logits)} rows of logits: one per row"
                )
            elif not all(v.is_integer() and 0 <= v < classes for v in labels):
                reader.problem(
                    f"labels should be class numbers from 0 to {classes - 1}, got {shown(list(labels))}"
                )
    else:
        values["inputs"] = reader.numbers(data, "inputs", rows=True)
    return Show(kind, values)


def _question(reader: _Reader, data: dict) -> Question | None:
    reader.keys(
        data, "", {"text", "kind", "answer", "check", "tolerance", "choices", "input", "hint", "explain"}
    )
    text = reader.text(data, "text", required=True)
    kind = reader.choice(data, "kind", KINDS) or "number"
    check = reader.choice(data, "check", CHECKS) or None
    answer = data.get("answer")
    if (answer is None) == (check is None):
        reader.problem(
            "give either answer (the right answer) or check (the app reads it: "
            f"{', '.join(CHECKS)}), not both"
        )
    if check:
        implied = {"predicted_class": "choice", "loss_went_down": "yes_no"}.get(check, "number")
        if "kind" in data and kind != implied:
            reader.problem(
                f"check = {check!r} is a {implied} question: remove kind or write kind = {implied!r}"
            )
        kind = implied
    choices = data.get("choices", [])
    if not (
        isinstance(choices, list)
        and len(choices) <= 20
        and all(isinstance(c, str) and 0 < len(c) <= 200 for c in choices)
    ):
        reader.problem(f"choices should be a list of up to 20 short texts, got {shown(choices)}")
        choices = []
    if answer is not None:
        if kind == "number" and (
            isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer)
        ):
            reader.problem(f"answer={shown(answer)} should be a number for a number question")
        elif kind == "yes_no" and not isinstance(answer, bool):
            reader.problem(f"answer={shown(answer)} should be true or false for a yes_no question")
        elif kind == "choice" and answer not in choices:
            reader.problem(f"answer={shown(answer)} should be one of the choices {shown(choices, 80)}")
    if kind == "choice" and check is None and len(choices) < 2:
        reader.problem("a choice question needs at least two choices")
    tolerance = reader.number(data, "tolerance", low=0, high=1e6)
    if tolerance is None:
        tolerance = 1.0 if check == "test_accuracy" else 0.0
    question_input: tuple = ()
    if check == "predicted_class":
        question_input = reader.numbers(data, "input") or ()
    elif "input" in data:
        reader.problem('input is only for check = "predicted_class"')
    return Question(
        text=text,
        kind=kind,
        answer=float(answer)
        if kind == "number" and isinstance(answer, (int, float)) and not isinstance(answer, bool)
        else answer,
        check=check,
        tolerance=tolerance,
        choices=tuple(choices),
        input=question_input,
        hint=reader.text(data, "hint"),
        explain=reader.text(data, "explain"),
    )


def expected_settings(lesson: Lesson, number: int) -> dict[str, object]:
    """The settings step ``number`` (from 1) of ``lesson`` expects: the lesson's course example, then
    the setup of each step up to this one, later ones winning."""
    settings: dict[str, object] = {}
    for setup in (lesson.setup, *(step.setup for step in lesson.steps[:number])):
        if setup:
            settings |= setup_settings(setup)[0]
    return settings


def lesson_dirs(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Where lessons are read from: the built-in ``lessons/``, then each folder in ``NNVIZ_LESSONS``."""
    extra = [Path(part) for part in environ.get(EXTRA_DIRS_ENV, "").split(os.pathsep) if part.strip()]
    return [BUILT_IN_DIR, *extra]


def lesson_files(dirs: Iterable[Path]) -> list[Path]:
    """The ``.toml`` files of each folder (not its subfolders), at most :data:`MAX_FILES` per folder."""
    files = []
    for folder in dirs:
        try:
            found = sorted(path for path in folder.iterdir() if path.suffix == ".toml" and path.is_file())
        except OSError:
            continue
        files += found[:MAX_FILES]
    return files


def read_lessons(files: Iterable[Path]) -> tuple[list[Lesson], list[LessonError]]:
    """The lessons that read cleanly, in order, and an error for each file that did not (a lesson whose
    name is taken by an earlier file is one)."""
    lessons: dict[str, Lesson] = {}
    errors = []
    for path in files:
        try:
            lesson = read_lesson(path)
        except LessonError as err:
            errors.append(err)
            continue
        if lesson.name in lessons:
            errors.append(
                LessonError(
                    path,
                    [
                        f"{shown_path(lessons[lesson.name].path)} already has the name {lesson.name}; rename one"
                    ],
                )
            )
            continue
        lessons[lesson.name] = lesson
    return sorted(lessons.values(), key=lambda lesson: (lesson.order, lesson.name)), errors


# The Lessons page's own words, per language; a lesson's [words] table overrides them.
WORDS = {
    "en": {
        "language": "English",
        "start": "Start",
        "continue": "Continue",
        "open_example": "Open the course example",
        "progress": "{steps} steps · {right} of {questions} questions answered",
        "step": "Step",
        "of": "of",
        "previous": "Previous step",
        "next": "Next step",
        "all_lessons": "All lessons",
        "set_up": "Set up the app for this step",
        "set_up_done": "The app is set up for this step.",
        "go_to": "Go to",
        "your_answer": "Your answer",
        "check": "Check",
        "hint": "Hint",
        "correct": "Right!",
        "wrong": "Not quite. Look again, or open the hint.",
        "still_training": "Training is running: check again when it is done.",
        "needs_training": "Train the network first (the Train page), then check again.",
        "yes": "yes",
        "no": "no",
        "done": "Lesson complete: every question answered.",
    },
    "nl": {
        "language": "Nederlands",
        "start": "Begin",
        "continue": "Verder",
        "open_example": "Open het cursusvoorbeeld",
        "progress": "{steps} stappen · {right} van {questions} vragen beantwoord",
        "step": "Stap",
        "of": "van",
        "previous": "Vorige stap",
        "next": "Volgende stap",
        "all_lessons": "Alle lessen",
        "set_up": "Zet de app klaar voor deze stap",
        "set_up_done": "De app staat klaar voor deze stap.",
        "go_to": "Ga naar",
        "your_answer": "Jouw antwoord",
        "check": "Controleer",
        "hint": "Hint",
        "correct": "Goed zo!",
        "wrong": "Nog niet helemaal. Kijk nog eens, of open de hint.",
        "still_training": "Het netwerk traint nog: controleer opnieuw als het klaar is.",
        "needs_training": "Train eerst het netwerk (de pagina Train) en controleer dan opnieuw.",
        "yes": "ja",
        "no": "nee",
        "done": "Les af: alle vragen beantwoord.",
    },
    "de": {
        "language": "Deutsch",
        "start": "Starten",
        "continue": "Weiter",
        "open_example": "Kursbeispiel öffnen",
        "progress": "{steps} Schritte · {right} von {questions} Fragen beantwortet",
        "step": "Schritt",
        "of": "von",
        "previous": "Vorheriger Schritt",
        "next": "Nächster Schritt",
        "all_lessons": "Alle Lektionen",
        "set_up": "Die App für diesen Schritt einrichten",
        "set_up_done": "Die App ist für diesen Schritt eingerichtet.",
        "go_to": "Weiter zu",
        "your_answer": "Deine Antwort",
        "check": "Prüfen",
        "hint": "Hinweis",
        "correct": "Richtig!",
        "wrong": "Noch nicht ganz. Schau noch einmal, oder öffne den Hinweis.",
        "still_training": "Das Netz trainiert noch: prüfe noch einmal, wenn es fertig ist.",
        "needs_training": "Trainiere zuerst das Netz (Seite Train) und prüfe dann noch einmal.",
        "yes": "ja",
        "no": "nein",
        "done": "Lektion geschafft: alle Fragen beantwortet.",
    },
}


def filled(text: str, **values: object) -> str:
    """``text`` with each ``{name}`` replaced by its value; other braces (a lesson's own words may have
    any) are left as they are."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def words(lesson: Lesson) -> dict[str, str]:
    """The page's words for ``lesson``: its language's (English for a language without a table), then
    the lesson's own ``[words]``."""
    return WORDS["en"] | WORDS.get(lesson.language, {}) | dict(lesson.words)
