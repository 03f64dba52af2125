"""Bar charts: label counts, stage timings, label balance of subsets, largest intersections, ranks.

Small charts (tens of bars), drawn as SVG so they never take one of the page's few WebGL contexts.
Labels, splits, stages and method ids are data: each is escaped for plotly (app/figures/text.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.figures.style import (
    BALANCED_COLOUR,
    DROPPED_COLOUR,
    FULL_DATA_COLOUR,
    KEPT_COLOUR,
    PLAIN_COLOUR,
    finish,
    label_colour,
)
from app.figures.text import plot_text, plot_texts

STATUS_COLOURS = {"done": "#54A24B", "running": "#4C78A8", "failed": "#E45756", "missing": "#BAB0AC"}


def label_counts_bar(counts: pd.DataFrame, noun: str = "label") -> go.Figure:
    """Examples per label (index) and split (columns), one group of bars per split (``noun``: what the
    groups are, ``source`` for generation runs)."""
    fig = go.Figure()
    for i, label in enumerate(counts.index):
        fig.add_trace(
            go.Bar(
                x=plot_texts(counts.columns),
                y=counts.loc[label].to_numpy(dtype=np.int64),
                name=plot_text(label),
                marker_color=label_colour(i),
                hovertemplate=f"{plot_text(label)}: %{{y:,}}<extra>%{{x}}</extra>",
            )
        )
    finish(fig, title=f"Examples per {noun} and split", height=320, barmode="group", legend={"title": noun})
    fig.update_yaxes(title="examples", gridcolor="#eee")
    return fig


def stage_timings_bar(stages: pd.DataFrame) -> go.Figure:
    """Seconds per stage (columns ``stage``, ``seconds``, ``status``), in the order given, top to bottom."""
    colours = [STATUS_COLOURS.get(s, STATUS_COLOURS["missing"]) for s in stages["status"]]
    fig = go.Figure(
        go.Bar(
            y=plot_texts(stages["stage"]),
            x=stages["seconds"].fillna(0).to_numpy(np.float64),
            orientation="h",
            marker_color=colours,
            customdata=plot_texts(stages["status"]),
            hovertemplate="%{y}: %{x:.1f} s (%{customdata})<extra></extra>",
        )
    )
    finish(fig, title="Time per stage", height=max(220, 22 * len(stages) + 80))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="seconds", gridcolor="#eee")
    return fig


def label_balance_bar(
    shares: pd.DataFrame, tv: dict[str, float] | None = None, noun: str = "label"
) -> go.Figure:
    """Label shares of the full data and of subsets side by side (``noun``: ``source`` for generation).

    ``shares``: one row per distribution (e.g. "full data", "plain", "label-balanced"), one column per
    label, rows summing to 1; ``tv`` adds each subset's total-variation distance to its legend entry.
    """
    tv = tv or {}
    colours = {0: FULL_DATA_COLOUR, 1: PLAIN_COLOUR, 2: BALANCED_COLOUR}
    fig = go.Figure()
    for i, (row, values) in enumerate(shares.iterrows()):
        name = f"{row} (TV {tv[row]:.3f})" if row in tv and not np.isnan(tv[row]) else str(row)
        fig.add_trace(
            go.Bar(
                x=plot_texts(shares.columns),
                y=values.to_numpy(dtype=np.float64),
                name=plot_text(name),
                marker_color=colours.get(i, label_colour(i)),
                hovertemplate="%{x}: %{y:.1%}<extra>" + plot_text(row) + "</extra>",
            )
        )
    finish(
        fig,
        title=f"{noun.capitalize()} distribution: full data against the subset",
        height=360,
        barmode="group",
        legend={"orientation": "h", "y": -0.15},
    )
    fig.update_yaxes(title="share of examples", tickformat=".0%", gridcolor="#eee")
    return fig


def tv_by_method_bar(table: pd.DataFrame, noun: str = "label") -> go.Figure:
    """Total-variation distance from the full data per method (index), columns ``plain`` / ``balanced``
    (``noun``: what is balanced, ``source`` for generation runs)."""
    fig = go.Figure()
    for column, colour, name in (
        ("plain", PLAIN_COLOUR, "plain"),
        ("balanced", BALANCED_COLOUR, f"{noun}-balanced"),
    ):
        if column in table:
            fig.add_trace(
                go.Bar(
                    x=plot_texts(table.index),
                    y=table[column].to_numpy(dtype=np.float64),
                    name=name,
                    marker_color=colour,
                    hovertemplate="%{x}: TV %{y:.3f}<extra></extra>",
                )
            )
    finish(
        fig,
        title=f"Total-variation distance of each subset's {noun}s from the full data",
        height=360,
        barmode="group",
        legend={"orientation": "h", "y": 1.1},
    )
    fig.update_xaxes(tickangle=-45)
    fig.update_yaxes(title="TV distance (0 = same shares)", gridcolor="#eee", rangemode="tozero")
    return fig


def intersections_bar(table: pd.DataFrame) -> go.Figure:
    """UpSet-style bars: examples kept by exactly this combination of methods (``label``, ``size``, ``order``).

    The colour says how many methods the combination has; one legend entry per count explains it. Bars
    keep the table's order (largest first) whatever their colour.
    """
    labels = plot_texts(table["label"])
    orders = table["order"].to_numpy(dtype=np.int64)
    sizes = table["size"].to_numpy(dtype=np.int64)
    fig = go.Figure()
    for order in sorted(set(orders.tolist())):
        rows = np.flatnonzero(orders == order)
        fig.add_trace(
            go.Bar(
                y=[labels[i] for i in rows],
                x=sizes[rows],
                orientation="h",
                name=f"{order} method{'s' if order != 1 else ''}",
                marker_color=label_colour(order - 1),
                hovertemplate="%{y}: %{x:,} examples kept by exactly these methods<extra></extra>",
            )
        )
    finish(
        fig,
        title="Largest exclusive intersections",
        height=max(260, 24 * len(table) + 110),
        showlegend=True,  # plotly hides a one-trace legend; the colour needs its key even then
        legend={"title": "combination of"},
    )
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title="examples kept by exactly these methods", gridcolor="#eee")
    return fig


def method_ranks_bar(profile: pd.DataFrame, *, budget_text: str = "") -> go.Figure:
    """One example's percentile under every method (index); bars in red where the method keeps it.

    ``profile`` columns: ``percentile`` (100 = kept first), ``kept`` (bool at the chosen budget).
    """
    kept = profile["kept"].fillna(False).astype(bool).to_numpy()
    fig = go.Figure(
        go.Bar(
            y=plot_texts(profile.index),
            x=profile["percentile"].to_numpy(dtype=np.float64),
            orientation="h",
            marker_color=np.where(kept, KEPT_COLOUR, DROPPED_COLOUR).tolist(),
            hovertemplate="%{y}: percentile %{x:.1f}<extra></extra>",
        )
    )
    finish(
        fig,
        title="Percentile per method" + (f" (red: kept at {budget_text})" if budget_text else ""),
        height=max(260, 20 * len(profile) + 90),
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 100], title="percentile", gridcolor="#eee")
    fig.add_vline(x=50, line={"color": "#999", "dash": "dot", "width": 1})
    return fig
