"""A lesson's setup as URL query parameters, and back: the link a lecturer shares.

Everything that decides what the class sees is in the link: the dataset and its options, the seed,
the architecture, compile and fit settings, and presentation mode. Layers are written so a lecturer
can read and edit them by hand, with only characters that URLs leave as they are::

    ?dataset=moons&seed=0&layers=Dense_8_relu~Dense_8_relu~Dense_1_sigmoid&loss=binary_crossentropy

Each layer is its kind followed by its options in the order of :data:`nnviz.model.spec.LAYER_OPTIONS`
(``Conv2D_8_3_1_same_relu``: filters, kernel, stride, padding, activation); a Reshape's target shape
is written ``28x28x1`` (``784`` for one axis). Reading a link never trusts it: an oversized value is
refused before it is read, every value is checked against the same bounds as the widgets, and whatever
cannot be used is named (parameter, value, allowed range) in a message and left out; a ``layers``
value with any unusable layer is left out whole, each of its problems named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nnviz.data.catalog import BUILT_IN_DATASETS
from nnviz.model.spec import (
    APIS,
    LAYER_OPTIONS,
    LEARNING_RATE_RANGE,
    LOSS_LABELS,
    OPTIMIZERS,
    LayerSpec,
    Limits,
    SpecError,
    layer_from_dict,
    shown,
    too_many_layers,
)

# The bounds of the settings a link may carry; the widgets use the same ones.
RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, 2**31 - 1),
    "moons_samples": (50, 2000),
    "moons_noise": (0.0, 0.5),
    "epochs": (1, 1000),
    "validation_split": (0.0, 0.5),
    "learning_rate": LEARNING_RATE_RANGE,
    "lesson_step": (1, 99),
}
BATCH_SIZES = (1, 4, 8, 16, 32, 64, 128, 256, 512)

# Query parameter → setting, with its type.
_PARAMETERS = {
    "dataset": ("dataset", str),
    "seed": ("seed", int),
    "points": ("moons_samples", int),
    "noise": ("moons_noise", float),
    "epochs": ("epochs", int),
    "batch": ("batch_size", int),
    "val": ("validation_split", float),
    "layers": ("layers", str),
    "loss": ("loss", str),
    "optimizer": ("optimizer", str),
    "lr": ("learning_rate", float),
    "present": ("present", str),
    "api": ("code_api", str),
    "lesson": ("lesson", str),
    "step": ("lesson_step", int),
}
# A lesson's name: its file's name without the extension (see nnviz.course.lessons).
LESSON_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_QUERY_NAMES = {setting: name for name, (setting, _) in _PARAMETERS.items()}
_LAYER_SEPARATOR, _FIELD_SEPARATOR, _SHAPE_SEPARATOR = "~", "_", "x"
# The longest value read: a setting is a few characters; a layer takes at most ~60 (a Rescaling with
# two 17-digit floats), so a link of the largest network allowed fits with room to spare.
MAX_VALUE_CHARS = 100
LAYER_CHARS = 80


def layers_text(layers: tuple[LayerSpec, ...]) -> str:
    """Layers in link notation, e.g. ``Dense_8_relu~Dense_1_sigmoid``."""
    return _LAYER_SEPARATOR.join(_layer_text(layer) for layer in layers)


def _layer_text(layer: LayerSpec) -> str:
    fields = [layer.kind]
    for name in LAYER_OPTIONS[layer.kind]:
        value = getattr(layer, name)
        fields.append(
            _SHAPE_SEPARATOR.join(map(str, value))
            if isinstance(value, tuple)
            else repr(value)
            if isinstance(value, float)
            else str(value)
        )
    return _FIELD_SEPARATOR.join(fields)


def parse_layers(text: str, *, limits: Limits | None = None) -> tuple[LayerSpec, ...]:
    """Inverse of :func:`layers_text`.

    The number of layers and the text's length are checked before anything is split or read, so an
    oversized link costs nothing.

    Raises:
        SpecError: naming each layer that cannot be read and why.
    """
    limits = limits or Limits.from_env()
    count = text.count(_LAYER_SEPARATOR) + 1
    if count > limits.max_layers:
        raise SpecError([too_many_layers(count, limits)])
    if len(text) > LAYER_CHARS * limits.max_layers:
        raise SpecError(
            [
                f"it is {len(text):,} characters long; {limits.max_layers} layers take at most "
                f"{LAYER_CHARS * limits.max_layers:,}."
            ]
        )
    layers, problems = [], []
    for position, part in enumerate(text.split(_LAYER_SEPARATOR), start=1):
        kind, *values = part.split(_FIELD_SEPARATOR)
        if kind not in LAYER_OPTIONS:
            problems.append(
                f"layer {position}: {shown(kind)} is not a layer kind ({', '.join(LAYER_OPTIONS)})."
            )
            continue
        names = LAYER_OPTIONS[kind]
        if len(values) != len(names):
            wanted = "_".join([kind, *names])
            problems.append(f"layer {position}: {shown(part)} should be written {wanted}.")
            continue
        options = {name: _value(name, value) for name, value in zip(names, values)}
        try:
            layers.append(layer_from_dict({"kind": kind, **options}, limits=limits))
        except SpecError as err:
            problems += [f"layer {position}: {problem}" for problem in err.problems]
    if problems:
        raise SpecError(problems)
    return tuple(layers)


def _value(name: str, text: str) -> object:
    """A layer option written in a link, as the type that option has (the text as it is when it is not
    of that type, for :func:`nnviz.model.spec.layer_from_dict` to name)."""
    if name == "target_shape":
        parts = text.split(_SHAPE_SEPARATOR)
        return [int(part) for part in parts] if all(_is_whole(part) for part in parts) else text
    if name in ("activation", "padding"):
        return text
    if _is_whole(text):
        return int(text)
    if name in ("rate", "scale", "offset"):
        try:
            return float(text)
        except ValueError:
            pass
    return text


def _is_whole(text: str) -> bool:
    """Whether ``text`` is a whole number Python reads without a fuss (ASCII digits, an optional sign,
    fewer digits than ``int()``'s limit for text)."""
    digits = text[1:] if text[:1] in "+-" else text
    return 0 < len(digits) <= 400 and digits.isascii() and digits.isdigit()


def to_query(settings: Mapping[str, object]) -> dict[str, str]:
    """Query parameters for ``settings`` (keys as in :func:`from_query`'s result; ``layers`` a tuple of LayerSpec)."""
    query = {}
    for setting, value in settings.items():
        if value is None:
            continue
        if setting == "layers":
            value = layers_text(value)
        elif isinstance(value, bool):
            value = "1" if value else None
        elif isinstance(value, float):
            value = repr(value)  # exactly: a shared lesson must train exactly as the original
        if value is not None:
            query[_QUERY_NAMES[setting]] = str(value)
    return query


def from_query(
    query: Mapping[str, str], *, limits: Limits | None = None
) -> tuple[dict[str, object], list[str]]:
    """The settings a link carries, and a message for each parameter that could not be used.

    Returns:
        ``settings``: only the valid ones, by setting name (``dataset``, ``seed``, ``moons_samples``,
        ``moons_noise``, ``epochs``, ``batch_size``, ``validation_split``, ``layers`` (LayerSpecs),
        ``loss``, ``optimizer``, ``learning_rate``, ``present`` (bool), ``code_api`` (how exported code
        builds the model), ``lesson`` and ``lesson_step`` (the lesson open and its step)); ``problems``: what was left
        out and why, naming the parameter, its value (shortened) and the values allowed.
    """
    limits = limits or Limits.from_env()
    settings: dict[str, object] = {}
    problems = []
    for name, text in query.items():
        if name not in _PARAMETERS:
            continue  # other tools may add their own parameters; they are not ours to judge
        setting, kind = _PARAMETERS[name]
        try:
            settings[setting] = _checked(setting, kind, text, limits)
        except ValueError as err:
            problems.append(f"The link's {name}={shown(text)} was ignored: {err}")
    return settings, problems


def _checked(setting: str, kind: type, text: str, limits: Limits) -> object:
    if setting == "layers":
        try:
            return parse_layers(text, limits=limits)
        except SpecError as err:
            raise ValueError("; ".join(err.problems)) from err
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"it is {len(text):,} characters long; a setting takes at most {MAX_VALUE_CHARS}.")
    if setting == "present":
        return text.lower() in ("1", "true", "yes", "on")
    if setting == "lesson":
        if not LESSON_NAME.fullmatch(text):
            raise ValueError("a lesson's name has lower-case letters, digits, - and _ only, e.g. 01-iris.")
        return text
    if kind is str:
        allowed = {
            "dataset": BUILT_IN_DATASETS,
            "loss": LOSS_LABELS,
            "optimizer": OPTIMIZERS,
            "code_api": APIS,
        }[setting]
        if text not in allowed:
            raise ValueError(f"use one of {', '.join(allowed)}.")
        return text
    try:
        value = int(text) if kind is int and _is_whole(text) else float(text) if kind is float else None
    except ValueError:
        value = None
    problem = setting_problem(setting, value)
    if problem:
        raise ValueError(problem)
    return value


def setting_problem(setting: str, value: object) -> str | None:
    """Why ``value`` is not allowed for a numeric setting (a key of ``RANGES``, or ``batch_size``), or None."""
    if setting == "batch_size":
        if type(value) is not int or value not in BATCH_SIZES:
            return f"use one of {', '.join(map(str, BATCH_SIZES))}."
        return None
    low, high = RANGES[setting]
    whole = isinstance(low, int)
    span = f"between {_bound_text(low)} and {_bound_text(high)}"
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        return f"it should be a {'whole ' if whole else ''}number {span}."
    if not low <= value <= high:  # NaN is outside every range
        return f"it should be {span}."
    return None


def _bound_text(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"
