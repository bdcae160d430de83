"""User text shown as text: the one escaping function for everything Streamlit renders as Markdown.

Streamlit renders Markdown (react-markdown with remark-gfm, remark-directive, remark-emoji) in
``st.markdown``/``st.write``/``st.caption``/``st.error`` and friends, and also in every widget label
and ``help``, ``st.metric``'s label, value and delta, tab and expander labels, radio options and
slider values. Selectbox and multiselect options are plain text: they need no escaping (escaped
text would show its backslashes there).
"""

from __future__ import annotations

import re

# Every ASCII punctuation character Markdown, GFM or Streamlit's directives give a meaning to on one
# line (&: entities); a backslash escape shows the character itself.
_MARKDOWN_SPECIALS = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()<>#+-.!|~$:&"})
# U+2060 WORD JOINER: invisible, and unbreakable like the text around it. Backslash escapes are not
# enough where Streamlit's renderer looks at the text *after* escapes are decoded: GFM's autolink
# literals (``http://…``, ``www.…``, ``name@host.tld`` become links in a pass over the text nodes),
# remark-emoji's ``:smile:`` shortcodes and the ``:material/…`` icons Streamlit substitutes in the
# source. A joiner after each ``:`` and ``@`` that a character follows, and inside ``www.``, breaks
# those patterns while the same text is shown.
_JOINER = "\u2060"
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)
_JOINED = re.compile(r"([:@])(?=\S)")  # "a: b" needs none: every pattern above is unbroken
_WHITESPACE = re.compile(r"[ \x00-\x1f\x7f\x85\u2028\u2029]+")


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it literally (user data is never markup).

    Shown text is unchanged except that runs of whitespace (line breaks included) become one space,
    as HTML shows them anyway: a line break would let the text start a heading, a list or a code
    block of its own.
    """
    text = _WHITESPACE.sub(" ", str(text))
    text = _WWW.sub(r"\1" + _JOINER, text)
    text = text.translate(_MARKDOWN_SPECIALS)
    return _JOINED.sub(r"\1" + _JOINER, text)
