"""Data-derived text on a page is shown as written: never as Markdown, HTML, directives or images.

Streamlit parses Markdown — and its own ``:red[...]`` directives, ``:material/x:`` icons, emoji shortcodes
and ``$math$`` — in ``st.markdown``, captions, alerts, titles, widget labels, radio options, expander
labels and progress texts. Text that comes from a dataset, a run folder or a job (example text, uids,
labels, method ids, error messages, paths) therefore goes through this module only:

- ``text(value)`` shows a block verbatim (``st.text``: nothing is parsed), e.g. an example's text;
- ``alert(kind, message, detail)`` writes a fixed message in the alert and the data beneath it verbatim;
- ``md(value)`` escapes a short value for the few places a Markdown string cannot be avoided (a progress
  text, a label beside fixed wording): every Markdown-active character is backslash-escaped, line breaks
  become spaces, and a word joiner (U+2060, invisible) after each ``:`` stops emoji shortcodes and
  directives, which Streamlit expands even in escaped text.

A Markdown image (``![](http://host/x.png)``) in a dataset would otherwise make every viewer's browser
fetch that URL; a test (tests/test_browser_app.py) opens every page on a hostile dataset and checks that
no request leaves the loopback address.
"""

from __future__ import annotations

import re

import streamlit as st

# Every ASCII punctuation character CommonMark lets a backslash escape (all are escaped: simpler than
# knowing which are active where).
_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
WORD_JOINER = "\u2060"


def md(value: object, limit: int | None = None) -> str:
    """``value`` as Markdown source that renders as exactly its characters (on one line)."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = _LINE_BREAKS.sub(" ", text)
    text = _PUNCTUATION.sub(r"\\\1", text)
    return text.replace(":", ":" + WORD_JOINER)


def text(value: object, container=None) -> None:
    """Show ``value`` verbatim (line breaks and spaces kept, nothing parsed)."""
    (container or st).text(str(value))


def long_text(value: object, limit: int = 600, container=None) -> None:
    """Show ``value`` verbatim, cut to its first ``limit`` characters with an expander holding all of it
    (long prompts and responses of generation runs)."""
    target = container or st
    value = str(value)
    if len(value) <= limit:
        target.text(value)
        return
    target.text(value[:limit] + " …")
    with target.expander(f"Show all {len(value):,} characters"):
        st.text(value)


def alert(kind: str, message: str, detail: object | None = None, container=None, **kwargs) -> None:
    """An alert whose fixed ``message`` (written by us, may use Markdown) is followed by ``detail`` (data)
    shown verbatim in a code block."""
    target = container or st
    getattr(target, kind)(message, **kwargs)
    if detail is not None and str(detail):
        target.code(str(detail), language=None, wrap_lines=True)
