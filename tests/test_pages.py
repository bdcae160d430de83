"""AppTest for every page, driven through app.py's navigation as a user would move between pages."""

import re
import threading
import time
import urllib.parse

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnviz.data.datasets import load_two_moons
from nnviz.ui.state import Workspace

TIMEOUT = 120  # the first TensorFlow import alone takes seconds


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def workspace(at: AppTest, key: str = "moons"):
    return at.session_state["workspaces"][key]


def choose_dataset(at: AppTest, key: str) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.dataset").set_value(key).run()
    assert not at.exception, at.exception
    return at


def followed(at: AppTest) -> AppTest:
    """Rerun as the live view's timer does in a browser until no run is live, then once more (the
    page after a run): AppTest has no timer, and each run returns within a few seconds."""
    deadline = time.monotonic() + TIMEOUT
    while any(ws.job is not None and ws.job.running for ws in at.session_state["workspaces"].values()):
        assert time.monotonic() < deadline, "the run did not end in time"
        at.run()
        assert not at.exception, at.exception
    return at.run()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def forward_agreements(at: AppTest) -> int:
    """Layers whose forward numpy agrees with Keras on Inspect (the loss, the backward pass and the
    update have verdicts of their own)."""
    forward = [s.value for s in at.success if s.value.startswith("max |numpy − Keras| =")]
    return sum("they agree" in v for v in forward)


def keras_calls(at: AppTest) -> list[str]:
    """The Keras calls Inspect lists for the way to the loss, one per line without its comment."""
    return [line.split("  #")[0] for code in at.code for line in code.value.splitlines() if "  # " in line]


def test_home_links_to_the_lessons_and_the_steps():
    at = open_app()
    assert at.title[0].value == "nnviz"
    assert [link.label for link in at.get("page_link")] == [
        "Lessons",
        "1 · Data",
        "2 · Build",
        "3 · Train",
        "4 · Evaluate",
        "5 · Inspect",
    ]


class TestDataPage:
    def test_moons_by_default_with_split_sizes_and_charts(self):
        at = open_app("pages/data.py")
        assert at.selectbox(key="w.dataset").value == "moons"
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Training rows"] == "240" and metrics["Test rows"] == "60"
        assert len(at.get("plotly_chart")) == 2 and len(at.dataframe) == 1

    def test_moons_options_change_the_data(self):
        at = open_app("pages/data.py")
        at.slider(key="w.moons_samples").set_value(500).run()
        assert {m.label: m.value for m in at.metric}["Training rows"] == "400"

    def test_iris_offers_a_scatter_of_any_two_features(self):
        at = choose_dataset(open_app(), "iris")
        at.selectbox(key="data.iris.y").set_value(3).run()
        assert not at.exception and len(at.get("plotly_chart")) == 2
        assert "4 measurements" in texts(at.caption)

    def test_offline_stand_ins_are_announced(self):
        at = choose_dataset(open_app(), "housing")
        assert "California housing could not be downloaded" in texts(at.warning)
        at.selectbox(key="w.dataset").set_value("mnist").run()
        assert "5,000 real MNIST images" in texts(at.warning)
        assert {m.label: m.value for m in at.metric}["Input shape"] == "28 × 28"


class TestBuildPage:
    def test_starter_network_is_ready_with_summary_and_code(self):
        at = open_app("pages/build.py")
        assert "Ready to train." in texts(at.success)
        assert "Total: 105 parameters" in texts(at.markdown)  # 2·8+8 + 8·8+8 + 8·1+1
        assert 'layers.Dense(units=1, activation="sigmoid")' in at.code[0].value

    def test_add_move_and_remove_layers(self):
        at = open_app("pages/build.py")
        ws = workspace(at)
        at.selectbox(key="w.moons.new_kind").set_value("Dropout").run()
        at.button(key="moons.add").click().run()
        assert [row.layer.kind for row in ws.rows] == ["Dense", "Dense", "Dropout", "Dense"]
        at.button(key=f"moons.{ws.rows[2].id}.up").click().run()
        assert [row.layer.kind for row in ws.rows] == ["Dense", "Dropout", "Dense", "Dense"]
        at.button(key=f"moons.{ws.rows[1].id}.remove").click().run()
        assert [row.layer.kind for row in ws.rows] == ["Dense", "Dense", "Dense"]
        assert not at.exception

    def test_changing_units_updates_the_parameter_explanation(self):
        at = open_app("pages/build.py")
        first = workspace(at).rows[0].id
        at.number_input(key=f"w.moons.{first}.units").set_value(5).run()
        assert "2 inputs × 5 units + 5 biases = 15" in at.table[0].value.to_string()

    def test_the_optimizer_update_rule_is_shown_for_the_optimizer_chosen(self):
        at = open_app("pages/build.py")
        assert "0.999" in at.latex[0].value  # Adam's second-moment average
        at.selectbox(key="w.moons.optimizer").set_value("sgd").run()
        assert r"w \leftarrow w - \eta\, g" in at.latex[0].value

    def test_images_offer_a_convolutional_starter_with_its_counts_explained(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/build.py").run()
        at.button(key="mnist.starter.cnn").click().run()
        assert not at.exception
        kinds = [row.layer.kind for row in workspace(at, "mnist").rows]
        assert kinds[:3] == ["Reshape", "Rescaling", "Conv2D"] and "MaxPooling2D" in kinds
        assert "Ready to train." in texts(at.success)
        table = at.table[0].value.to_string()
        assert "3×3 kernel × 1 input channel × 8 filters + 8 biases = 80" in table
        assert "layers.Conv2D(filters=8, kernel_size=3" in at.code[0].value

    def test_the_whole_training_script_follows_the_train_settings_and_the_api(self):
        at = open_app("pages/build.py")
        at.session_state["epochs"] = 7
        at.radio(key="build.code_scope").set_value("script").run()
        script = at.code[0].value
        assert "make_moons(300, noise=0.15, random_state=0)" in script
        assert "model.fit(X_train, y_train, epochs=7, batch_size=16, validation_split=0.2" in script
        at.radio(key="w.code_api").set_value("functional").run()
        assert "model = keras.Model(inputs=inputs, outputs=x)" in at.code[0].value
        assert at.get("download_button")

    def test_batch_normalization_counts_its_moving_statistics_apart(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/build.py").run()
        at.button(key="mnist.starter.cnn").click().run()
        at.selectbox(key="w.mnist.new_kind").set_value("BatchNormalization").run()
        at.button(key="mnist.add").click().run()  # above the output layer, after Flatten's 784 values
        assert not at.exception
        assert "1,568 moving statistics" in texts(at.markdown)  # a mean and a variance per value: 2 × 784

    def test_a_reshape_shape_is_typed_and_a_bad_one_is_explained(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/build.py").run()
        at.button(key="mnist.starter.cnn").click().run()
        reshape = workspace(at, "mnist").rows[0]
        at.text_input(key=f"w.mnist.{reshape.id}.target_shape").set_value("28, 28, x").run()
        assert "Type positive whole numbers separated by commas" in texts(at.error)
        at.text_input(key=f"w.mnist.{reshape.id}.target_shape").set_value("14, 56, 1").run()
        assert workspace(at, "mnist").rows[0].layer.target_shape == (14, 56, 1)
        at.text_input(key=f"w.mnist.{reshape.id}.target_shape").set_value("7, 7").run()
        assert "cannot reshape 28×28 (784 values) into 7×7 (49 values)" in texts(at.error).replace("\\", "")

    def test_no_layers_is_a_message_not_a_traceback(self):
        at = open_app("pages/build.py")
        while workspace(at).rows:
            at.button(key=f"moons.{workspace(at).rows[0].id}.remove").click().run()
        assert not at.exception
        assert "The network has no layers" in texts(at.error)

    def test_too_many_units_names_the_server_limit(self):
        at = open_app("pages/build.py")
        first = workspace(at).rows[0].id
        at.number_input(key=f"w.moons.{first}.units").set_value(50_000).run()
        assert "units=50000 is outside 1 to 1,024: this server allows 1,024" in texts(at.error).replace(
            "\\", ""
        )

    def test_softmax_on_regression_says_what_to_change_and_the_suggestion_fixes_it(self):
        at = choose_dataset(open_app(), "housing")
        at.switch_page("pages/build.py").run()
        last = workspace(at, "housing").rows[-1].id
        at.selectbox(key=f"w.housing.{last}.activation").set_value("softmax").run()
        assert "change the last layer's activation to linear" in texts(at.error)
        at.button(key="housing.suggest").click().run()
        assert not at.error and "Ready to train." in texts(at.success)

    def test_layers_survive_a_visit_to_another_page(self):
        at = open_app("pages/build.py")
        first = workspace(at).rows[0].id
        at.number_input(key=f"w.moons.{first}.units").set_value(13).run()
        at.switch_page("pages/data.py").run()
        at.switch_page("pages/build.py").run()
        assert at.number_input(key=f"w.moons.{first}.units").value == 13


class TestTrainPage:
    def test_train_continue_step_and_reset(self):
        at = open_app("pages/train.py")
        at.number_input(key="w.epochs").set_value(3).run()
        followed(at.button(key="train.start").click().run())
        assert not at.exception
        assert "Done: 3 epochs in" in texts(at.success) and "(3 in total)" in texts(at.success)
        assert len(workspace(at).history) == 3
        live = at.get("vega_lite_chart")
        assert len(live) == 3  # loss, accuracy and the decision boundary, as Vega charts updated in place
        assert [chart.key for chart in at.get("plotly_chart")][0] == "replay.network"  # then the network
        followed(at.button(key="train.start").click().run())
        assert len(workspace(at).history) == 6  # continued, not restarted
        followed(at.button(key="train.step").click().run())
        assert len(workspace(at).history) == 7 and "Done: 1 epoch in" in texts(at.success)
        at.button(key="train.reset").click().run()
        assert workspace(at).history == [] and "Not trained yet." in texts(at.markdown)

    def test_settings_widgets_have_the_bounds_a_shared_link_is_checked_against(self):
        from nnviz.model.sharelink import RANGES

        at = open_app("pages/train.py")
        epochs = at.number_input(key="w.epochs")
        assert (epochs.min, epochs.max) == RANGES["epochs"]
        split = at.slider(key="w.validation_split")
        assert (split.min, split.max) == RANGES["validation_split"]

    def test_a_paused_run_offers_to_resume_the_epochs_left(self):
        at = open_app("pages/train.py")
        job = workspace(at).job

        def pause_after_two_epochs():  # as a click on Pause would, while the page follows the run
            while len(job.history) < 2:
                time.sleep(0.01)
            job.pause()

        job.start(400)
        threading.Thread(target=pause_after_two_epochs).start()
        followed(at)  # the page follows the run until it pauses, then shows the new buttons
        left = 400 - len(workspace(at).history)
        assert at.button(key="train.start").label == f"Resume ({left} left)"
        assert re.search(r"Paused (after|during) epoch", texts(at.info))
        assert not at.button(key="train.stop").disabled
        at.button(key="train.stop").click().run()
        assert re.search(r"Stopped (after|during) epoch", texts(at.info))
        assert at.button(key="train.start").label == "Train"

    def test_changed_architecture_rebuilds_the_model_and_says_so(self):
        at = open_app("pages/train.py")
        at.number_input(key="w.epochs").set_value(1).run()
        followed(at.button(key="train.start").click().run())
        at.switch_page("pages/build.py").run()
        at.number_input(key=f"w.moons.{workspace(at).rows[0].id}.units").set_value(4).run()
        at.switch_page("pages/train.py").run()
        assert "rebuilt with fresh weights" in texts(at.info) and workspace(at).history == []

    def test_invalid_network_is_explained_instead_of_trained(self):
        at = open_app("pages/build.py")
        last = workspace(at).rows[-1].id
        at.selectbox(key=f"w.moons.{last}.activation").set_value("softmax").run()
        at.switch_page("pages/train.py").run()
        assert not at.exception and "The network cannot be trained yet:" in texts(at.warning)
        assert not at.button  # nothing to press until it is fixed

    def test_regression_shows_predicted_against_actual(self):
        at = choose_dataset(open_app(), "housing")
        at.switch_page("pages/train.py").run()
        at.number_input(key="w.epochs").set_value(2).run()
        followed(at.button(key="train.start").click().run())
        assert not at.exception and "Predicted vs actual (test rows)" in texts(at.subheader)

    def test_keras_state_survives_a_rerun(self):
        """Streamlit would call keras.backend.clear_session() after every run (0.3 s, and state
        pulled from under running trainings); app.py turns that off."""
        import keras

        at = open_app("pages/train.py")
        before = keras.layers.Dense(1).name
        at.run()
        after = keras.layers.Dense(1).name
        assert after not in ("dense", before)  # the layer-name counter was not reset


class TestInspectPage:
    def test_every_layer_agrees_with_numpy_and_a_prediction_is_given(self):
        at = open_app("pages/inspect.py")
        assert "not been trained yet" in texts(at.warning)
        assert forward_agreements(at) == 3  # one per layer going forward
        assert any(h.value.startswith("Prediction: ") for h in at.subheader)

    @pytest.mark.parametrize(
        ("dataset", "keras_call"),
        [
            ("moons", "keras.losses.binary_crossentropy"),
            ("iris", "keras.losses.sparse_categorical_crossentropy"),
            ("housing", "keras.losses.mean_squared_error"),
        ],
    )
    def test_the_loss_of_the_sample_is_worked_out_beside_keras(self, dataset, keras_call):
        at = choose_dataset(open_app(), dataset)
        at.switch_page("pages/inspect.py").run()
        assert not at.exception
        assert "From the output to the loss" in texts(at.subheader)
        calls = keras_calls(at)
        loss_name = keras_call.removeprefix("keras.losses.")
        assert "model.compute_loss(y=y, y_pred=model(x))" in calls, calls
        assert f"# loss: compiled {loss_name}" in texts(at.code)
        assert "comparison" in texts(at.success) and not at.error

    def test_a_misclassified_sample_is_offered(self):
        at = open_app("pages/inspect.py")
        at.radio(key="inspect.how").set_value("A misclassified one").run()
        assert not at.exception
        wrong = at.selectbox(key="inspect.moons.wrong")
        assert "misclassified" in wrong.label and ":red[wrong: the true moon is" in texts(at.subheader)

    @pytest.mark.parametrize("dataset", ["mnist", "housing"])
    def test_images_and_regression_step_through(self, dataset):
        at = choose_dataset(open_app(), dataset)
        at.switch_page("pages/inspect.py").run()
        assert not at.exception and not at.error
        layers = len(workspace(at, dataset).rows)
        assert forward_agreements(at) == layers

    def test_mnist_offers_a_canvas_that_waits_for_a_drawing(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/inspect.py").run()
        at.radio(key="inspect.how").set_value("Draw a digit").run()
        assert not at.exception
        assert "Draw a digit in the box" in texts(at.info)

    def test_a_convolutional_network_shows_filters_maps_and_one_worked_window(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/build.py").run()
        at.button(key="mnist.starter.cnn").click().run()
        at.switch_page("pages/inspect.py").run()
        assert not at.exception and not at.error
        layers = len(workspace(at, "mnist").rows)
        assert forward_agreements(at) == layers
        captions = texts(at.caption)
        assert "z[14, 14, 0] = the sum of the products over the one input channel" in captions
        assert "the largest value in this window" in captions
        conv = next(k for k, row in enumerate(workspace(at, "mnist").rows) if row.layer.kind == "Conv2D")
        charts = [chart.proto.id for chart in at.get("plotly_chart")]
        at.number_input(key=f"inspect.cell.{conv}.channel").set_value(3).run()
        assert "z[14, 14, 3] =" in texts(at.caption)
        # a rerun keeps the charts that did not change (same element id): the browser updates them
        # in place instead of drawing every chart of the page afresh
        again = [chart.proto.id for chart in at.get("plotly_chart")]
        assert len(set(charts) & set(again)) >= len(charts) - 3, (len(charts), len(set(charts) & set(again)))

    def test_a_sample_is_found_by_its_row_in_the_original_data(self):
        from sklearn.datasets import load_iris
        from sklearn.model_selection import train_test_split

        raw = load_iris()
        train_rows, test_rows = train_test_split(
            np.arange(150), test_size=0.2, random_state=0, stratify=raw.target
        )  # the app's default seed is 0
        at = choose_dataset(open_app(), "iris")
        at.switch_page("pages/inspect.py").run()
        at.radio(key="inspect.how").set_value("Dataset row").run()
        at.number_input(key="inspect.iris.row").set_value(0).run()
        assert not at.exception
        position = int(np.flatnonzero(test_rows == 0)[0])  # 28
        assert f"Dataset row 0 = test row {position} · true species: **setosa**" in texts(at.markdown)
        assert f"Dataset row 0 is test row {position}" in texts(at.caption)
        np.testing.assert_allclose(at.dataframe[0].value["value"], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
        for row in (int(train_rows[0]), int(train_rows[-1]), int(test_rows[-1])):
            at.number_input(key="inspect.iris.row").set_value(row).run()
            part = "test" if row in test_rows else "training"
            assert f"Dataset row {row} is {part} row" in texts(at.caption)
            np.testing.assert_allclose(at.dataframe[0].value["value"], raw.data[row], rtol=1e-6)
            species = raw.target_names[raw.target[row]]
            assert f"true species: **{species}**" in texts(at.markdown)
        at.radio(key="inspect.how").set_value("Test row").run()
        at.number_input(key="inspect.iris.index").set_value(position).run()
        assert f"Test row {position} (dataset row 0)" in texts(at.markdown)

    def test_a_typed_row_gives_what_model_predict_gives(self):
        at = choose_dataset(open_app(), "iris")
        at.switch_page("pages/inspect.py").run()
        at.radio(key="inspect.how").set_value("Type your own").run()
        for k, value in enumerate([7.0, 3.2, 4.7, 1.4]):  # the course's predict_and_log input
            at.number_input(key=f"inspect.iris.typed.{k}").set_value(value)
        at.run()
        assert not at.exception and not at.error
        ws = workspace(at, "iris")
        expected = ws.model.predict(np.array([[7.0, 3.2, 4.7, 1.4]], dtype=np.float32), verbose=0)[0]
        keras_column = [frame.value["Keras"] for frame in at.dataframe if "Keras" in frame.value.columns]
        np.testing.assert_allclose(keras_column[-1], expected, rtol=1e-6)
        assert forward_agreements(at) == len(ws.rows)
        assert f"with probability {expected.max():.3f}" in texts(at.subheader)
        assert "has no true label" in texts(at.info)  # no label: no loss, and it says why
        at.selectbox(key="inspect.iris.typed.truth").set_value(1).run()
        assert not at.exception and "true species: **versicolor**" in texts(at.markdown)
        assert any(
            call.startswith("keras.losses.sparse_categorical_crossentropy") for call in keras_calls(at)
        )

    def test_a_typed_row_in_raw_units_is_scaled_as_the_training_rows_were(self):
        from sklearn.datasets import load_diabetes
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        at = choose_dataset(open_app(), "housing")  # offline: the diabetes stand-in
        at.switch_page("pages/inspect.py").run()
        at.radio(key="inspect.how").set_value("Type your own").run()
        raw = load_diabetes().data
        train, _ = train_test_split(raw, test_size=0.2, random_state=0)
        typed = [0.05, -0.04, 0.06, 0.02, -0.03, 0.01, -0.02, 0.03, 0.04, -0.01]
        for k, value in enumerate(typed):
            at.number_input(key=f"inspect.housing.typed.{k}").set_value(value)
        at.run()
        assert not at.exception and not at.error
        scaled = StandardScaler().fit(train).transform([typed]).astype(np.float32)
        table = next(frame.value for frame in at.dataframe if "network input" in frame.value.columns)
        np.testing.assert_allclose(table["network input"], scaled[0], rtol=1e-5)
        ws = workspace(at, "housing")
        expected = float(ws.model.predict(scaled, verbose=0)[0, 0])
        assert f"Prediction: {expected:.3f}" in texts(at.subheader)
        np.testing.assert_allclose(at.dataframe[1].value["value"], scaled[0], rtol=1e-6)  # the input shown

    @pytest.mark.parametrize("dataset", ["moons", "iris", "housing"])
    def test_steps_keras_has_no_function_for_show_a_dash_not_none(self, dataset):
        at = choose_dataset(open_app(), dataset)
        at.switch_page("pages/inspect.py").run()
        for frame in at.dataframe:
            if frame.value.isna().any().any():  # a missing value is drawn as the placeholder
                assert frame.proto.placeholder == "—", list(frame.value.columns)
            # No column of sentences: it pushed the table past the page's width.
            assert "meaning" not in frame.value.columns
        steps = [  # the loss's steps (the update's table has "after (Keras)" instead)
            frame.value for frame in at.dataframe if {"Keras", "|numpy − Keras|"} <= set(frame.value.columns)
        ][-1]
        if steps["Keras"].isna().any():
            assert "— : Keras has no function of its own for this step" in texts(at.caption)

    @pytest.mark.parametrize("value", [1e39, -4e38])
    def test_a_typed_value_the_network_cannot_take_is_named(self, value):
        at = choose_dataset(open_app(), "iris")
        at.switch_page("pages/inspect.py").run()
        at.radio(key="inspect.how").set_value("Type your own").run()
        at.number_input(key="inspect.iris.typed.2").set_value(value).run()
        assert not at.exception
        assert f"petal length={value:g} is beyond float32's range" in texts(at.error).replace("\\", "")
        assert not any(s.value.startswith("Prediction") for s in at.subheader)


class TestSharing:
    def test_two_users_training_at_once_see_only_their_own_numbers(self):
        alice, bob = open_app("pages/train.py"), open_app("pages/train.py")
        bob.session_state["seed"] = 5  # other starting weights (the sidebar is not in AppTest's tree)
        bob.run()
        workspace(alice).job.start(150)  # as Alice's click on Train would; her page is not rerun yet
        bob.number_input(key="w.epochs").set_value(7).run()
        followed(bob.button(key="train.start").click().run())  # Bob trains while Alice's run goes on
        assert workspace(alice).job.running, "the two runs must overlap for this test to mean anything"
        followed(alice)  # her page follows her run to its end
        assert not alice.exception and not bob.exception
        assert len(workspace(alice).history) == 150 and len(workspace(bob).history) == 7
        assert workspace(alice).model is not workspace(bob).model
        assert workspace(alice).history[:7] != workspace(bob).history
        assert "150 epochs trained so far." in texts(alice.markdown)
        assert "7 epochs trained so far." in texts(bob.markdown)

    def test_a_run_longer_than_the_server_allows_is_refused_with_the_most_it_can_do(self, monkeypatch):
        monkeypatch.setenv("NNVIZ_MAX_EPOCH_ROWS", "1000")
        at = open_app("pages/train.py")
        at.number_input(key="w.epochs").set_value(50).run()
        rows = workspace(at).job.trainer.n_train
        assert f"50 epochs × {rows} rows is more than this server allows" in texts(at.warning)
        assert f"train at most {1000 // rows} epochs at a time" in texts(at.warning)
        assert at.button(key="train.start").disabled
        at.number_input(key="w.epochs").set_value(1000 // rows).run()
        assert not at.warning and not at.button(key="train.start").disabled


class TestOwnData:
    GOOD = "\n".join(
        ["name,size,weight,<i>kind</i>"] + [f"p{k},{k % 9},{k * 0.5},{'ab'[k % 2]}" for k in range(40)]
    )

    def upload(self, content: bytes, name: str = "mine.csv") -> AppTest:
        at = choose_dataset(open_app(), "csv")
        at.get("file_uploader")[0].set_value((name, content, "text/csv")).run()
        assert not at.exception, at.exception
        return at

    def test_other_pages_point_to_the_upload_first(self):
        at = choose_dataset(open_app(), "csv")
        at.switch_page("pages/build.py").run()
        assert "Upload a CSV file and choose its target on the Data page first." in texts(at.info)

    def test_its_export_is_the_model_alone_and_says_why(self):
        at = self.upload(self.GOOD.encode())
        at.switch_page("pages/build.py").run()
        at.radio(key="build.code_scope").set_value("script").run()
        assert "cannot be loaded by exported code" in texts(at.info) and not at.exception

    def test_a_good_file_trains_with_its_text_columns_left_out(self):
        at = self.upload(self.GOOD.encode())
        assert "Left out 1 column that holds text" in texts(at.caption)
        assert {m.label: m.value for m in at.metric}["Task"] == "2 classes"
        at.switch_page("pages/train.py").run()
        at.number_input(key="w.epochs").set_value(2).run()
        followed(at.button(key="train.start").click().run())
        assert not at.exception and "Done: 2 epochs in" in texts(at.success)

    def test_markup_in_column_names_is_shown_as_text(self):
        at = self.upload(self.GOOD.encode())
        at.switch_page("pages/build.py").run()
        caption = texts(at.caption)
        assert r"it predicts \<i\>kind\</i\>" in caption and "<i>kind</i>" not in caption
        assert at.session_state["csv_dataset"].target_name == "<i>kind</i>"  # the name itself is kept

    def test_a_bad_file_gets_a_message_not_a_traceback(self):
        at = self.upload("a,b\n1,caf\u00e9\n".encode("latin-1"))
        assert "not UTF-8 text" in texts(at.error).replace("\\", "") and not at.exception
        assert at.session_state["csv_dataset"] is None


class TestModelFiles:
    def test_an_exported_spec_imports_layers_and_settings(self):
        from nnviz.model.modelfiles import spec_json
        from nnviz.model.spec import LayerSpec, ModelSpec

        spec = ModelSpec(
            (2,),
            (LayerSpec("Dense", 5, "tanh"), LayerSpec("Dense", 1, "sigmoid")),
            "binary_crossentropy",
            "sgd",
            0.1,
        )
        raw = spec_json(
            spec, settings={"epochs": 33, "batch_size": 8, "seed": 9, "validation_split": 7}
        ).encode()
        at = open_app("pages/build.py")
        at.get("file_uploader")[0].set_value(("net.json", raw, "application/json")).run()
        assert not at.exception
        assert [row.layer for row in workspace(at).rows] == list(spec.layers)
        assert (at.session_state["epochs"], at.session_state["batch_size"], at.session_state["seed"]) == (
            33,
            8,
            9,
        )
        assert at.session_state["validation_split"] == 0.2  # 7 is out of range: left unchanged
        assert at.number_input(key=f"w.moons.{workspace(at).rows[0].id}.units").value == 5

    def test_a_hostile_spec_is_refused_and_nothing_changes(self):
        raw = b'{"format": "nnviz-spec/1", "model": {"input_shape": [2], "loss": "mse", "layers": [{"kind": "Lambda"}]}}'
        at = open_app("pages/build.py")
        before = [row.layer for row in workspace(at).rows]
        at.get("file_uploader")[0].set_value(("evil.json", raw, "application/json")).run()
        assert "'Lambda' is not supported" in texts(at.error).replace("\\", "")
        assert [row.layer for row in workspace(at).rows] == before and not at.exception

    def test_weights_load_from_npz_and_a_pickle_is_refused(self):
        import io

        import numpy as np

        at = open_app("pages/train.py")
        labels = [button.proto.label for button in at.get("download_button")]
        assert labels == ["Download the model (.keras)", "Download the weights (.npz)"]
        model = workspace(at).model
        before = [w.copy() for w in model.get_weights()]
        hostile = io.BytesIO()
        np.savez(hostile, *[w.astype(object) for w in before])  # object arrays: what pickles hide in
        at.get("file_uploader")[0].set_value(
            ("evil.npz", hostile.getvalue(), "application/octet-stream")
        ).run()
        assert "not a plain .npz of numeric arrays" in texts(at.error).replace("\\", "")
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
        good = io.BytesIO()
        np.savez(good, *[w + 1 for w in before])
        at.get("file_uploader")[0].set_value(("mine.npz", good.getvalue(), "application/octet-stream")).run()
        assert "Weights loaded" in texts(at.success)
        assert all(np.array_equal(a, b + 1) for a, b in zip(model.get_weights(), before))


class TestLecturerMode:
    LINK = {
        "dataset": "iris",
        "seed": "7",
        "epochs": "12",
        "batch": "64",
        "val": "0.1",
        "layers": "Dense_5_tanh~Dropout_0.25~Dense_3_softmax",
        "optimizer": "sgd",
        "lr": "0.003",
    }

    def open_link(self, query: dict) -> AppTest:
        at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, at.exception
        return at

    def test_a_link_opens_its_dataset_settings_and_network(self):
        at = self.open_link(self.LINK)
        at.switch_page("pages/build.py").run()
        session = at.session_state
        assert (session["dataset"], session["seed"], session["epochs"]) == ("iris", 7, 12)
        assert (session["batch_size"], session["validation_split"]) == (64, 0.1)
        ws = workspace(at, "iris")
        assert [row.layer.label() for row in ws.rows] == [
            "Dense(5, tanh)",
            "Dropout(0.25)",
            "Dense(3, softmax)",
        ]
        assert (ws.optimizer, ws.learning_rate) == ("sgd", 0.003)
        assert "Ready to train." in texts(at.success)

    def test_the_share_link_reopens_exactly_the_same_setup(self):
        # AppTest shows the sidebar (where the link is) on an app's first run only: set up before it.
        first = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        moons = load_two_moons(500, noise=0.3, random_state=11)
        edited = Workspace.starter(moons)
        edited.set_layer(0, units=5, activation="tanh")
        edited.learning_rate = 0.03
        for key, value in {"moons_samples": 500, "moons_noise": 0.3, "seed": 11, "epochs": 9}.items():
            first.session_state[key] = value
        first.session_state["workspaces"] = {"moons": edited}
        first.run()
        assert not first.exception, first.exception
        [link] = [c.value for c in first.code if c.value.startswith("http")]
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
        second = self.open_link(query)
        second.switch_page("pages/build.py").run()
        for key in (
            "dataset",
            "seed",
            "moons_samples",
            "moons_noise",
            "epochs",
            "batch_size",
            "validation_split",
        ):
            assert second.session_state[key] == first.session_state[key], key
        mine, theirs = workspace(first), workspace(second)
        assert [r.layer for r in theirs.rows] == [r.layer for r in mine.rows]
        assert (theirs.loss, theirs.optimizer, theirs.learning_rate) == (
            mine.loss,
            mine.optimizer,
            mine.learning_rate,
        )

    def test_a_bad_link_says_what_it_ignored_and_keeps_the_rest(self):
        at = self.open_link({"dataset": "iris", "epochs": "-4", "layers": "Lambda_x"})
        warnings = [warning.proto.body for warning in at.warning]  # as sent: escaped Markdown
        shown = " ".join(warnings).replace("\\", "")  # what the browser shows
        assert "epochs='-4' was ignored" in shown and "'Lambda' is not a layer kind" in shown
        assert any("\\-4" in warning for warning in warnings)  # the link's text is escaped, not markup
        assert at.session_state["dataset"] == "iris" and at.session_state["epochs"] == 50

    def test_present_in_the_link_turns_on_presentation_mode(self):
        at = self.open_link({"present": "1"})
        assert at.session_state["present"] is True
        assert any("font-size: 22px" in m.value for m in at.markdown)
        assert at.toggle(key="w.present").value is True  # the way back, at the top of the page
        at.toggle(key="w.present").set_value(False).run()
        assert not any("font-size: 22px" in m.value for m in at.markdown)


class TestEvaluatePage:
    def test_classification_shows_accuracy_confusion_per_class_scores_and_mistakes(self):
        at = choose_dataset(open_app(), "iris")
        at.switch_page("pages/train.py").run()
        at.number_input(key="w.epochs").set_value(30).run()
        followed(at.button(key="train.start").click().run())
        at.switch_page("pages/evaluate.py").run()
        assert not at.exception and not at.warning
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Test rows"] == "30" and metrics["Accuracy"].endswith("%")
        scores = at.dataframe[0].value
        assert list(scores.index) == ["setosa", "versicolor", "virginica"]
        assert scores["rows"].sum() == 30 and scores["recall"].between(0, 1).all()
        assert "Confusion matrix" in texts(at.subheader)

    def test_an_untrained_model_is_scored_with_a_warning(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/evaluate.py").run()
        assert not at.exception
        assert "not been trained yet" in texts(at.warning)
        assert "The mistakes, most confident first" in texts(at.subheader)
        assert len(at.get("plotly_chart")) == 2  # the confusion matrix and the gallery of mistakes

    def test_regression_shows_r2_rmse_mae_and_residuals(self):
        at = choose_dataset(open_app(), "housing")
        at.switch_page("pages/evaluate.py").run()
        assert not at.exception
        assert [m.label for m in at.metric] == ["R²", "RMSE", "MAE"]
        assert len(at.get("plotly_chart")) == 2


class TestLookBack:
    def test_after_training_any_epoch_can_be_replayed_with_the_network_and_neuron_maps(self):
        at = open_app("pages/train.py")
        at.number_input(key="w.epochs").set_value(12).run()
        followed(at.button(key="train.start").click().run())
        ws = workspace(at)
        assert ws.snapshots.epochs[0] == 0 and ws.snapshots.epochs[-1] == 12
        assert "Inside the network after epoch 12" in texts(at.subheader)
        at.select_slider(key="replay.moons.epoch").set_value(0).run()
        assert not at.exception
        # The replayed model computes with the starting weights; the real one keeps the trained ones.
        for replayed, start in zip(ws.replay_model.get_weights(), ws.snapshots.at(0), strict=True):
            np.testing.assert_array_equal(replayed, start)
        assert any(not np.array_equal(a, b) for a, b in zip(ws.model.get_weights(), ws.snapshots.at(0)))
        assert "What each neuron responds to" in texts(at.markdown)
        captions = texts(at.caption).replace("\\", "")  # the labels are shown escaped, as text
        # Each row of maps is named after its layer as the Build page names it, not "0" and "1".
        assert "Layer 1 · Dense(8, relu)" in captions and "Layer 2 · Dense(8, relu)" in captions
        assert not re.search(r"^[01]$", texts(at.caption), flags=re.MULTILINE)
        assert "Inside the network after epoch 0" in texts(at.subheader)
        at.toggle(key="replay.spreads").set_value(True).run()
        charts = {chart.key for chart in at.get("plotly_chart")}
        assert {"replay.hist.0.kernel", "replay.hist.0.bias", "replay.hist.2.bias"} <= charts

    def test_a_convolutional_network_explains_why_it_has_no_picture(self):
        at = choose_dataset(open_app(), "mnist")
        at.switch_page("pages/build.py").run()
        at.button(key="mnist.starter.cnn").click().run()
        at.switch_page("pages/train.py").run()
        at.number_input(key="w.epochs").set_value(1).run()
        followed(at.button(key="train.start").click().run())
        assert not at.exception
        assert "draws Dense layers only, not Conv2D" in texts(at.caption)
