"""The Lessons page through the app (AppTest): every course example opens in two clicks, a lesson walked
through with right and wrong answers, progress kept in the address and across a reload, the Dutch
lesson, following a flower onto Inspect, and a broken lesson file beside the good ones."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_reload import new_session

from nnviz.course.lessons import lesson_dirs, lesson_files, read_lessons, setup_settings
from nnviz.model.spec import ModelSpec, count_params
from nnviz.ui.persist import TOKEN

TIMEOUT = 120
LESSONS = {lesson.name: lesson for lesson in read_lessons(lesson_files(lesson_dirs({})))[0]}


def _texts(elements) -> str:
    return "\n".join(str(element.value) for element in elements)


def _lessons(query: dict | None = None, *, token: str | None = None) -> AppTest:
    """A new session (a browser opening this address) on the Lessons page."""
    at = new_session(query, token=token).switch_page("pages/lessons.py").run()
    assert not at.exception, at.exception
    return at


def _followed(at: AppTest) -> AppTest:
    """Rerun as the live view's timer would until no run is live (AppTest has no timer)."""
    for _ in range(600):
        assert not at.exception, at.exception
        if not any(ws.job is not None and ws.job.running for ws in at.session_state["workspaces"].values()):
            break
        at.run()
    return at.run()


def _train(at: AppTest) -> AppTest:
    at.switch_page("pages/train.py").run()
    _followed(at.button(key="train.start").click().run())
    at.switch_page("pages/lessons.py").run()
    assert not at.exception, at.exception
    return at


def _answer(at: AppTest, key: str, value) -> AppTest:
    """Give ``value`` to the question of lesson step ``key`` ("01-iris/1") and press Check."""
    widgets = [w for w in (*at.number_input, *at.radio) if w.key == f"w.lesson.answer.{key}"]
    assert len(widgets) == 1, [w.key for w in (*at.number_input, *at.radio)]
    widgets[0].set_value(value).run()
    at.button(key=f"lesson.check.{key}").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    "name", [name for name, lesson in LESSONS.items() if lesson.setup and lesson.language == "en"]
)
def test_each_course_example_opens_in_two_clicks(name):
    at = _lessons()
    at.button(key=f"lessons.example.{name}").click().run()
    assert not at.exception, at.exception
    settings, _ = setup_settings(LESSONS[name].setup)
    session = at.session_state
    ws = session["workspaces"][settings["dataset"]]
    assert session["dataset"] == settings["dataset"]
    assert tuple(row.layer for row in ws.rows) == settings["layers"]
    assert (ws.loss, ws.optimizer, ws.learning_rate) == (
        settings["loss"],
        settings["optimizer"],
        settings["learning_rate"],
    )
    assert (session["epochs"], session["batch_size"], session["validation_split"]) == (
        settings["epochs"], settings["batch_size"], settings["validation_split"],
    )  # fmt: skip
    # The Build page is open and counts the course's parameters (for the data loaded here: housing
    # offline is the 10-feature stand-in).
    assert "Ready to train." in _texts(at.success)
    dataset = {"housing": 10}.get(settings["dataset"])
    shape = (
        (dataset,)
        if dataset
        else {"iris": (4,), "moons": (2,), "sum5": (5,), "mnist": (28, 28)}[settings["dataset"]]
    )
    spec = ModelSpec(
        shape, settings["layers"], settings["loss"], settings["optimizer"], settings["learning_rate"]
    )
    assert f"**Total: {count_params(spec):,} parameters**" in _texts(at.markdown)


def test_a_lesson_walked_through_checks_each_answer_against_the_app():
    at = _lessons()
    at.button(key="lessons.start.01-iris").click().run()
    assert at.query_params["lesson"] == "01-iris" and "step" not in at.query_params  # step 1 is left out
    assert "The app is set up for this step." in _texts(at.caption)

    _answer(at, "01-iris/1", 42)
    assert "Not quite" in _texts(at.warning) and not at.success
    assert at.expander[0].proto.expanded  # the hint opens after a wrong answer
    _answer(at, "01-iris/1", 43)
    assert "Right! 25 + 18 = 43." in _texts(at.success)

    at.button(key="lesson.next").click().run()
    assert at.query_params["step"] == "2"
    assert "over 1 comparison" in _texts(at.success)  # the softmax beside Keras's
    _answer(at, "01-iris/2", 0.99863)
    assert "Right!" in _texts(at.success)

    at.button(key="lesson.next").click().run()
    _answer(at, "01-iris/3", True)
    assert "Train the network first" in _texts(at.info)  # not trained yet: nothing to judge

    _train(at)
    assert at.session_state["lesson_step"] == 3 and len(at.session_state["workspaces"]["iris"].history) == 20
    at.button(key="lesson.check.01-iris/3").click().run()
    history = at.session_state["workspaces"]["iris"].history
    assert history[-1]["loss"] < history[0]["loss"] and "Right!" in _texts(at.success)

    # Which test rows the trained network gets wrong, worked out here from its own outputs.
    dataset_ws = at.session_state["workspaces"]["iris"]
    from nnviz.data.datasets import load_iris_data

    iris = load_iris_data(random_state=0)
    predicted = np.argmax(dataset_ws.model.predict(iris.X_test, verbose=0), axis=1)
    wrong, right = np.flatnonzero(predicted != iris.y_test), np.flatnonzero(predicted == iris.y_test)
    assert len(wrong) and len(right)
    at.button(key="lesson.next").click().run()
    _answer(at, "01-iris/4", int(right[0]))
    assert "Not quite" in _texts(at.warning)
    _answer(at, "01-iris/4", int(wrong[-1]))
    assert "Right!" in _texts(at.success)

    at.button(key="lesson.next").click().run()
    accuracy = 100 * float(np.mean(predicted == iris.y_test))
    _answer(at, "01-iris/5", round(accuracy + 2))
    assert "Not quite" in _texts(at.warning)
    _answer(at, "01-iris/5", round(accuracy, 1))
    assert "Lesson complete" in _texts(at.success)
    assert at.button(key="lesson.next").disabled

    at.button(key="lesson.close").click().run()
    assert "5 steps · 5 of 5 questions answered" in _texts(at.caption)
    assert at.button(key="lessons.start.01-iris").label == "Continue"


def test_the_step_is_in_the_address_and_the_answers_survive_a_reload():
    at = _lessons()
    at.button(key="lessons.start.04-cross-entropy").click().run()
    at.button(key="lesson.next").click().run()
    _answer(at, "04-cross-entropy/2", 1.723)
    token, query = at.session_state[TOKEN], dict(at.query_params)
    assert query["lesson"] == "04-cross-entropy" and query["step"] == "2"

    again = _lessons(query, token=token)  # the same browser reloads
    assert "What is the batch's loss" in _texts(again.markdown)
    assert again.session_state["lesson_answers"]["04-cross-entropy/2"]["right"] is True
    again.button(key="lesson.close").click().run()
    assert "3 steps · 1 of 3 questions answered" in _texts(again.caption)

    # A link to a step opens that step in a new browser too (no answers: they are this browser's).
    fresh = _lessons({"lesson": "04-cross-entropy", "step": "3"})
    assert "Do the one-hot and the sparse forms" in _texts(fresh.markdown)
    assert not fresh.session_state["lesson_answers"]


def test_the_dutch_lesson_and_its_words():
    at = _lessons()
    at.segmented_control(key="w.lesson_language").set_value("nl").run()
    titles = _texts(at.markdown)
    assert "Wat is een neuron?" in titles and "What is a neuron?" not in titles
    assert "Iris 4\\-5\\-3\\: je eerste netwerk" in titles and "your first network" not in titles
    assert "Two moons\\: a curved boundary" in titles  # lessons without a Dutch version: in English
    assert at.button(key="lessons.start.00-neuron-nl").label == "Begin"
    assert at.button(key="lessons.example.01-iris-nl").label == "Open het cursusvoorbeeld"
    assert "3 stappen · 0 van 3 vragen beantwoord · Nederlands" in _texts(at.caption).replace("\\", "")
    at.button(key="lessons.start.00-neuron-nl").click().run()
    assert at.button(key="lesson.check.00-neuron-nl/1").label == "Controleer"
    assert at.button(key="lesson.next").label == "Volgende stap"
    # The neuron beside Keras: set the task's weights and the answer follows.
    at.number_input(key="lesson.00-neuron-nl.1.w0").set_value(0.5).run()
    at.number_input(key="lesson.00-neuron-nl.1.w1").set_value(-1.0).run()
    at.number_input(key="lesson.00-neuron-nl.1.b").set_value(1.0).run()
    assert "z = 0.5 + -2 + 1 = **-0.5**" in _texts(at.markdown)
    assert "|numpy − Keras| = 0.0e+00" in _texts(at.success)
    _answer(at, "00-neuron-nl/1", 0)
    assert "Goed zo!" in _texts(at.success)


def test_following_a_flower_onto_inspect_and_the_predicted_species():
    at = _lessons()
    at.button(key="lessons.start.02-iris-activations").click().run()
    at.session_state["epochs"] = 40  # the course's 300 epochs take longer than this test needs
    _train(at)
    for _ in range(2):
        at.button(key="lesson.next").click().run()
    assert at.session_state["lesson_step"] == 3
    ws = at.session_state["workspaces"]["iris"]
    flower = [6.3, 3.3, 6.0, 2.5]
    species = ("setosa", "versicolor", "virginica")[
        int(np.argmax(ws.model.predict(np.array([flower]), verbose=0)))
    ]
    assert f"[6.3, 3.3, 6, 2.5] → **{species}**" in _texts(at.markdown)
    _answer(at, "02-iris-activations/3", species)
    assert "Right!" in _texts(at.success)

    at.button(key="lesson.02-iris-activations.3.follow.2").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="inspect.how").value == "Type your own"
    assert [at.number_input(key=f"inspect.iris.typed.{k}").value for k in range(4)] == flower
    assert f"Prediction: {species}" in _texts(at.subheader)


def test_a_broken_lesson_file_is_named_and_the_others_still_work(tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text('title = "Broken"\nlanguage = "en"\n[[steps]]\ntext = 5\n')
    (tmp_path / "extra.toml").write_text(
        'title = "A lecturer\'s own"\nlanguage = "en"\norder = 50\n[[steps]]\ntext = "Hello *class*"\n'
    )
    monkeypatch.setenv("NNVIZ_LESSONS", str(tmp_path))
    at = _lessons({"lesson": "no-such-lesson"})
    assert "no lesson called no\\-such\\-lesson" in _texts(at.warning)
    assert "1 lesson file could not be read" in at.expander[0].label
    assert f"{tmp_path.name}/broken.toml: step 1: text should be text in quotes, got 5" in _texts(
        at.error
    ).replace("\\", "")
    assert str(tmp_path.parent) not in _texts(at.error).replace(
        "\\", ""
    )  # where the server keeps it is not shown
    at.button(key="lessons.start.extra").click().run()
    assert "Hello *class*" in _texts(at.markdown)


def test_the_sum_of_five_example_works_on_every_page_and_offers_its_notebook():
    at = _lessons()
    at.button(key="lessons.example.05-hinge").click().run()
    at.session_state["epochs"] = 5
    _train(at)
    for page in (
        "pages/data.py",
        "pages/build.py",
        "pages/train.py",
        "pages/evaluate.py",
        "pages/inspect.py",
    ):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, at.exception, _texts(at.error))
    assert "Take it to a notebook" in _texts(at.subheader)
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download the notebook and the weights (.zip)"]
    at.switch_page("pages/build.py").run()
    assert at.radio(key="w.code_api").value == "functional"  # the lesson's setup chose the course's API
    at.radio(key="build.code_scope").set_value("notebook").run()
    assert not at.exception
    assert "Download the notebook (.ipynb)" in [d.proto.label for d in at.get("download_button")]
    assert any("test row 0 followed through the layers" in c for c in _texts(at.caption).splitlines())


def test_a_link_to_a_later_step_offers_its_setup_and_continue_resumes_at_the_first_open_question():
    at = _lessons({"lesson": "01-iris", "step": "3"})  # written by hand: no setup in the link
    assert at.session_state["dataset"] == "moons"
    assert "The app is set up for this step." not in _texts(at.caption)
    at.button(key="lesson.setup").click().run()
    settings, _ = setup_settings(LESSONS["01-iris"].setup)
    assert at.session_state["dataset"] == "iris" and at.session_state["batch_size"] == settings["batch_size"]
    assert "The app is set up for this step." in _texts(at.caption)
    assert at.session_state["lesson_step"] == 3

    at.button(key="lesson.previous").click().run()
    at.button(key="lesson.previous").click().run()
    _answer(at, "01-iris/1", 43)
    at.button(key="lesson.close").click().run()
    assert at.button(key="lessons.start.01-iris").label == "Continue"
    at.button(key="lessons.start.01-iris").click().run()
    assert at.session_state["lesson_step"] == 2  # step 1 is answered; step 2's question is not
