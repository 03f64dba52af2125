"""Plot builders of the subset-evaluation page: score against budget per method, and a leaderboard with
each subset's label balance beside its score.

Plain tables in (``prune_core.evaluate.aggregate`` / ``leaderboard`` output), plotly figures out; no
Streamlit, no I/O. The random band is drawn as the area between the mean minus and plus one standard
deviation over seeds of random subsets at the same budget, and the full data as a horizontal line with
its own spread: a method is only interesting where it leaves the band, and the seed paper's failure
cases (LESS on an imbalanced dataset) show up as a low score beside a skewed label bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.style import FULL_DATA_COLOUR, finish, label_colour
from app.figures.text import plot_text, plot_texts
from prune_core.evaluate import FULL_DATA, RANDOM_BAND

# Neutral colours for scores and baselines, so they never read as one of the label colours beside them.
BAND_LINE = {False: FULL_DATA_COLOUR, True: "#8C6D31"}
BAND_FILL = {False: "rgba(127, 127, 127, 0.18)", True: "rgba(140, 109, 49, 0.13)"}
SCORE_COLOUR = "#3A3A3A"
BASELINE_COLOUR = "#A8A8A8"
LEGEND_ROW_PX = 24  # one vertical legend entry: the chart grows so that every entry fits beside it


def _floats(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def budget_curves(summary: pd.DataFrame, *, metric_title: str, split: str, noun: str = "label") -> go.Figure:
    """Mean score against budget for every series of ``summary`` (one mode), error bars = std over seeds.

    Methods are lines (``noun``-balanced variants dashed, in the colour of their plain variant: "label" for
    classification runs, "source" for generation runs); each random
    band is a shaded area mean ± std named "random band[ (balanced)]"; the full data is a horizontal
    line named "full data" with a dotted ± std.
    """
    fig = go.Figure()
    methods = [m for m in dict.fromkeys(summary["method"]) if m not in (RANDOM_BAND, FULL_DATA)]
    colour = {m: label_colour(i) for i, m in enumerate(methods)}
    for balanced in (False, True):
        band = summary[(summary["method"] == RANDOM_BAND) & (summary["balanced"] == balanced)].sort_values(
            "budget"
        )
        if band.empty:
            continue
        x, mean, std = _floats(band["budget"]), _floats(band["mean"]), _floats(band["std"])
        name = "random band (balanced)" if balanced else "random band"
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([mean + std, (mean - std)[::-1]]),
                fill="toself",
                fillcolor=BAND_FILL[balanced],
                line={"width": 0},
                hoverinfo="skip",
                name=f"{name} ± std",
                legendgroup=name,
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=mean,
                mode="lines+markers",
                name=name,
                legendgroup=name,
                marker={"size": 4, "color": BAND_LINE[balanced]},
                line={"color": BAND_LINE[balanced], "width": 1, "dash": "dot"},
                customdata=std,
                hovertemplate=f"{name}<br>%{{x:.0%}}: %{{y:.3f}} ± %{{customdata:.3f}}<extra></extra>",
            )
        )
    # One legend entry per method (its plain and balanced lines toggle together) and one for the dash,
    # so 30 methods with both variants need 30 entries, not 60.
    shown = summary[summary["method"].isin(methods)]
    with_plain = set(shown.loc[~shown["balanced"].astype(bool), "method"])
    for _, row in shown.groupby(["method", "balanced"], sort=False):
        row = row.sort_values("budget")
        method, balanced = row["method"].iloc[0], bool(row["balanced"].iloc[0])
        series = plot_text(row["series"].iloc[0])
        fig.add_trace(
            go.Scatter(
                x=_floats(row["budget"]),
                y=_floats(row["mean"]),
                mode="lines+markers",
                name=series,
                legendgroup=f"method {plot_text(method)}",
                showlegend=not balanced or method not in with_plain,
                error_y={"type": "data", "array": _floats(row["std"]), "visible": True, "thickness": 1},
                line={"color": colour[method], "dash": "dash" if balanced else "solid"},
                marker={"symbol": "diamond" if balanced else "circle", "size": 7},
                customdata=np.stack([_floats(row["std"]), _floats(row["seeds"])], axis=1),
                hovertemplate=f"{series}<br>%{{x:.0%}}: %{{y:.3f}} ± %{{customdata[0]:.3f}} "
                "(%{customdata[1]} seeds)<extra></extra>",
            )
        )
    if shown["balanced"].astype(bool).any():
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines+markers",
                name=plot_text(f"dashed ◆: {noun}-balanced"),
                line={"color": "#666", "dash": "dash"},
                marker={"symbol": "diamond", "size": 7, "color": "#666"},
                hoverinfo="skip",
            )
        )
    budgets = _floats(summary.loc[summary["method"] != FULL_DATA, "budget"])
    right = max(float(budgets.max()) * 1.1 if budgets.size else 1.0, 0.05)
    full = summary[summary["method"] == FULL_DATA]
    if not full.empty:
        # A drawn line across the axis (not a layout line), so the full data has its own legend entry.
        mean, std = float(full["mean"].iloc[0]), float(full["std"].iloc[0])
        for edge in (mean - std, mean + std):
            fig.add_hline(y=edge, line={"color": "#333", "width": 0.7, "dash": "dot"})
        fig.add_trace(
            go.Scatter(
                x=[0.0, right],
                y=[mean, mean],
                mode="lines",
                name="full data",
                line={"color": "#333", "width": 1.5},
                customdata=[std, std],
                hovertemplate="full data: %{y:.3f} ± %{customdata:.3f}<extra></extra>",
            )
        )
    entries = sum(1 for t in fig.data if t.showlegend is not False)
    finish(
        fig,
        title=f"{split.capitalize()} {metric_title} against budget (mean ± std over seeds)",
        height=max(460, LEGEND_ROW_PX * entries + 120),
        showlegend=True,
        legend={
            "orientation": "v",
            "x": 1.02,
            "y": 1,
            "yanchor": "top",
            "font": {"size": 11},
            "tracegroupgap": 0,
        },
    )
    fig.update_xaxes(
        title="budget (share of training examples kept)",
        tickformat=".0%",
        gridcolor="#eee",
        range=[0, right],
    )
    fig.update_yaxes(title=plot_text(metric_title), gridcolor="#eee", tickformat=".2f")
    return fig


def leaderboard_chart(
    board: pd.DataFrame,
    label_names: list[str],
    *,
    metric_title: str,
    budget_text: str,
    noun: str = "label",
) -> go.Figure:
    """Left: each series' mean score at one budget with its std (best on top; baselines grey, label-balanced
    variants hatched); right: the label shares of its subsets, so an outlier in score can be read against an
    outlier in balance."""
    names = plot_texts(label_names)
    rows = plot_texts(board["series"])
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.03,
        subplot_titles=(
            plot_text(f"{metric_title} at {budget_text}"),
            plot_text(f"{noun} shares of the subset"),
        ),
    )
    colours = [BASELINE_COLOUR if m in (RANDOM_BAND, FULL_DATA) else SCORE_COLOUR for m in board["method"]]
    hatch = ["/" if b else "" for b in board["balanced"]]  # label-balanced variants are hatched
    fig.add_trace(
        go.Bar(
            y=rows,
            x=_floats(board["mean"]),
            orientation="h",
            name=plot_text(metric_title),
            marker={"color": colours, "pattern": {"shape": hatch, "fgcolor": "white", "size": 6}},
            error_x={"type": "data", "array": _floats(board["std"]), "visible": True, "thickness": 1},
            customdata=_floats(board["std"]),
            showlegend=False,
            hovertemplate="%{y}: %{x:.3f} ± %{customdata:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for i, (label, name) in enumerate(zip(label_names, names)):
        fig.add_trace(
            go.Bar(
                y=rows,
                x=_floats(board[f"share_{label}"]),
                orientation="h",
                name=name,
                marker_color=label_colour(i),
                legendgroup="labels",
                hovertemplate=f"%{{y}}: {name} %{{x:.1%}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    finish(
        fig,
        height=max(300, 26 * len(rows) + 140),
        barmode="stack",
        legend={"orientation": "h", "y": -0.08, "title": "label"},
    )
    fig.update_layout(margin={"t": 40})  # room for the two subplot titles
    # From 0: an axis starting just below the lowest score (0.83) made a 0.01 gap look like a rout.
    fig.update_xaxes(range=[0.0, 1.0], tickformat=".2f", gridcolor="#eee", row=1, col=1)
    fig.update_xaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    return fig
