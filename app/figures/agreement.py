"""Agreement charts: the (selector x representation) grid, agreement along each axis against chance, seed
stability and budget sweeps, and a cross-run comparison. Plain tables in, figures out; every Jaccard is
drawn next to the random-subset expectation (dashed), since a Jaccard alone cannot be read. Method,
selector and representation names are data: each is escaped for plotly (app/figures/text.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.figures.style import FULL_DATA_COLOUR, SEQUENTIAL, finish, label_colour
from app.figures.text import plot_text, plot_texts

CHANCE_DASH = {"color": FULL_DATA_COLOUR, "dash": "dash", "width": 2}


def grid_heatmap(
    values: pd.DataFrame, methods: pd.DataFrame, *, title: str, value_name: str = "mean Jaccard"
) -> go.Figure:
    """Selectors (rows) x representations (columns); a cell's colour is ``values`` (NaN = cell not
    computed), its text the method id that fills it (``methods``, same shape). A click selects a cell:
    an invisible marker at each computed cell's centre (trace 1, x = representation, y = selector)."""
    z = values.to_numpy(dtype=np.float64)
    rows, cols = plot_texts(values.index), plot_texts(values.columns)
    text = [
        [
            "" if not isinstance(m, str) else (plot_text(m) if np.isnan(v) else f"{plot_text(m)}<br>{v:.2f}")
            for m, v in zip(mrow, vrow)
        ]
        for mrow, vrow in zip(methods.to_numpy(dtype=object), z)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            zmin=0.0,
            zmax=1.0,
            colorscale=SEQUENTIAL,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            hoverinfo="skip",
            hoverongaps=False,
            colorbar={"title": {"text": plot_text(value_name), "side": "right"}, "thickness": 12},
        )
    )
    filled = [
        (i, j) for i in range(len(rows)) for j in range(len(cols)) if isinstance(methods.iat[i, j], str)
    ]
    fig.add_trace(
        go.Scatter(
            x=[cols[j] for _, j in filled],
            y=[rows[i] for i, _ in filled],
            mode="markers",
            marker={"size": 24, "color": "rgba(0,0,0,0)"},
            showlegend=False,
            name="cells",
            customdata=[plot_text(methods.iat[i, j]) for i, j in filled],
            hovertemplate="%{customdata}: %{y} on %{x}<extra></extra>",
            selected={"marker": {"opacity": 0}},
            unselected={"marker": {"opacity": 0}},
        )
    )
    finish(
        fig,
        title=title,
        height=max(300, 48 * len(rows) + 140),
        clickmode="event+select",
        dragmode=False,
        hovermode="closest",
    )
    fig.update_xaxes(title="representation", side="bottom", showgrid=False)
    fig.update_yaxes(title="selector", autorange="reversed", showgrid=False)
    return fig


def factor_agreement_bars(table: pd.DataFrame, *, chance: float, title: str) -> go.Figure:
    """One bar per selector / representation (columns ``factor``, ``name``, ``mean``, ``min``, ``max``):
    the mean pairwise Jaccard with a whisker from the lowest to the highest pair, the random level dashed."""
    fig = go.Figure()
    for i, (factor, part) in enumerate(table.groupby("factor", sort=False)):
        mean = part["mean"].to_numpy(np.float64)
        fig.add_trace(
            go.Bar(
                x=plot_texts(part["name"]),
                y=mean,
                name=plot_text(factor),
                marker_color=label_colour(i),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["max"].to_numpy(np.float64) - mean,
                    "arrayminus": mean - part["min"].to_numpy(np.float64),
                    "thickness": 1.2,
                },
                hovertemplate="%{x}: mean J %{y:.3f}<extra>" + plot_text(factor) + "</extra>",
            )
        )
    if np.isfinite(chance):
        fig.add_hline(y=chance, line=CHANCE_DASH, annotation_text=f"random {chance:.2f}")
    finish(fig, title=title, height=380, legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(title="mean pairwise Jaccard", range=[0, 1.02], gridcolor="#eee")
    return fig


def budget_lines(
    table: pd.DataFrame,
    *,
    title: str,
    y_title: str,
    chance: pd.Series | None = None,
    y_range: tuple[float, float] | None = (0.0, 1.02),
) -> go.Figure:
    """One line per column of ``table`` (index = budgets as fractions); ``chance`` (same index) dashed."""
    fig = go.Figure()
    budgets = np.asarray(table.index, dtype=np.float64)
    for i, column in enumerate(table.columns):
        fig.add_trace(
            go.Scatter(
                x=budgets,
                y=table[column].to_numpy(np.float64),
                mode="lines+markers",
                name=plot_text(column),
                line={"color": label_colour(i), "width": 2},
                hovertemplate=f"{plot_text(column)}: %{{y:.3f}} at %{{x:.0%}}<extra></extra>",
            )
        )
    if chance is not None:
        fig.add_trace(
            go.Scatter(
                x=np.asarray(chance.index, dtype=np.float64),
                y=chance.to_numpy(np.float64),
                mode="lines",
                name="random subsets",
                line=CHANCE_DASH,
                hovertemplate="random: %{y:.3f} at %{x:.0%}<extra></extra>",
            )
        )
    finish(fig, title=title, height=400, hovermode="x unified", legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title="budget (share of training examples kept)", tickformat=".0%", gridcolor="#eee")
    fig.update_yaxes(
        title=plot_text(y_title), gridcolor="#eee", **({"range": list(y_range)} if y_range else {})
    )
    return fig


def method_value_bars(
    values: pd.Series,
    *,
    title: str,
    x_title: str,
    chance: pd.Series | float | None = None,
    chance_name: str = "random",
    x_range: tuple[float, float] | None = (0.0, 1.02),
) -> go.Figure:
    """A horizontal bar per method (``values`` indexed by method id) with the random level as a dashed
    marker per method (a Series) or one dashed line (a number)."""
    names = plot_texts(values.index)
    fig = go.Figure(
        go.Bar(
            y=names,
            x=values.to_numpy(np.float64),
            orientation="h",
            marker_color=label_colour(0),
            name=plot_text(x_title),
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    if isinstance(chance, pd.Series):
        fig.add_trace(
            go.Scatter(
                y=plot_texts(chance.index),
                x=chance.to_numpy(np.float64),
                mode="markers",
                name=plot_text(chance_name),
                marker={
                    "symbol": "line-ns-open",
                    "size": 16,
                    "color": FULL_DATA_COLOUR,
                    "line": {"width": 2},
                },
                hovertemplate=f"{plot_text(chance_name)}: %{{x:.3f}}<extra></extra>",
            )
        )
    elif chance is not None and np.isfinite(chance):
        fig.add_vline(x=float(chance), line=CHANCE_DASH, annotation_text=plot_text(chance_name))
    finish(fig, title=title, height=max(260, 24 * len(names) + 120), legend={"orientation": "h", "y": -0.15})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(
        title=plot_text(x_title), gridcolor="#eee", **({"range": list(x_range)} if x_range else {})
    )
    return fig
