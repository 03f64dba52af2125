"""Data-derived text in a plotly figure is drawn as written: never as plotly's HTML subset.

Plotly draws a small HTML subset in every text it renders — ``<b>``, ``<i>``, ``<br>``, ``<sub>``,
``<span style>``, ``<a href>`` links and ``&...;`` entities — in titles, axis titles, category tick
labels, legend names, annotations, cell texts and hover labels, including the values it substitutes
into a hovertemplate (``%{x}``, ``%{text}``, ``%{customdata}``). A ``%{...}`` written into a
hovertemplate is itself a substitution, and text wrapped in ``$...$`` is TeX where MathJax is loaded.
So a method id, uid, label name or series name such as ``<a href=...>x</a>`` would become a link.

Every figure builder in ``app/figures`` passes each data-derived string through ``plot_text`` (and
``finish`` passes the title), and adds markup such as ``<br>`` only between escaped pieces. Pages
hand builders plain text. A value that comes back from the browser (a clicked category) is turned
back into the data's own string with ``from_plot_text``. Streamlit text outside charts goes through
``app/plain.py``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

# One pass with str.translate, which never re-reads its own output: a literal "&lt;" in the data stays
# four characters. Plotly decodes numeric entities, so "$" (TeX) and the "%" of a "%{" (a template
# substitution) are written as entities that neither the TeX detector nor the template engine sees; a
# "%" elsewhere ("30 %") is left as it is.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "$": "&#36;"})


def plot_text(value: object) -> str:
    """``value`` as plotly text that renders as exactly its characters."""
    return str(value).translate(_ESCAPES).replace("%{", "&#37;{")


def plot_texts(values: Iterable[object]) -> list[str]:
    """``plot_text`` of each value, in order."""
    return [plot_text(v) for v in values]


def from_plot_text(value: object) -> str:
    """The data's own string back from a value plotly reports (a clicked category): the inverse of
    ``plot_text``, exact because every ``&`` in escaped text starts one of its entities."""
    return html.unescape(str(value))
