"""A lesson's setup survives the trip through a link exactly; a bad link is refused item by item."""

import urllib.parse

import pytest

from nnviz.model.sharelink import from_query, layers_text, parse_layers, to_query
from nnviz.model.spec import LayerSpec, SpecError, Target, starter_spec

ALL_KINDS = (
    LayerSpec("Reshape", target_shape=(28, 28, 1)),
    LayerSpec("Rescaling", scale=1 / 255, offset=-0.5),
    LayerSpec("Conv2D", filters=6, kernel_size=5, strides=2, padding="same", activation="tanh"),
    LayerSpec("BatchNormalization"),
    LayerSpec("MaxPooling2D", pool_size=3),
    LayerSpec("Flatten"),
    LayerSpec("Dense", units=33, activation="sigmoid"),
    LayerSpec("Dropout", rate=0.35),
    LayerSpec("Activation", activation="relu"),
    LayerSpec("Dense", units=10, activation="softmax"),
)

SETUP = {
    "dataset": "mnist",
    "seed": 1234,
    "moons_samples": 650,
    "moons_noise": 0.07,
    "epochs": 12,
    "batch_size": 64,
    "validation_split": 0.15,
    "layers": ALL_KINDS,
    "loss": "sparse_categorical_crossentropy",
    "optimizer": "rmsprop",
    "learning_rate": 0.0003,
    "present": True,
    "code_api": "functional",
    "lesson": "01-iris",
    "lesson_step": 4,
}


def test_every_setting_and_layer_kind_survives_a_real_url_exactly():
    url = "https://nnviz.example/?" + urllib.parse.urlencode(to_query(SETUP))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    settings, problems = from_query(query)
    assert problems == []
    assert settings == SETUP  # floats included: 1/255 comes back as the very same float


def test_layers_read_as_a_lecturer_would_write_them():
    starter = starter_spec((2,), Target("binary", 2, "moon"))
    assert layers_text(starter.layers) == "Dense_8_relu~Dense_8_relu~Dense_1_sigmoid"
    assert parse_layers("Dense_4_tanh~Dense_1_sigmoid") == (
        LayerSpec("Dense", 4, "tanh"),
        LayerSpec("Dense", 1, "sigmoid"),
    )
    assert "%" not in urllib.parse.quote(layers_text(ALL_KINDS), safe="~")  # nothing needs escaping


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Lambda_os.system", "'Lambda' is not a layer kind"),
        ("Dense_8", "should be written Dense_units_activation"),
        ("Dense_eight_relu", "Dense.units must be int"),
        (
            "Conv2D_8_3_1_same_relu_extra",
            "should be written Conv2D_filters_kernel_size_strides_padding_activation",
        ),
        ("Reshape_28x28x1x1", "Reshape.target_shape must be a list of 1 to 3 whole numbers"),
    ],
)
def test_unreadable_layers_are_named_with_the_way_to_write_them(text, fragment):
    with pytest.raises(SpecError) as caught:
        parse_layers(text)
    assert fragment in str(caught.value)


def test_a_bad_parameter_is_left_out_with_a_reason_and_the_rest_is_kept():
    settings, problems = from_query(
        {
            "dataset": "<script>alert(1)</script>",
            "seed": "7",
            "epochs": "100000",
            "batch": "3",
            "val": "half",
            "lr": "0.01",
            "utm_source": "mail",  # someone else's parameter: not ours to judge
        }
    )
    assert settings == {"seed": 7, "learning_rate": 0.01}
    assert len(problems) == 4
    assert any("dataset=" in p and "use one of moons, iris, housing, mnist" in p for p in problems)
    assert any("epochs=" in p and "between 1 and 1000" in p for p in problems)
    assert any("batch=" in p and "use one of 1, 4, 8" in p for p in problems)
    assert any("val=" in p and "should be a number" in p for p in problems)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("api", "keras", "use one of sequential, functional"),
        ("lesson", "../../etc/passwd", "lower-case letters"),
        ("lesson", "A" * 64, "lower-case letters"),
        ("step", "0", "between 1 and 99"),
        ("step", "1.5", "whole number"),
        ("dataset", "sum6", "sum5"),
    ],
)
def test_the_export_api_the_lesson_and_its_step_are_checked_like_any_setting(name, value, fragment):
    settings, problems = from_query({name: value, "epochs": "7"})
    assert settings == {"epochs": 7}
    assert len(problems) == 1 and problems[0].startswith(f"The link's {name}=") and fragment in problems[0]
