"""Lessons: the files that ship, the course's numbers they reproduce, hostile lesson files, and the checks
of answers. Expected values come from the course or from numpy written out here, not from nnviz."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from nnviz.course.answers import AppState, NotReady, expected, is_right
from nnviz.course.byhand import cross_entropy, neuron, softmax_steps
from nnviz.course.lessons import (
    MAX_FILE_BYTES,
    MAX_STEPS,
    WORDS,
    LessonError,
    Question,
    filled,
    lesson_dirs,
    lesson_files,
    read_lesson,
    read_lessons,
    setup_settings,
    words,
)
from nnviz.model.build import build_model
from nnviz.model.spec import ModelSpec, Target, check_spec, count_params

BUILT_IN, ERRORS = read_lessons(lesson_files(lesson_dirs({})))
BY_NAME = {lesson.name: lesson for lesson in BUILT_IN}

# The course's examples: their setups' settings, and the parameter count worked out by hand.
COURSE = {
    "01-iris": (
        dict(dataset="iris", optimizer="sgd", learning_rate=0.01, batch_size=8, epochs=20),
        (4,),
        Target("multiclass", 3, "species"),
        4 * 5 + 5 + 5 * 3 + 3,
        "Dense(5, relu) → Dense(3, softmax)",
    ),
    "02-iris-activations": (
        dict(dataset="iris", epochs=300, validation_split=0.1),
        (4,),
        Target("multiclass", 3, "species"),
        4 * 8 + 8 + 8 * 3 + 3,
        "Dense(8, linear) → Activation(relu) → Dense(3, linear) → Activation(softmax)",
    ),
    "03-moons": (
        dict(dataset="moons", moons_samples=300, moons_noise=0.15, optimizer="adam", learning_rate=0.01,
             batch_size=1, epochs=10),
        (2,),
        Target("binary", 2, "moon"),
        2 * 20 + 20 + 20 * 50 + 50 + 50 + 1,
        "Dense(20, tanh) → Dense(50, relu) → Dense(1, sigmoid)",
    ),
    "05-hinge": (
        dict(dataset="sum5", loss="hinge", optimizer="adam", epochs=150, validation_split=0.2,
             code_api="functional"),
        (5,),
        Target("binary", 2, "sum"),
        5 * 20 + 20 + 20 + 1,
        "Dense(20, tanh) → Dense(1, tanh)",
    ),
    "06-mnist": (
        dict(dataset="mnist", validation_split=0.1, epochs=5),
        (28, 28),
        Target("multiclass", 10, "digit"),
        784 * 128 + 128 + 128 * 10 + 10,
        "Rescaling(1/255, offset=0) → Flatten → Dense(128, relu) → Dense(10, softmax)",
    ),
    "07-housing": (
        dict(dataset="housing", loss="mse", epochs=100, validation_split=0.25),
        (8,),  # California housing's 8 features (offline the app has 10: the stand-in's)
        Target("regression", 0, "value"),
        8 * 16 + 16 + 16 * 16 + 16 + 16 + 1,
        "Dense(16, relu) → Dropout(0.1) → Dense(16, relu) → Dropout(0.1) → Dense(1, linear)",
    ),
}  # fmt: skip


def test_every_shipped_lesson_reads_cleanly_and_each_course_example_has_one():
    assert not ERRORS, [str(error) for error in ERRORS]
    english = [lesson.name for lesson in BUILT_IN if lesson.language == "en"]
    assert set(COURSE) | {"00-neuron", "04-cross-entropy"} <= set(english)
    assert BY_NAME["00-neuron-nl"].translation_of == "00-neuron"
    assert [lesson.order for lesson in BUILT_IN] == sorted(lesson.order for lesson in BUILT_IN)


@pytest.mark.parametrize("name", list(COURSE))
def test_each_course_example_is_the_courses_network_and_settings(name):
    wanted, input_shape, target, parameters, layers = COURSE[name]
    lesson = BY_NAME[name]
    settings, problems = setup_settings(lesson.setup)
    assert not problems
    assert {key: settings[key] for key in wanted} == wanted
    spec = ModelSpec(
        input_shape, settings["layers"], settings["loss"], settings["optimizer"], settings["learning_rate"]
    )
    assert " → ".join(layer.label() for layer in spec.layers) == layers
    assert not check_spec(spec, target)
    assert count_params(spec) == parameters
    assert build_model(spec).count_params() == parameters  # Keras counts the same
    assert lesson.steps[0].setup == lesson.setup  # the first step sets the example up


@pytest.mark.parametrize("name", [lesson.name for lesson in BUILT_IN if lesson.translation_of])
def test_a_translation_asks_what_its_original_asks_with_the_same_setups(name):
    translation = BY_NAME[name]
    original = BY_NAME[translation.translation_of]
    assert translation.language != original.language and translation.setup == original.setup
    assert len(translation.steps) == len(original.steps)
    for ours, theirs in zip(translation.steps, original.steps):
        assert (ours.setup, ours.page, ours.show) == (theirs.setup, theirs.page, theirs.show)
        assert (ours.question is None) == (theirs.question is None)
        if ours.question:
            same = ("kind", "answer", "check", "tolerance", "input")
            assert [getattr(ours.question, f) for f in same] == [getattr(theirs.question, f) for f in same]


def test_the_softmax_by_hand_gives_the_courses_probabilities():
    show = BY_NAME["01-iris"].steps[1].show
    assert show.kind == "softmax"
    steps = {step.name: step for step in softmax_steps(show.values["logits"])}
    np.testing.assert_allclose(steps["p"].numpy_value, [0.998631, 0.000688, 0.000680], atol=5e-7)
    np.testing.assert_allclose(steps["p"].keras_value, steps["p"].numpy_value, atol=1e-6)
    question = BY_NAME["01-iris"].steps[1].question
    assert abs(question.answer - 0.998631) <= question.tolerance


def test_the_cross_entropy_by_hand_gives_the_courses_losses():
    show = BY_NAME["04-cross-entropy"].steps[0].show
    batch = cross_entropy(show.values["logits"], [int(v) for v in show.values["labels"]])
    course = [0.90719, 2.22922, 2.35456, 1.53619, 1.58882]
    np.testing.assert_allclose(batch.losses, course, atol=5e-6)
    np.testing.assert_allclose(batch.keras_sparse, course, atol=5e-6)
    np.testing.assert_allclose(batch.keras_one_hot, batch.keras_sparse, atol=1e-6)  # the two forms agree
    assert batch.keras_mean == pytest.approx(np.mean(course), abs=5e-6)
    np.testing.assert_allclose(batch.probabilities.sum(axis=1), 1)
    steps = BY_NAME["04-cross-entropy"].steps
    assert abs(steps[0].question.answer - course[2]) <= steps[0].question.tolerance
    assert abs(steps[1].question.answer - np.mean(course)) <= steps[1].question.tolerance
    assert steps[2].question.answer is True


def test_the_neuron_lessons_answers_are_the_sums_by_hand():
    for name in ("00-neuron", "00-neuron-nl"):
        first, second, third = (step.question for step in BY_NAME[name].steps)
        relu = neuron([1, 2], [0.5, -1], 1.0, "relu")
        assert relu.z == pytest.approx(0.5 * 1 - 1 * 2 + 1) and relu.a == 0 and relu.keras_a == 0
        assert abs(first.answer - max(0.5 - 2 + 1, 0)) <= first.tolerance
        sigmoid = neuron([1, 2], [0.5, -1], 1.0, "sigmoid")
        assert sigmoid.a == pytest.approx(1 / (1 + math.exp(0.5)))
        assert sigmoid.keras_a == pytest.approx(sigmoid.a, abs=1e-6)
        assert abs(second.answer - 1 / (1 + math.exp(0.5))) <= second.tolerance
        assert third.answer == 4 * 5 + 5


def test_a_neuron_matches_a_keras_dense_layer_for_any_activation():
    rng = np.random.default_rng(0)
    for activation in ("linear", "relu", "sigmoid", "tanh"):
        x, w, b = rng.normal(size=3), rng.normal(size=3), float(rng.normal())
        layer = keras.layers.Dense(1, activation=activation)
        layer.build((None, 3))
        layer.set_weights([w[:, None].astype("float32"), np.array([b], "float32")])
        reference = float(layer(x[None].astype("float32"))[0, 0])
        worked = neuron(x, w, b, activation)
        assert worked.keras_a == pytest.approx(reference, abs=1e-6)
        assert worked.a == pytest.approx(reference, abs=1e-5)
        np.testing.assert_allclose(worked.products, x * w)


# --- hostile and broken lesson files -------------------------------------------------------------

_GOOD = 'title = "T"\nlanguage = "en"\n\n[[steps]]\ntext = "Hello"\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('title = "T"\nlanguage = "en"\nsteps = 3\n[[steps', "not valid TOML"),
        (b'title = "\xff"\n', "not UTF-8"),
        (_GOOD + "x = " + "[" * 20_000 + "]" * 20_000 + "\n", "too deeply"),
        ('language = "en"\n[[steps]]\ntext = "x"\n', "title is missing"),
        (_GOOD + 'colour = "red"\n', "unknown key"),
        ('title = 5\nlanguage = "en"\n[[steps]]\ntext = "x"\n', "title should be text"),
        ('title = "T"\nlanguage = "<script>"\n[[steps]]\ntext = "x"\n', "language code"),
        ('title = "T"\nlanguage = "en"\n', "steps should be one or more"),
        ('title = "T"\nlanguage = "en"\nsteps = ["a"]\n', "steps should be one or more"),
        (_GOOD + 'setup = "layers=Dense_5_banana"\n', "setup"),
        (_GOOD + 'setup = "dataset=iris&lesson=01-iris"\n', "for links only"),
        (_GOOD + 'setup = "datset=iris"\n', "has no datset"),
        (_GOOD + 'setup = "epochs=1&epochs=2"\n', "twice"),
        (_GOOD + 'page = "settings"\n', "page='settings' is unknown"),
        (_GOOD + '[steps.show]\nkind = "fourier"\n', "kind='fourier' is unknown"),
        (_GOOD + "[steps.show]\nlogits = [1]\n", "kind is missing"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = [1, nan]\n', "logits should be a list of numbers"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = [1, inf]\n', "logits should be a list of numbers"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = [1e300]\n', "within ±1e6"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = ["1"]\n', "logits should be"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = [' + "1," * 500 + "1]\n", "at most 400"),
        (_GOOD + '[steps.show]\nkind = "softmax"\nlogits = [1]\nlabels = [0]\n', "unknown key 'labels'"),
        (
            _GOOD + '[steps.show]\nkind = "cross_entropy"\nlogits = [[1, 2], [3]]\nlabels = [0, 1]\n',
            "equally long lists",
        ),
        (
            _GOOD + '[steps.show]\nkind = "cross_entropy"\nlogits = [[1, 2], [3, 4]]\nlabels = [0, 2]\n',
            "class numbers from 0 to 1",
        ),
        (
            _GOOD + '[steps.show]\nkind = "neuron"\ninputs = [1, 2]\nweights = [1]\n',
            "one weight per input",
        ),
        (_GOOD + '[steps.question]\ntext = "Q"\n', "give either answer"),
        (_GOOD + '[steps.question]\ntext = "Q"\nanswer = 1\ncheck = "parameters"\n', "give either answer"),
        (_GOOD + '[steps.question]\ntext = "Q"\ncheck = "mood"\n', "check='mood' is unknown"),
        (_GOOD + '[steps.question]\ntext = "Q"\nanswer = "many"\n', "should be a number"),
        (_GOOD + '[steps.question]\ntext = "Q"\nkind = "yes_no"\nanswer = "yes"\n', "true or false"),
        (
            _GOOD + '[steps.question]\ntext = "Q"\nkind = "choice"\nchoices = ["a", "b"]\nanswer = "c"\n',
            "one of the choices",
        ),
        (
            _GOOD + '[steps.question]\ntext = "Q"\nkind = "choice"\nchoices = ["a"]\nanswer = "a"\n',
            "two choices",
        ),
        (
            _GOOD + '[steps.question]\ntext = "Q"\ncheck = "parameters"\nkind = "yes_no"\n',
            "is a number question",
        ),
        (_GOOD + '[steps.question]\ntext = "Q"\nanswer = 1\ninput = [1]\n', "input is only for"),
        (_GOOD + '[steps.question]\ntext = "Q"\ncheck = "predicted_class"\n', "input is missing"),
        (_GOOD + '[steps.question]\ntext = "Q"\nanswer = 1\ntolerance = -1\n', "tolerance=-1"),
        (_GOOD + 'question = "Q"\n', "question should be a table"),
        ('title = "T"\nlanguage = "en"\n' + '[[steps]]\ntext = "x"\n' * (MAX_STEPS + 1), "at most 40"),
        (_GOOD.replace('"Hello"', '"' + "x" * 7000 + '"'), "at most 6,000"),
        ('title = "T"\nlanguage = "en"\norder = -3\n[[steps]]\ntext = "x"\n', "order=-3"),
        ('title = "T"\nlanguage = "en"\n[words]\ncheck = 5\n[[steps]]\ntext = "x"\n', "words should be"),
        (
            'title = "T"\nlanguage = "en"\n[words]\nsubmit = "Go"\n[[steps]]\ntext = "x"\n',
            "unknown key words.'submit'",
        ),
        (
            'title = "T"\nlanguage = "en"\ntranslation_of = "../etc"\n[[steps]]\ntext = "x"\n',
            "translation_of",
        ),
    ],
)
def test_a_broken_lesson_file_is_refused_naming_what_to_change(tmp_path, content, message):
    path = tmp_path / "lesson.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LessonError) as refused:
        read_lesson(path)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
    assert str(refused.value).startswith("lesson.toml: ")


def test_a_file_saved_with_a_bom_and_windows_line_ends_reads(tmp_path):
    path = tmp_path / "windows.toml"
    path.write_bytes(b"\xef\xbb\xbf" + _GOOD.replace("\n", "\r\n").encode())
    assert read_lesson(path).title == "T"


def test_the_step_a_problem_is_in_is_named(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(_GOOD + '[[steps]]\ntext = "b"\n[steps.question]\ntext = "Q"\nanswer = "x"\n')
    with pytest.raises(LessonError) as refused:
        read_lesson(path)
    assert refused.value.problems == ["step 2: question: answer='x' should be a number for a number question"]


def test_an_oversized_or_badly_named_file_is_refused_before_it_is_parsed(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(_GOOD + "# " + "x" * MAX_FILE_BYTES)
    with pytest.raises(LessonError, match="a lesson file takes at most"):
        read_lesson(big)
    badly = tmp_path / "My Lesson.toml"
    badly.write_text(_GOOD)
    with pytest.raises(LessonError, match="lower-case letters"):
        read_lesson(badly)


def test_a_folder_of_lessons_loads_the_good_ones_and_names_the_rest(tmp_path):
    (tmp_path / "a.toml").write_text(_GOOD)
    (tmp_path / "b.toml").write_text("not toml [")
    (tmp_path / "notes.md").write_text("ignored")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.toml").write_text(_GOOD)  # subfolders are not read
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.toml").write_text(_GOOD)  # the same name again
    dirs = lesson_dirs({"NNVIZ_LESSONS": f"{tmp_path}:{other}:{tmp_path / 'missing'}"})
    lessons, errors = read_lessons(lesson_files(dirs))
    names = [lesson.name for lesson in lessons]
    assert "a" in names and "b" not in names and "c" not in names and set(BY_NAME) <= set(names)
    assert sorted(error.path.name for error in errors) == ["a.toml", "b.toml"]
    assert any(
        f"{tmp_path.name}/a.toml already has the name a" in p for error in errors for p in error.problems
    )


def test_a_lesson_in_another_language_brings_its_words():
    dutch = BY_NAME["00-neuron-nl"]
    said = words(dutch)
    assert said["check"] == "Controleer" and said["next"] == "Volgende stap"
    assert set(said) == set(WORDS["en"]) and all(set(table) == set(WORDS["en"]) for table in WORDS.values())


def test_a_lecturers_words_are_filled_in_without_tripping_on_their_own_braces():
    assert (
        filled(WORDS["nl"]["progress"], steps=3, right=1, questions=2)
        == "3 stappen · 1 van 2 vragen beantwoord"
    )
    assert filled("{right}/{questions} {0} {x:>3} {", right=1, questions=2) == "1/2 {0} {x:>3} {"


def test_a_lessons_own_words_override_and_an_unknown_language_falls_back_to_english(tmp_path):
    path = tmp_path / "fr.toml"
    path.write_text('title = "T"\nlanguage = "fr"\n[words]\ncheck = "Vérifier"\n[[steps]]\ntext = "x"\n')
    said = words(read_lesson(path))
    assert said["check"] == "Vérifier" and said["next"] == WORDS["en"]["next"]


# --- checking answers ----------------------------------------------------------------------------


def _app(**changes) -> AppState:
    base = dict(
        parameters=43,
        history=[{"loss": 1.2}, {"loss": 0.4}],
        class_names=("setosa", "versicolor", "virginica"),
        outputs=lambda rows: np.array([[0.1, 0.2, 0.7]] * len(rows)),
        test_predictions=lambda: np.array([0, 1, 2, 2]),
        y_test=np.array([0, 1, 1, 2]),
    )
    return AppState(**(base | changes))


def test_answers_the_app_reads_from_its_state():
    app = _app()
    assert is_right(Question("n?", check="parameters"), 43.0, app)
    assert not is_right(Question("n?", check="parameters"), 42.0, app)
    assert is_right(Question("down?", kind="yes_no", check="loss_went_down"), True, app)
    assert not is_right(
        Question("down?", kind="yes_no", check="loss_went_down"),
        True,
        _app(history=[{"loss": 1}, {"loss": 2}]),
    )
    assert is_right(
        Question("which?", kind="choice", check="predicted_class", input=(1, 2, 3, 4)), "virginica", app
    )
    assert expected(Question("row?", check="misclassified_test_row"), app) == {2}
    assert is_right(Question("row?", check="misclassified_test_row"), 2.0, app)
    assert not is_right(Question("row?", check="misclassified_test_row"), 2.5, app)
    assert expected(Question("acc?", check="test_accuracy", tolerance=1), app) == 75.0
    assert is_right(Question("acc?", check="test_accuracy", tolerance=1), 75.9, app)
    assert not is_right(Question("acc?", check="test_accuracy", tolerance=1), 73.9, app)


def test_fixed_answers_with_and_without_a_tolerance():
    assert is_right(Question("p?", answer=0.9986, tolerance=0.00005), 0.99863, _app())
    assert not is_right(Question("p?", answer=0.9986, tolerance=0.00005), 0.9988, _app())
    assert is_right(Question("n?", answer=25.0), 25, _app()) and not is_right(
        Question("n?", answer=25.0), 26, _app()
    )
    assert is_right(Question("c?", kind="choice", answer="a", choices=("a", "b")), "a", _app())
    assert not is_right(Question("c?", kind="choice", answer="a", choices=("a", "b")), None, _app())


@pytest.mark.parametrize(
    ("question", "app", "reason"),
    [
        (Question("down?", check="loss_went_down"), _app(history=[]), "needs_training"),
        (
            Question("row?", check="misclassified_test_row"),
            _app(outputs=None, test_predictions=None),
            "needs_training",
        ),
        (Question("acc?", check="test_accuracy"), _app(training=True), "still_training"),
        (Question("n?", check="parameters"), _app(parameters=None), "Build page"),
        (
            Question("which?", check="predicted_class", input=(1.0,)),
            _app(outputs=lambda rows: None),
            "does not fit",
        ),
        (Question("which?", check="predicted_class", input=(1.0,)), _app(class_names=()), "with classes"),
        (
            Question("row?", check="misclassified_test_row"),
            _app(test_predictions=lambda: np.array([0, 1, 1, 2])),
            "every test row right",
        ),
    ],
)
def test_an_answer_that_needs_something_first_says_what(question, app, reason):
    with pytest.raises(NotReady) as waiting:
        expected(question, app)
    assert reason in waiting.value.reason
