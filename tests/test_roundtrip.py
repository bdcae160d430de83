"""Every spec the builder accepts comes back unchanged through a share link and through the JSON file.

A seeded generator writes many random specs with every layer kind and option, edge values included
(the smallest and largest of each range, 1-D/2-D/3-D reshapes, negative, fractional, tiny and
exponent-written rescalings, -0.0), plus every setting a link carries. Each must read back equal,
through a real URL (``urlencode`` then ``parse_qsl``, as a browser and Streamlit do) and through
``spec_json``/``read_spec_json``. The expected value is the spec itself, not anything the code computed.
"""

from __future__ import annotations

import math
import urllib.parse

import numpy as np
import pytest

from nnviz.model.modelfiles import read_spec_json, spec_json
from nnviz.model.sharelink import BATCH_SIZES, RANGES, from_query, layers_text, parse_layers, to_query
from nnviz.model.spec import (
    ACTIVATIONS,
    LAYER_KINDS,
    LEARNING_RATE_RANGE,
    LOSS_LABELS,
    MAX_KERNEL,
    MAX_RATE,
    MAX_RESCALE,
    MAX_SHAPE_SIZE,
    OPTIMIZERS,
    PADDINGS,
    LayerSpec,
    Limits,
    ModelSpec,
    option_problems,
)

LIMITS = Limits()
CASES = 600


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _whole(rng: np.random.Generator, low: int, high: int) -> int:
    """An edge (low, high, next to them) a third of the time, else any value in between."""
    if rng.random() < 1 / 3:
        return _pick(rng, [low, high, min(low + 1, high), max(high - 1, low)])
    return int(rng.integers(low, high + 1))


def _real(rng: np.random.Generator, low: float, high: float) -> float:
    if rng.random() < 1 / 3:
        return _pick(rng, [low, high])
    return float(rng.uniform(low, high))


def _rescale_value(rng: np.random.Generator) -> float:
    """Negative, fractional, exponent-written, tiny, -0.0 and the bounds themselves."""
    choice = rng.integers(6)
    if choice == 0:
        return _pick(rng, [MAX_RESCALE, -MAX_RESCALE, 0.0, -0.0, 1 / 255, -1 / 255, 5e-324, -2.5e-300])
    if choice == 1:
        return float(rng.integers(-1000, 1001))
    if choice == 2:  # log-uniform over many magnitudes, either sign
        return float(rng.choice([-1, 1]) * 10 ** rng.uniform(-300, 6))
    if choice == 3:
        return float(np.nextafter(MAX_RESCALE, 0) * rng.choice([-1, 1]))
    return float(rng.uniform(-MAX_RESCALE, MAX_RESCALE))


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    axes = int(rng.integers(1, 4))
    return tuple(_whole(rng, 1, MAX_SHAPE_SIZE) for _ in range(axes))


def random_layer(rng: np.random.Generator) -> LayerSpec:
    kind = _pick(rng, LAYER_KINDS)
    options = {
        "Dense": lambda: {"units": _whole(rng, 1, LIMITS.max_units), "activation": _pick(rng, ACTIVATIONS)},
        "Activation": lambda: {"activation": _pick(rng, ACTIVATIONS)},
        "Dropout": lambda: {"rate": _real(rng, 0.0, MAX_RATE)},
        "Flatten": dict,
        "Rescaling": lambda: {"scale": _rescale_value(rng), "offset": _rescale_value(rng)},
        "Conv2D": lambda: {
            "filters": _whole(rng, 1, LIMITS.max_units),
            "kernel_size": _whole(rng, 1, MAX_KERNEL),
            "strides": _whole(rng, 1, MAX_KERNEL),
            "padding": _pick(rng, PADDINGS),
            "activation": _pick(rng, ACTIVATIONS),
        },
        "MaxPooling2D": lambda: {"pool_size": _whole(rng, 1, MAX_KERNEL)},
        "BatchNormalization": dict,
        "Reshape": lambda: {"target_shape": _shape(rng)},
    }[kind]()
    return LayerSpec(kind, **options)


def random_spec(rng: np.random.Generator) -> ModelSpec:
    layers = tuple(random_layer(rng) for _ in range(_whole(rng, 1, LIMITS.max_layers)))
    low, high = LEARNING_RATE_RANGE
    rate = _pick(rng, [low, high, float(10 ** rng.uniform(math.log10(low), 0)), 0.01])
    input_shape = tuple(int(n) for n in rng.integers(1, 40, size=int(rng.integers(1, 4))))
    return ModelSpec(input_shape, layers, _pick(rng, list(LOSS_LABELS)), _pick(rng, OPTIMIZERS), rate)


def random_settings(rng: np.random.Generator) -> dict[str, object]:
    def whole(name):
        return _whole(rng, *RANGES[name])

    def real(name):
        return _real(rng, *RANGES[name])

    return {
        "dataset": _pick(rng, ["moons", "iris", "housing", "mnist"]),
        "seed": whole("seed"),
        "moons_samples": whole("moons_samples"),
        "moons_noise": real("moons_noise"),
        "epochs": whole("epochs"),
        "batch_size": _pick(rng, BATCH_SIZES),
        "validation_split": real("validation_split"),
        "present": bool(rng.integers(2)),
    }


SPECS = [random_spec(np.random.default_rng(seed)) for seed in range(CASES)]


def test_the_generator_covers_every_kind_option_and_edge():
    layers = [layer for spec in SPECS for layer in spec.layers]
    assert {layer.kind for layer in layers} == set(LAYER_KINDS)
    assert {len(layer.target_shape) for layer in layers if layer.kind == "Reshape"} == {1, 2, 3}
    assert {layer.activation for layer in layers if layer.kind == "Conv2D"} == set(ACTIVATIONS)
    scales = [layer.scale for layer in layers if layer.kind == "Rescaling"]
    assert min(scales) == -MAX_RESCALE and max(scales) == MAX_RESCALE and 5e-324 in scales
    assert any(s < 0 and abs(s) < 1 for s in scales) and any(0 < abs(s) < 1e-100 for s in scales)
    assert {layer.rate for layer in layers if layer.kind == "Dropout"} >= {0.0, MAX_RATE}
    assert all(option_problems(layer, LIMITS) == [] for layer in layers)  # all valid, as the widgets are


@pytest.mark.parametrize("seed", range(CASES))
def test_a_spec_and_its_settings_survive_a_real_url_exactly(seed):
    spec, settings = SPECS[seed], random_settings(np.random.default_rng(10_000 + seed))
    shared = {
        **settings,
        "layers": spec.layers,
        "loss": spec.loss,
        "optimizer": spec.optimizer,
        "learning_rate": spec.learning_rate,
    }
    query = urllib.parse.urlencode(to_query(shared))
    back, problems = from_query(dict(urllib.parse.parse_qsl(query)), limits=LIMITS)
    assert problems == []
    if not settings["present"]:
        shared.pop("present")  # left out of the link when off
    assert back == shared
    # -0.0 == 0.0, so check the signs of the floats too: the same float, bit for bit.
    assert [math.copysign(1, layer.scale) for layer in back["layers"]] == [
        math.copysign(1, layer.scale) for layer in spec.layers
    ]


@pytest.mark.parametrize("seed", range(CASES))
def test_a_spec_and_its_settings_survive_the_json_file_exactly(seed):
    spec, settings = SPECS[seed], random_settings(np.random.default_rng(20_000 + seed))
    again, settings_again = read_spec_json(spec_json(spec, settings=settings).encode(), limits=LIMITS)
    assert again == spec and settings_again == settings
    assert [type(a.scale) for a in again.layers] == [float] * len(spec.layers)


@pytest.mark.parametrize(
    "text",
    ["Reshape_784", "Reshape_1", "Reshape_100000", "Reshape_28x28", "Reshape_7x4x28", "Reshape_1x1x1"],
)
def test_a_reshape_of_any_rank_is_read_back(text):
    [layer] = parse_layers(text)
    sizes = tuple(int(n) for n in text.split("_")[1].split("x"))
    assert layer == LayerSpec("Reshape", target_shape=sizes)
    assert layers_text((layer,)) == text
