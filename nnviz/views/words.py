"""Counted words in the user's language: "1 unit", "2 units" (never "1 units")."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, the word in the plural unless ``count`` is 1, e.g. ``"1 bias"``, ``"8 biases"``.

    Args:
        count: how many; written with thousands separators (``"1,024 filters"``).
        word: the singular, e.g. ``"unit"`` or ``"input channel"``.
        many: the plural when adding ``s`` (or ``es`` after s, x, ch, sh) is wrong.
    """
    if count == 1:
        return f"1 {word}"
    if many is None:
        many = _IRREGULAR.get(word) or word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{count:,} {many}"


# Words whose "ch" sounds like k take a plain s.
_IRREGULAR = {"epoch": "epochs"}
