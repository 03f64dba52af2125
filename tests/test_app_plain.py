"""Data-derived text is shown as written: ``app.plain.md`` escapes everything Markdown, HTML and Streamlit's
directives would act on (issue 10 item 3). The browser test checks the rendered pages end to end."""

from __future__ import annotations

import re

import pytest

from app.plain import WORD_JOINER, md
from tests.run_fixtures import shown

HOSTILE = [
    "![](http://example.invalid/x.png) pixel",
    "# heading\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "`uid` with ``backticks``",
    ":red[directive] :material/home: :smile: $x^2$",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    "[link](javascript:alert(1)) **bold** _it_ ~~s~~",
    "\u202eRTL override\u200b zero-width \\ backslash",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_md_escapes_every_active_character_and_shows_the_same_text(value):
    escaped = md(value)
    assert "\n" not in escaped
    # every ASCII punctuation character is preceded by a backslash
    assert not re.search(r"(?<!\\)[!\"#$%&'()*+,\-./;<=>?@\[\]^_`{|}~]", escaped.replace("\\\\", ""))
    # a colon is followed by an invisible word joiner, so ":smile:" and ":red[" never match
    assert ":" not in escaped.replace(":" + WORD_JOINER, "")
    assert shown(escaped) == re.sub(r"\n+", " ", value)  # line breaks become one space; all else shown


def test_md_shortens_long_values():
    assert shown(md("x" * 50, limit=10)) == "x" * 10 + "…"
