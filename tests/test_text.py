"""plain(): user text shown as text by Markdown renderers (the browser test checks Streamlit's own)."""

from __future__ import annotations

import html
import re

import pytest
from hostile import EVIL, PAYLOADS, shown_as
from markdown_it import MarkdownIt

from nnviz.ui.text import plain

JOINER = "\u2060"
MORE = (
    "plain words stay plain",
    "ends with a backslash \\",
    "ftp://evil.example https://EVIL.example:8080/p?q=1#f",
    "nested ![a [b](c)](d) <!-- comment --> <script>alert(1)</script>",
    "1) ordered + plus\r\n\t* star # hash",
    "x" * 5 + ":" * 3 + "@" * 3 + "www" + "." * 3,
    "name@sub.evil.example, www.evil.example.",
    "ＷＷＷ.evil.example — unicode ½ ü 😀",
)
CASES = PAYLOADS + MORE


def _unescaped(markdown: str) -> str:
    """The text CommonMark makes of backslash escapes, joiners removed: derived from the spec, not plain()."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(JOINER, "")


@pytest.mark.parametrize("text", CASES)
def test_the_escaped_text_reads_as_the_text(text):
    assert _unescaped(plain(text)) == re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("text", CASES)
def test_nothing_markdown_reads_is_left_unescaped(text):
    escaped = plain(text)
    # Every Markdown, GFM or directive character is preceded by a backslash (itself escaped).
    bare = re.sub(r"\\.", "", escaped)
    assert not set(bare) & set("\\`*_{}[]()<>#+-.!|~$:&"), escaped
    # GFM's bare links, emails and Streamlit's shortcodes need these unbroken after escapes are read.
    read = re.sub(r"\\(.)", r"\1", escaped)
    assert not re.search(r"https?://|www\.|@\w|:\w|:/", read, flags=re.IGNORECASE), read
    assert "\n" not in escaped and "\r" not in escaped and "\t" not in escaped


@pytest.mark.parametrize("text", CASES)
def test_commonmark_renders_the_text_and_no_element(text):
    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    rendered = renderer.render(f"Name: {plain(text)}").strip()
    assert rendered.startswith("<p>") and rendered.endswith("</p>")
    inner = rendered[3:-4]
    assert "<" not in inner.replace("&lt;", ""), rendered  # no tag at all: no link, image, emphasis, code
    assert shown_as(html.unescape(inner).replace(JOINER, "")) == "Name: " + shown_as(text)


def test_the_joiner_is_only_where_a_pattern_needs_breaking():
    assert plain("left out: it should be 1") == "left out\\: it should be 1"
    assert plain("Sepal width (cm)") == "Sepal width \\(cm\\)"
    assert plain(f"a@{EVIL}") == f"a@{JOINER}evil\\.example"
    assert plain(3.5) == "3\\.5"  # not only strings
