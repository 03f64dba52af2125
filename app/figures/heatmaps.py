"""Method x method heatmaps: score correlations (Spearman / Pearson / Kendall) and subset overlaps.

Du et al. (2025, Fig. 3) compare pruning methods by the Spearman correlation of their scores and find
that methods with the same nominal objective disagree; ordering rows by representation family, then
objective, makes that block structure visible. Group boundaries are drawn as thin lines. Rows run top
to bottom and columns left to right in the order given, so the diagonal goes from top-left. A click on
a cell selects that (row, column) pair.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.figures.style import DIVERGING, SEQUENTIAL, finish
from app.figures.text import plot_text, plot_texts

CORRELATION_TITLES = {
    "spearman": "Spearman rank correlation",
    "pearson": "Pearson correlation",
    "kendall": "Kendall's tau-b",
}
OVERLAP_TITLES = {"jaccard": "Jaccard |A ∩ B| / |A ∪ B|", "overlap": "Overlap |A ∩ B| / min(|A|, |B|)"}


def _group_lines(order: list[str], groups: Mapping[str, str] | None) -> list[float]:
    """Positions (between cells) where the group of consecutive methods changes."""
    if not groups:
        return []
    return [i - 0.5 for i in range(1, len(order)) if groups.get(order[i]) != groups.get(order[i - 1])]


def matrix_heatmap(
    matrix: pd.DataFrame,
    *,
    title: str,
    zmin: float,
    zmax: float,
    colorscale: str,
    value_name: str,
    groups: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    annotate: bool | None = None,
) -> go.Figure:
    """A square heatmap of ``matrix`` (index = columns = method ids) in the given order.

    ``groups`` (method -> family) draws separators; ``notes`` (method -> text) goes into the hover,
    e.g. how a method's raw score was oriented. Values are printed in the cells, rounded to two decimals.
    Method ids are data: they are escaped for plotly (``plot_text``), so a click reports the escaped id
    (``from_plot_text`` turns it back).
    """
    if list(matrix.index) != list(matrix.columns):
        raise ValueError(
            f"matrix_heatmap: expected the same methods on both axes, found rows "
            f"{list(matrix.index)} and columns {list(matrix.columns)}"
        )
    ids = [str(m) for m in matrix.index]
    names = plot_texts(ids)  # categories, tick labels and hover text: drawn verbatim (app/figures/text.py)
    z = matrix.to_numpy(dtype=np.float64)
    notes = notes or {}
    hover = [
        [
            f"{names[i]} vs {names[j]}<br>{plot_text(value_name)}: "
            f"{'n/a' if np.isnan(z[i, j]) else f'{z[i, j]:.3f}'}"
            + (f"<br>{names[i]}: {plot_text(notes[ids[i]])}" if ids[i] in notes else "")
            for j in range(len(names))
        ]
        for i in range(len(names))
    ]
    # Cell values, rounded to two decimals, in a font that shrinks with the cells; off only on request.
    show_text = True if annotate is None else annotate
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            hoverongaps=False,
            text=[["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z] if show_text else None,
            texttemplate="%{text}" if show_text else None,
            textfont={"size": 9 if len(names) <= 20 else 7},
            hoverinfo="skip",
            colorbar={"title": {"text": plot_text(value_name), "side": "right"}, "thickness": 12},
        )
    )
    # Heatmaps cannot be selected in plotly, so an invisible marker at each cell's centre carries the
    # hover text and turns a click into a point selection (trace 1, x = column, y = row).
    fig.add_trace(
        go.Scatter(
            x=[names[j] for i in range(len(names)) for j in range(len(names))],
            y=[names[i] for i in range(len(names)) for j in range(len(names))],
            mode="markers",
            marker={"size": 14, "color": "rgba(0,0,0,0)"},
            showlegend=False,
            name="cells",
            customdata=[hover[i][j] for i in range(len(names)) for j in range(len(names))],
            hovertemplate="%{customdata}<extra></extra>",
            selected={"marker": {"opacity": 0}},
            unselected={"marker": {"opacity": 0}},
        )
    )
    end = len(names) - 0.5  # separators span the cells only, not the whole plotting area
    for edge in _group_lines(ids, groups):
        fig.add_shape(type="line", x0=-0.5, x1=end, y0=edge, y1=edge, line={"color": "#333", "width": 1})
        fig.add_shape(type="line", x0=edge, x1=edge, y0=-0.5, y1=end, line={"color": "#333", "width": 1})
    size = min(900, max(360, 28 * len(names) + 160))
    finish(fig, title=title, height=size, clickmode="event+select", dragmode=False, hovermode="closest")
    fig.update_xaxes(side="bottom", tickangle=-45, showgrid=False, constrain="domain")
    fig.update_yaxes(autorange="reversed", showgrid=False, scaleanchor="x")
    return fig


def correlation_heatmap(
    corr: pd.DataFrame,
    *,
    measure: str = "spearman",
    groups: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> go.Figure:
    """Correlation between methods' keep-oriented scores: +1 = they keep the same examples first."""
    name = CORRELATION_TITLES.get(measure, measure)
    return matrix_heatmap(
        corr,
        title=f"{name} between methods' scores (higher = keep)",
        zmin=-1.0,
        zmax=1.0,
        colorscale=DIVERGING,
        value_name=measure,
        groups=groups,
        notes=notes,
    )


def overlap_heatmap(
    matrix: pd.DataFrame,
    *,
    measure: str = "jaccard",
    budget_text: str = "",
    groups: Mapping[str, str] | None = None,
) -> go.Figure:
    """Share of kept examples two methods have in common at one budget (0 = disjoint, 1 = identical)."""
    name = OVERLAP_TITLES.get(measure, measure)
    suffix = f" at budget {budget_text}" if budget_text else ""
    return matrix_heatmap(
        matrix,
        title=f"{name}{suffix}",
        zmin=0.0,
        zmax=1.0,
        colorscale=SEQUENTIAL,
        value_name=measure,
        groups=groups,
    )
