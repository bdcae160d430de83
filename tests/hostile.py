"""Hostile strings, as a student could put them in a link, a spec or a CSV header: every one must be
shown as the text it is (no link, image, emphasis, heading, colour, icon or emoji made from it)."""

from __future__ import annotations

import re

EVIL = "evil.example"

PAYLOADS: tuple[str, ...] = (
    f"[Session expired, log in](http://{EVIL}/x) :red[**ALERT**] ![x](http://{EVIL}/p.png)",
    f"http://{EVIL}/bare",
    f"see https://{EVIL}.",
    f"www.{EVIL}/path",
    f"WWW.{EVIL.upper()}",
    f"mail student@{EVIL} now",
    f"mailto:student@{EVIL}",
    f"<http://{EVIL}/angle>",
    f'<a href="http://{EVIL}/html">click</a>',
    f'<img src="http://{EVIL}/html.png">',
    f"![img][r] [link][r]\n\n[r]: http://{EVIL}/ref",
    ":material/warning: :streamlit: :smile: :+1:",
    ":blue[blue] :red-background[bg] :small[small] :violet-badge[badge]",
    "# heading\n===\n- item\n1. item\n> quote",
    "    indented code\n---",
    "**bold** _em_ `code` ~~strike~~ $x^2$",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "&lt;b&gt; &amp; &#91; \\[escaped\\] a\\b",
    "[^1] footnote\n\n[^1]: note",
    "%{x} <b>bold</b> <br> <span style='color:red'>red</span>",
)


def shown_as(text: str) -> str:
    """What a page must show for ``text``: the same characters, whitespace runs as one space."""
    return re.sub(r"\s+", " ", text).strip()
