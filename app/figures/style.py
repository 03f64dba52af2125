"""Colours and layout shared by every plot builder, so a label or a kept subset looks the same on every page."""

from __future__ import annotations

import plotly.graph_objects as go

from app.figures.text import plot_text

# Tableau-10: distinguishable for the common colour-vision deficiencies and on light backgrounds.
LABEL_PALETTE = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#EECA3B",
    "#B279A2",
    "#FF9DA6",
    "#9D755D",
    "#BAB0AC",
)
KEPT_COLOUR = "#D62728"
DROPPED_COLOUR = "#C9CED6"
PAIR_A_COLOUR = "#1F77B4"  # two subsets on one map: only A blue, only B orange, both KEPT_COLOUR
PAIR_B_COLOUR = "#FF7F0E"
FULL_DATA_COLOUR = "#7F7F7F"
PLAIN_COLOUR = "#4C78A8"
BALANCED_COLOUR = "#F58518"
DIVERGING = "RdBu"  # correlations: -1 red, 0 white, +1 blue
SEQUENTIAL = "Blues"  # overlaps in [0, 1]
CONTINUOUS = "Viridis"  # scores and correctness on scatter plots


def label_colour(index: int) -> str:
    """The colour of label ``index`` (cycling through the palette beyond ten labels)."""
    return LABEL_PALETTE[int(index) % len(LABEL_PALETTE)]


def stepped_colorscale(colours: list[str] | tuple[str, ...]) -> list[list]:
    """A colorscale that maps the integer codes 0..K-1 (with cmin=-0.5, cmax=K-0.5) to flat colours.

    One WebGL trace coloured by numeric codes stays a compact typed array at 100 000 points, where an
    array of colour strings would be ten times larger.
    """
    k = max(len(colours), 1)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / k, colour], [(i + 1) / k, colour]]
    return scale


def finish(fig: go.Figure, *, title: str = "", height: int = 420, **layout) -> go.Figure:
    """Common layout: a compact title (plain text: it often names methods), white background, tight
    margins that grow to fit tick labels (``automargin`` on every axis)."""
    fig.update_layout(
        title={"text": plot_text(title), "x": 0.0, "xanchor": "left", "font": {"size": 15}}
        if title
        else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 45 if title else 10, "b": 10},
        plot_bgcolor="white",
        **layout,
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig
