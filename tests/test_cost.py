"""FLOPs per sample, per run and per evaluation, checked against hand counts, Keras's parameter
counts and TensorFlow's own profiler; and the limits' messages."""

import math

import numpy as np
import pytest

from nnviz.model.cost import (
    CostLimits,
    evaluation_problem,
    flops_text,
    layer_costs,
    rows_per_call,
    run_problem,
    sample_flops,
    sample_problems,
    training_flops,
    view_resolution,
)
from nnviz.model.spec import LayerSpec, ModelSpec, Target, check_spec

MNIST = Target("multiclass", 10, "digit")


def spec(input_shape, *layers, loss="sparse_categorical_crossentropy"):
    return ModelSpec(tuple(input_shape), tuple(layers), loss)


def conv(filters, size, *, strides=1, padding="valid"):
    return LayerSpec("Conv2D", filters=filters, kernel_size=size, strides=strides, padding=padding)


def heavy_cnn(filters=1024, size=11):
    """The audit's kind of network: within the 2 M-parameter limit, but ~1.6 GFLOP per image."""
    return spec(
        (28, 28),
        LayerSpec("Reshape", target_shape=(28, 28, 1)),
        conv(8, 3, padding="same"),
        conv(filters, size, padding="same"),
        LayerSpec("MaxPooling2D", pool_size=4),
        LayerSpec("Flatten"),
        LayerSpec("Dense", 10, "softmax"),
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # Dense: inputs × units, layer by layer (biases and activations are not counted).
        (spec((4,), LayerSpec("Dense", 5), LayerSpec("Dense", 3)), [4 * 5, 5 * 3]),
        # Conv2D valid: a 5×5 image, a 3×3 kernel fits at 3×3 places; 9 products × 1 channel × 8 filters.
        (spec((5, 5, 1), conv(8, 3)), [3 * 3 * 9 * 1 * 8]),
        # Conv2D same, stride 2 on 5×5×2: ceil(5/2) = 3 positions per side, padding positions included.
        (spec((5, 5, 2), conv(4, 3, strides=2, padding="same")), [3 * 3 * 9 * 2 * 4]),
        # Conv2D valid, stride 3 on 10×10×3 with a 4×4 kernel: (10-4)//3 + 1 = 3 positions per side.
        (spec((10, 10, 3), conv(2, 4, strides=3)), [3 * 3 * 16 * 3 * 2]),
        # MaxPooling2D 2×2 on 4×4×3 (2×2×3 windows of 4 values), then 5×5×1 pooled by 2 (floor: 2×2).
        (spec((4, 4, 3), LayerSpec("MaxPooling2D", pool_size=2)), [2 * 2 * 3 * 4]),
        (spec((5, 5, 1), LayerSpec("MaxPooling2D", pool_size=2)), [2 * 2 * 1 * 4]),
        # One operation per value: BatchNormalization, Rescaling, Activation; none for the rest.
        (
            spec(
                (6,),
                LayerSpec("BatchNormalization"),
                LayerSpec("Rescaling"),
                LayerSpec("Activation", activation="tanh"),
                LayerSpec("Dropout"),
                LayerSpec("Reshape", target_shape=(2, 3)),
                LayerSpec("Flatten"),
            ),
            [6, 6, 6, 0, 0, 0],
        ),
        # A Dense layer on a 28×28 matrix applies its 28×16 weights at each of the 28 rows.
        (spec((28, 28), LayerSpec("Dense", 16)), [28 * 28 * 16]),
        # The MNIST convolutional starter: 28·28·9·8, pool, 14·14·9·8·16, pool, flatten, 784·10.
        (
            spec(
                (28, 28, 1),
                conv(8, 3, padding="same"),
                LayerSpec("MaxPooling2D", pool_size=2),
                conv(16, 3, padding="same"),
                LayerSpec("MaxPooling2D", pool_size=2),
                LayerSpec("Flatten"),
                LayerSpec("Dense", 10, "softmax"),
            ),
            [56448, 14 * 14 * 8 * 4, 225792, 7 * 7 * 16 * 4, 0, 7840],
        ),
    ],
)
def test_each_layer_costs_what_a_hand_count_says(model, expected):
    assert [cost.flops for cost in layer_costs(model)] == expected
    assert sample_flops(model) == sum(expected)


def test_layers_after_one_that_does_not_fit_are_not_counted():
    model = spec((4,), LayerSpec("Dense", 5), conv(8, 3), LayerSpec("Dense", 3))
    assert [cost.position for cost in layer_costs(model)] == [1]


@pytest.mark.parametrize("seed", range(6))
def test_dense_networks_cost_their_weights_as_keras_counts_them(seed):
    """For vectors, a Dense layer does one multiply-add per weight: Keras's parameters minus its biases."""
    from nnviz.model.build import build_model

    rng = np.random.default_rng(seed)
    widths = rng.integers(1, 200, size=rng.integers(2, 6)).tolist()
    model = spec((int(rng.integers(1, 50)),), *(LayerSpec("Dense", int(w)) for w in widths))
    keras_model = build_model(model, seed=0)
    biases = sum(int(np.prod(w.shape)) for w in keras_model.weights if w.path.endswith("bias"))
    assert sample_flops(model) == keras_model.count_params() - biases


def _tensorflow_profile(model: ModelSpec) -> dict[str, int]:
    """TensorFlow's own FLOP count of one forward pass, per kind of op (a multiply-add counts 2)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from nnviz.model.build import build_model

    keras_model = build_model(model, seed=0)
    function = tf.function(lambda x: keras_model(x, training=False)).get_concrete_function(
        tf.TensorSpec([1, *model.input_shape], tf.float32)
    )
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(
        graph=convert_variables_to_constants_v2(function).graph, options=options
    )
    counts: dict[str, int] = {}
    for node in profile.children:
        kind = node.name.rsplit("/", 1)[-1]
        counts[kind] = counts.get(kind, 0) + node.total_float_ops
    return counts


def _random_image_network(rng) -> ModelSpec:
    side = int(rng.integers(8, 33))
    layers = []
    shape = (side, side, int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(1, 4))):
        size = int(rng.integers(1, min(5, shape[0]) + 1))
        layer = conv(
            int(rng.integers(1, 24)),
            size,
            strides=int(rng.integers(1, 3)),
            padding=str(rng.choice(["valid", "same"])),
        )
        layers.append(layer)
        rows = ModelSpec(shape, tuple(layers), "mse")
        out = layer_costs(rows)
        if len(out) < len(layers):
            layers.pop()
            break
        if rng.random() < 0.5:
            layers.append(LayerSpec("MaxPooling2D", pool_size=2))
            if len(layer_costs(ModelSpec(shape, tuple(layers), "mse"))) < len(layers):
                layers.pop()
    layers += [LayerSpec("Flatten"), LayerSpec("Dense", int(rng.integers(1, 20)))]
    return ModelSpec(shape, tuple(layers), "mse")


@pytest.mark.parametrize("seed", range(8))
def test_convolutions_pooling_and_dense_layers_cost_what_tensorflow_profiles(seed):
    model = _random_image_network(np.random.default_rng(seed))
    counts = _tensorflow_profile(model)
    by_kind: dict[str, int] = {}
    for cost in layer_costs(model):
        by_kind[cost.kind] = by_kind.get(cost.kind, 0) + cost.flops
    assert 2 * by_kind.get("Conv2D", 0) == counts.get("convolution", 0) + counts.get("Conv2D", 0)
    assert 2 * by_kind["Dense"] == counts["MatMul"]
    assert by_kind.get("MaxPooling2D", 0) == sum(v for k, v in counts.items() if k.startswith("MaxPool"))


def test_a_dense_layer_on_a_matrix_costs_what_tensorflow_profiles():
    model = spec((7, 5), LayerSpec("Dense", 3), LayerSpec("Flatten"), LayerSpec("Dense", 2))
    counts = _tensorflow_profile(model)
    assert 2 * sample_flops(model) == sum(v for k, v in counts.items() if "MatMul" in k or "Tensordot" in k)


@pytest.mark.parametrize(
    ("flops", "text"),
    [(80, "80 FLOP"), (1_500, "1.5 kFLOP"), (200_000_000, "200 MFLOP"), (1_554_251_776, "1.55 GFLOP")],
)
def test_figures_are_written_with_their_prefix(flops, text):
    assert flops_text(flops) == text


class TestSampleLimit:
    def test_the_audit_network_is_within_the_parameter_limit_but_refused_by_the_work_limit(self):
        model = heavy_cnn()
        assert check_spec(model, MNIST) == []  # 2 M parameters allow it
        expected = 28 * 28 * 9 * 8 + 28 * 28 * 121 * 8 * 1024 + 7 * 7 * 1024 * 16 + 7 * 7 * 1024 * 10
        assert sample_flops(model) == expected
        (message,) = sample_problems(model, CostLimits(max_sample_flops=200_000_000))
        assert message.startswith(f"This network needs {flops_text(expected)} (multiply-adds) per image")
        assert "the limit on this server is 200 MFLOP (NNVIZ_MAX_SAMPLE_FLOPS)" in message
        assert "Layer 3 (Conv2D(1024, 11×11, same, relu))" in message
        assert "use fewer filters, a smaller kernel" in message

    def test_the_default_limit_refuses_a_single_wide_large_kernel_convolution(self):
        model = spec(
            (28, 28, 1),
            conv(1024, 11, padding="same"),
            LayerSpec("MaxPooling2D", pool_size=4),
            LayerSpec("Flatten"),
            LayerSpec("Dense", 10, "softmax"),
        )
        assert check_spec(model, MNIST) == []
        assert sample_flops(model) == 28 * 28 * 121 * 1024 + 7 * 7 * 1024 * 16 + 7 * 7 * 1024 * 10
        assert sample_problems(model, CostLimits())  # 98 MFLOP > 20 MFLOP

    @pytest.mark.parametrize(
        "model",
        [
            spec((4,), LayerSpec("Dense", 8), LayerSpec("Dense", 3, "softmax")),
            spec((28, 28), LayerSpec("Rescaling"), LayerSpec("Flatten"), LayerSpec("Dense", 128)),
            heavy_cnn(filters=16, size=3),
        ],
    )
    def test_ordinary_networks_pass_the_default_limit(self, model):
        assert sample_problems(model, CostLimits()) == []

    def test_the_limit_is_inclusive(self):
        model = spec((4,), LayerSpec("Dense", 5), LayerSpec("Dense", 3))  # 35 FLOP
        assert sample_problems(model, CostLimits(max_sample_flops=35)) == []
        assert sample_problems(model, CostLimits(max_sample_flops=34))

    def test_a_dense_layer_is_told_to_use_fewer_units(self):
        model = spec((784,), LayerSpec("Dense", 1024), LayerSpec("Dense", 10, "softmax"))
        (message,) = sample_problems(model, CostLimits(max_sample_flops=100_000))
        assert "per row" in message and "Layer 1 (Dense(1024, relu))" in message and "fewer units" in message

    def test_a_dense_layer_on_a_matrix_is_told_to_flatten_first(self):
        model = spec((28, 28), LayerSpec("Dense", 1024), LayerSpec("Flatten"), LayerSpec("Dense", 10))
        (message,) = sample_problems(model, CostLimits(max_sample_flops=100_000))
        assert "Flatten" in message and "per image" in message

    def test_limits_come_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("NNVIZ_MAX_SAMPLE_FLOPS", "1000")
        monkeypatch.setenv("NNVIZ_MAX_RUN_FLOPS", "5000")
        assert CostLimits.from_env() == CostLimits(max_sample_flops=1000, max_run_flops=5000)
        assert sample_problems(spec((64,), LayerSpec("Dense", 64)))  # 4,096 FLOP > 1,000
        monkeypatch.setenv("NNVIZ_MAX_RUN_FLOPS", "lots")
        with pytest.raises(ValueError, match="NNVIZ_MAX_RUN_FLOPS='lots'"):
            CostLimits.from_env()


class TestRunAndEvaluationLimits:
    model = spec((4,), LayerSpec("Dense", 5), LayerSpec("Dense", 3))  # 35 FLOP per row

    def test_training_counts_three_passes_per_row_and_epoch(self):
        assert training_flops(self.model, rows=100, epochs=7) == 3 * 35 * 100 * 7

    def test_the_message_says_how_many_epochs_fit(self):
        limits = CostLimits(max_run_flops=3 * 35 * 100 * 7 + 50)  # 7 epochs of 100 rows and a bit
        assert run_problem(self.model, epochs=7, rows=100, limits=limits) is None
        message = run_problem(self.model, epochs=8, rows=100, limits=limits)
        assert "8 epochs × 100 rows × 35 FLOP per row × 3" in message
        assert "NNVIZ_MAX_RUN_FLOPS" in message and "train at most 7 epochs at a time" in message

    def test_when_one_epoch_is_too_much_the_network_must_shrink(self):
        message = run_problem(self.model, epochs=1, rows=100, limits=CostLimits(max_run_flops=1000))
        assert "even one epoch is too much" in message and "smaller" in message

    def test_the_default_run_limit_bounds_the_audit_network_to_a_few_epochs_of_mnist(self):
        model = heavy_cnn(filters=64, size=5)
        per_epoch = 3 * sample_flops(model) * 60_000
        fit = CostLimits().max_run_flops // per_epoch
        assert 1 <= fit < 10
        assert f"train at most {fit} epoch" in run_problem(model, epochs=20, rows=60_000)

    def test_an_evaluation_is_one_pass_over_the_rows(self):
        limits = CostLimits(max_run_flops=35 * 1000)
        assert evaluation_problem(self.model, rows=1000, limits=limits) is None
        message = evaluation_problem(self.model, rows=1001, limits=limits)
        assert "1,001 rows × 35 FLOP per row is 35 kFLOP" in message and "smaller" in message


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # Tiny networks: as many rows as one call takes (4,096).
        (spec((4,), LayerSpec("Dense", 5), LayerSpec("Dense", 3)), 4096),
        # 1.6 GFLOP per image: 5 GFLOP per call gives 3 images.
        (heavy_cnn(), 5_000_000_000 // sample_flops(heavy_cnn())),
        # Memory bound: 28×28×1024 float32 outputs are 3.2 MB per image; 64 MB hold 20 of them.
        (
            spec((28, 28, 1), conv(1024, 1, padding="same"), LayerSpec("Flatten"), LayerSpec("Dense", 1)),
            64 * 2**20 // (4 * 28 * 28 * 1024),
        ),
    ],
)
def test_rows_per_call_bound_the_work_and_the_memory_of_one_call(model, expected):
    assert rows_per_call(model) == expected
    assert math.isfinite(expected) and expected >= 1


@pytest.mark.parametrize("width", [8, 300, 1000, 2000])
@pytest.mark.parametrize("dims", [1, 2])
def test_views_over_the_input_plane_get_the_points_a_redraw_can_afford(width, dims):
    """The live boundary predicts every point of its grid at each redraw: a wide network gets fewer
    points (never under 20 per axis), a small one all 150."""
    wide = spec(
        (2,),
        LayerSpec("Dense", units=width, activation="relu"),
        LayerSpec("Dense", units=width, activation="relu"),
        LayerSpec("Dense", units=2, activation="softmax"),
    )
    per_point = 2 * width + width * width + width * 2  # multiply-adds, counted by hand
    resolution = view_resolution(wide, dims=dims, most=150, budget=5e8)
    assert 20 <= resolution <= 150
    if resolution > 20:
        assert resolution**dims * per_point <= 5e8
    if resolution < 150:
        assert (resolution + 1) ** dims * per_point > 5e8
    if width == 8:
        assert resolution == 150
