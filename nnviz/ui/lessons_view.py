"""The Lessons page: the list of lessons and course examples, and one lesson step by step.

The lesson open and its step are in the address (``?lesson=01-iris&step=3``, :mod:`nnviz.ui.sharing`);
the answers given are in the session (kept across a reload with the trained models, :mod:`nnviz.ui.persist`).
Opening a step that has a setup puts the app in it through the same path as a shared link.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from nnviz.course.answers import AppState, NotReady, is_right
from nnviz.course.lessons import (
    WORDS,
    Lesson,
    LessonError,
    Question,
    Show,
    expected_settings,
    filled,
    lesson_dirs,
    lesson_files,
    read_lessons,
    setup_settings,
    shown_path,
    words,
)
from nnviz.model.spec import check_spec, count_params
from nnviz.ui import state
from nnviz.ui.sharing import apply_settings
from nnviz.ui.sharing import setup_settings as current_settings
from nnviz.ui.text import plain
from nnviz.ui.widgets import bound, state_widget
from nnviz.views.words import plural

PAGE_FILES = {
    "data": ("pages/data.py", "1 · Data", ":material/table_chart:"),
    "build": ("pages/build.py", "2 · Build", ":material/layers:"),
    "train": ("pages/train.py", "3 · Train", ":material/model_training:"),
    "evaluate": ("pages/evaluate.py", "4 · Evaluate", ":material/fact_check:"),
    "inspect": ("pages/inspect.py", "5 · Inspect", ":material/biotech:"),
}


@st.cache_resource(max_entries=4, show_spinner=False)
def _read(signature: tuple[tuple[str, int, int], ...]) -> tuple[list[Lesson], list[LessonError]]:
    return read_lessons(Path(path) for path, _, _ in signature)


def lesson_library() -> tuple[list[Lesson], list[LessonError]]:
    """The lessons on this server, read once per change of their files (a new file shows without a restart)."""
    signature = []
    for path in lesson_files(lesson_dirs()):
        try:
            status = path.stat()
        except OSError:
            continue
        signature.append((str(path), status.st_mtime_ns, status.st_size))
    return _read(tuple(signature))


def _answers() -> dict:
    return st.session_state[state.LESSON_ANSWERS]


def _answer_key(lesson: Lesson, number: int) -> str:
    return f"{lesson.name}/{number}"


def answered(lesson: Lesson) -> tuple[int, int]:
    """How many of the lesson's questions were answered right, of how many."""
    keys = [_answer_key(lesson, k) for k, step in enumerate(lesson.steps, 1) if step.question]
    return sum(bool(_answers().get(key, {}).get("right")) for key in keys), len(keys)


def open_step(lesson: Lesson, number: int, *, whole: bool = False) -> None:
    """Go to step ``number`` (from 1) of ``lesson`` and set the app up as the step says; with ``whole``,
    as the lesson's example and every step up to this one say (what a student changed on the way
    as a task is otherwise kept)."""
    session = st.session_state
    session[state.LESSON], session[state.LESSON_STEP] = lesson.name, number
    step = lesson.steps[number - 1]
    if whole:
        apply_settings(expected_settings(lesson, number))
    elif step.setup:
        apply_settings(setup_settings(step.setup)[0])


def resume_at(lesson: Lesson) -> int:
    """Where a student continues ``lesson``: the first step whose question is not answered right yet."""
    for number, step in enumerate(lesson.steps, 1):
        if step.question and not _answers().get(_answer_key(lesson, number), {}).get("right"):
            return number
    return 1


def close_lesson() -> None:
    st.session_state[state.LESSON] = None
    st.session_state[state.LESSON_STEP] = 1


def open_example(lesson: Lesson) -> None:
    """Put the app in the lesson's course example and open the Build page (a callback)."""
    apply_settings(setup_settings(lesson.setup)[0])
    _ask(_GO_TO, "pages/build.py")


# What a click asked for, done by the run it starts: Streamlit runs a button's callback before the
# script, and a page switch or a check that may wait in the training queue belongs in the script.
_CHECKING = "lessons.checking"  # the answer key whose Check was pressed
_GO_TO = "lessons.go_to"  # the page a button asked to open


def _ask(what: str, value: str) -> None:
    st.session_state[what] = value


def follow_requested_page() -> None:
    """Open the page a button of the Lessons page asked for; call it first on that page."""
    page = st.session_state.pop(_GO_TO, None)
    if page:
        st.switch_page(page)


def _language_name(code: str) -> str:
    return WORDS.get(code, {}).get("language", code)


def lesson_list(lessons: list[Lesson], errors: list[LessonError]) -> None:
    """Every lesson (in the chosen language where it has a version in it) and the course examples."""
    languages = sorted({lesson.language for lesson in lessons}, key=lambda code: (code != "en", code))
    shown = lessons
    if len(languages) > 1:
        if st.session_state[state.LESSON_LANGUAGE] not in languages:
            browser = (st.context.locale or "en").split("-")[0].lower()
            st.session_state[state.LESSON_LANGUAGE] = browser if browser in languages else languages[0]
        state_widget(
            st.segmented_control,
            "Language",
            state.LESSON_LANGUAGE,
            options=languages,
            format_func=_language_name,
        )
        shown = _in_language(lessons, st.session_state[state.LESSON_LANGUAGE] or languages[0])
    for lesson in shown:
        right, questions = answered(lesson)
        said = words(lesson)
        with st.container(border=True):
            st.markdown(f"**{plain(lesson.title)}**")
            if lesson.summary:
                st.caption(plain(lesson.summary))
            started = any(_answers().get(_answer_key(lesson, k)) for k in range(1, len(lesson.steps) + 1))
            with st.container(horizontal=True, vertical_alignment="center"):
                st.button(
                    said["continue"] if started else said["start"],
                    key=f"lessons.start.{lesson.name}",
                    icon=":material/play_arrow:",
                    type="primary",
                    on_click=open_step,
                    args=(lesson, resume_at(lesson) if started else 1),
                    kwargs={"whole": True},
                )
                if lesson.setup:
                    st.button(
                        said["open_example"], key=f"lessons.example.{lesson.name}",
                        icon=":material/open_in_new:", on_click=open_example, args=(lesson,),
                    )  # fmt: skip
                st.caption(
                    plain(filled(said["progress"], steps=len(lesson.steps), right=right, questions=questions))
                    + ("" if lesson.language == "en" else f" · {_language_name(lesson.language)}")
                )
    if errors:
        with st.expander(
            f"{plural(len(errors), 'lesson file')} could not be read", icon=":material/warning:"
        ):
            st.caption("Fix what each message says and reload the page; the other lessons work meanwhile.")
            for error in errors:
                st.error(
                    plain(f"{shown_path(error.path)}: " + "; ".join(error.problems)), icon=":material/error:"
                )


def _in_language(lessons: list[Lesson], language: str) -> list[Lesson]:
    """One version of each lesson: in ``language`` where there is one, else the original."""
    translated = {lesson.translation_of for lesson in lessons if lesson.language == language}
    return [
        lesson
        for lesson in lessons
        if lesson.language == language or (not lesson.translation_of and lesson.name not in translated)
    ]


def lesson_view(lesson: Lesson, app: AppState, dataset_key: str) -> None:
    """One step of ``lesson``: its text, its setup, its page and task, the sum by hand, the question."""
    session, said = st.session_state, words(lesson)
    number = min(max(session[state.LESSON_STEP], 1), len(lesson.steps))
    step = lesson.steps[number - 1]
    st.button(said["all_lessons"], icon=":material/arrow_back:", key="lesson.close", on_click=close_lesson)
    st.header(plain(lesson.title))
    progress = st.empty()  # filled in last: a check below may have just added a right answer
    st.markdown(step.text)
    _setup_status(lesson, number, said)
    if step.page:
        path, label, icon = PAGE_FILES[step.page]
        st.page_link(path, label=f"{said['go_to']} {label}", icon=icon)
    if step.task:
        st.info(step.task, icon=":material/task_alt:")
    if step.show:
        show_worked(step.show, key=f"lesson.{lesson.name}.{number}", app=app, dataset_key=dataset_key)
    if step.question:
        question_box(step.question, key=_answer_key(lesson, number), said=said, app=app)
    right, questions = answered(lesson)
    progress.progress(
        number / len(lesson.steps),
        text=f"{said['step']} {number} {said['of']} {len(lesson.steps)} · ✓ {right}/{questions}",
    )
    if right == questions and questions:
        st.success(said["done"], icon=":material/school:")
    previous_col, next_col = st.columns(2)
    previous_col.button(
        said["previous"], icon=":material/chevron_left:", key="lesson.previous", disabled=number == 1,
        on_click=open_step, args=(lesson, number - 1), use_container_width=True,
    )  # fmt: skip
    next_col.button(
        said["next"], icon=":material/chevron_right:", key="lesson.next", disabled=number == len(lesson.steps),
        on_click=open_step, args=(lesson, number + 1), type="primary", use_container_width=True,
    )  # fmt: skip


def _setup_status(lesson: Lesson, number: int, said: dict[str, str]) -> None:
    """Whether the app is set up as the step expects (:func:`expected_settings`), and a button to set
    it up so when it is not (a link to a later step, a change made on another page)."""
    wanted = expected_settings(lesson, number)
    if not wanted:
        return
    current = current_settings()
    if all(current.get(key) == value for key, value in wanted.items()):
        st.caption(f":material/check: {said['set_up_done']}")
    else:
        st.button(
            said["set_up"], icon=":material/settings_backup_restore:", key="lesson.setup",
            on_click=open_step, args=(lesson, number), kwargs={"whole": True},
        )  # fmt: skip


def question_box(question: Question, *, key: str, said: dict[str, str], app: AppState) -> None:
    """The question, a widget for the answer, Check, and what the check found (kept per lesson step)."""
    with st.container(border=True):
        st.markdown(f"**{question.text}**")
        given = _answer_widget(question, key=f"lesson.answer.{key}", said=said, app=app)
        st.button(
            said["check"], key=f"lesson.check.{key}", icon=":material/check:", disabled=given is None,
            on_click=_ask, args=(_CHECKING, key),
        )  # fmt: skip
        kept = _answers().get(key)
        if st.session_state.pop(_CHECKING, None) == key:
            try:
                kept = {"given": given, "right": is_right(question, given, app)}
            except NotReady as not_ready:
                st.info(said.get(not_ready.reason, not_ready.reason), icon=":material/hourglass_empty:")
                kept = None
            if kept is not None:
                _answers()[key] = kept
        if kept is not None and kept["given"] == given:
            if kept["right"]:
                st.success(
                    said["correct"] + (f" {question.explain}" if question.explain else ""),
                    icon=":material/celebration:",
                )
            else:
                st.warning(said["wrong"], icon=":material/lightbulb:")
        if question.hint:
            with st.expander(
                said["hint"], icon=":material/lightbulb:", expanded=bool(kept and not kept["right"])
            ):
                st.markdown(question.hint)


def _answer_widget(question: Question, *, key: str, said: dict[str, str], app: AppState):
    """The widget for the answer, showing the one given before (kept while the student visits other
    pages, where Streamlit forgets the widget's own state)."""
    drafts = st.session_state[state.LESSON_DRAFTS]
    draft = drafts.get(key)

    def keep() -> None:
        drafts[key] = st.session_state[f"w.{key}"]

    label, common = said["your_answer"], {"key": key, "on_change": keep}
    if question.kind == "number":
        return bound(st.number_input, label, value=draft, format="%g", step=None, **common)
    if question.kind == "yes_no":
        options = [True, False]
        formats = {"format_func": lambda yes: said["yes"] if yes else said["no"], "horizontal": True}
    else:
        options = list(app.class_names) if question.check == "predicted_class" else list(question.choices)
        formats = {"format_func": plain}
    value = draft if draft in options else None
    return bound(st.radio, label, value=value, options=options, index=None, **formats, **common)


def show_worked(show: Show, *, key: str, app: AppState, dataset_key: str) -> None:
    """The step's sum by hand, numpy beside Keras (or the trained network's answers)."""
    if show.kind == "neuron":
        _neuron(show, key)
    elif show.kind == "softmax":
        _softmax(show)
    elif show.kind == "cross_entropy":
        _cross_entropy(show)
    else:
        _predictions(show, key, app, dataset_key)


def _neuron(show: Show, key: str) -> None:
    from nnviz.course.byhand import neuron
    from nnviz.course.lessons import NEURON_ACTIVATIONS
    from nnviz.ui.inspect_view import verdict

    inputs = show.values["inputs"]
    columns = st.columns(len(inputs) + 2)
    weights = [
        column.number_input(f"w{k + 1}", value=float(w), step=0.1, format="%g", key=f"{key}.w{k}")
        for k, (column, w) in enumerate(zip(columns, show.values["weights"]))
    ]
    bias = columns[-2].number_input(
        "b", value=float(show.values["bias"]), step=0.1, format="%g", key=f"{key}.b"
    )
    activation = columns[-1].selectbox(
        "f", NEURON_ACTIVATIONS, index=NEURON_ACTIVATIONS.index(show.values["activation"]), key=f"{key}.f"
    )
    worked = neuron(inputs, weights, bias, activation)
    st.dataframe(
        pd.DataFrame(
            {"x": inputs, "w": weights, "w·x": worked.products},
            index=[f"input {k + 1}" for k in range(len(inputs))],
        ),
        column_config={name: st.column_config.NumberColumn(format="%.4g") for name in ("x", "w", "w·x")},
    )
    terms = " + ".join(f"{p:.4g}" for p in worked.products)
    st.markdown(f"z = {terms} + {bias:.4g} = **{worked.z:.4g}**  \n a = {activation}(z) = **{worked.a:.4g}**")
    difference = abs(worked.a - worked.keras_a)
    verdict(
        f"Keras Dense(1, {activation}): {worked.keras_a:.6g} · |numpy − Keras| = {difference:.1e}",
        difference <= 1e-5 * (1 + abs(worked.z) + float(np.abs(worked.products).sum())),
        (" ✓", " ✗"),
    )


def _softmax(show: Show) -> None:
    from nnviz.course.byhand import softmax_steps
    from nnviz.ui.inspect_view import show_loss_steps

    show_loss_steps(softmax_steps(show.values["logits"]), class_names=None, what="softmax")


def _cross_entropy(show: Show) -> None:
    from nnviz.course.byhand import cross_entropy
    from nnviz.ui.inspect_view import verdict

    logits, labels = show.values["logits"], [int(v) for v in show.values["labels"]]
    batch = cross_entropy(logits, labels)
    rows = np.arange(len(labels))
    table = pd.DataFrame(
        {
            "logits z": [", ".join(f"{v:g}" for v in row) for row in logits],
            "true class": labels,
            "softmax p": [", ".join(f"{v:.4f}" for v in row) for row in batch.probabilities],
            "p[true]": batch.probabilities[rows, labels],
            "−log p[true]": batch.losses,
            "Keras sparse": batch.keras_sparse,
            "Keras one-hot": batch.keras_one_hot,
        },
        index=pd.Index(rows + 1, name="row"),
    )
    number = st.column_config.NumberColumn(format="%.5f")
    st.dataframe(
        table,
        column_config={name: number for name in ("p[true]", "−log p[true]", "Keras sparse", "Keras one-hot")},
    )
    st.code(
        "e = np.exp(z - z.max(axis=1, keepdims=True)); p = e / e.sum(axis=1, keepdims=True)\n"
        "loss = -np.log(p[np.arange(len(y)), y])  # one per row; fit reports loss.mean()\n"
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, z)  # the mean, as Keras computes it",
        language="python",
    )
    worst = float(
        max(np.abs(batch.losses - batch.keras_sparse).max(), np.abs(batch.losses - batch.keras_one_hot).max())
    )
    mean_gap = abs(batch.losses.mean() - batch.keras_mean)
    st.markdown(
        f"Mean over the batch: numpy **{batch.losses.mean():.5f}**, Keras **{batch.keras_mean:.5f}**."
    )
    scale = 1 + float(np.abs(logits).max())
    verdict(
        f"largest |numpy − Keras| = {max(worst, mean_gap):.1e} (sparse, one-hot and the mean)",
        max(worst, mean_gap) <= 1e-5 * scale,
        (" ✓", " ✗"),
    )


def _predictions(show: Show, key: str, app: AppState, dataset_key: str) -> None:
    inputs = show.values["inputs"]
    if app.outputs is None:
        st.info(
            "When the network is trained (the Train page), its answers for these inputs appear here.",
            icon=":material/model_training:",
        )
        return
    outputs = app.outputs(inputs)
    if outputs is None:
        st.warning(
            f"These inputs have {len(inputs[0])} values each, but this dataset's rows have a different "
            "number: set the app up for this lesson again.",
            icon=":material/warning:",
        )
        return
    names = list(app.class_names)
    for row, (values, output) in enumerate(zip(inputs, outputs)):
        text_col, button_col = st.columns([3, 1], vertical_alignment="center")
        shown = ", ".join(f"{v:g}" for v in values)
        if names:
            best = int(np.argmax(output))
            text_col.markdown(f"[{shown}] → **{plain(names[best])}** (probability {output[best]:.3f})")
        else:
            text_col.markdown(f"[{shown}] → **{float(output[0]):.4g}**")
        button_col.button(
            "Follow it on Inspect", key=f"{key}.follow.{row}", icon=":material/biotech:",
            on_click=_follow_on_inspect, args=(dataset_key, values),
        )  # fmt: skip


def _follow_on_inspect(dataset_key: str, values) -> None:
    """Open the Inspect page with ``values`` typed in (its widgets read these keys)."""
    from nnviz.ui.inspect_view import TYPED

    st.session_state["inspect.how"] = TYPED
    for k, value in enumerate(values):
        st.session_state[f"inspect.{dataset_key}.typed.{k}"] = float(value)
    _ask(_GO_TO, "pages/inspect.py")


def app_state(dataset, ws) -> AppState:
    """What the lesson's checks may read: the Build page's network, the training so far, and the
    trained model's answers (computed only when asked for)."""
    spec = ws.spec(dataset)
    trained = ws.model is not None and ws.model_spec == spec and bool(ws.history)
    training = ws.job is not None and ws.job.running

    def outputs(rows) -> np.ndarray | None:
        from nnviz.explain.predict import class_probabilities, network_outputs, typed_input

        if dataset.is_image or any(len(row) != len(dataset.feature_names) for row in rows):
            return None
        scaled = [
            typed_input(row, dataset.feature_names, mean=dataset.feature_mean, scale=dataset.feature_scale)[1]
            for row in rows
        ]
        raw = network_outputs(ws.model, np.stack(scaled))
        return class_probabilities(raw, spec.loss) if dataset.class_names else raw

    def test_predictions() -> np.ndarray:
        from nnviz.explain.predict import predicted_labels
        from nnviz.ui.evaluation import test_outputs

        return predicted_labels(test_outputs(ws, dataset, spec), spec.loss)

    ready = trained and not training
    return AppState(
        parameters=None if check_spec(spec, dataset.target) else count_params(spec),
        history=ws.history,
        class_names=dataset.class_names,
        outputs=outputs if ready else None,
        test_predictions=test_predictions if ready else None,
        y_test=dataset.y_test,
        training=training,
    )
