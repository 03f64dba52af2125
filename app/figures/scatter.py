"""Large scatter plots (embedding map, score vs score, data map) as single WebGL traces of typed arrays.

Why this shape: plotly sends numpy float32 arrays as compact base64 typed arrays, a
single ``scattergl`` trace draws 100 000 points in tens of milliseconds, and a box / lasso selection
comes back as point indices *of that trace*. So every builder draws the examples as trace 0, in the
order of a ``positions`` array (row positions of the training split): a selection's point indices
``i`` are the rows ``positions[i]``. Colours are numeric codes or values, not strings; legends for
categories come from empty SVG traces that hold no points. Above ``MAX_POINTS`` points the embedding
map draws a density image instead (app/figures/density.py); the other scatters draw a seeded sample
(``plot_positions``) and say so on the page. Category names, subset names and titles are data: each is
escaped for plotly where it is drawn (app/figures/text.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from app.figures.style import (
    CONTINUOUS,
    DROPPED_COLOUR,
    KEPT_COLOUR,
    PAIR_A_COLOUR,
    PAIR_B_COLOUR,
    finish,
    label_colour,
    stepped_colorscale,
)
from app.figures.text import plot_text, plot_texts

MAX_POINTS = 100_000  # points drawn as markers; above, the embedding map draws a density
HOVER_LIMIT = 20_000  # above this, per-point hover text would dominate the payload


@dataclass(frozen=True)
class Colouring:
    """How to colour the points: integer category codes (with names and colours) or a continuous value.

    ``values`` has one entry per row of the data (all rows, not only the drawn ones).
    """

    values: np.ndarray
    title: str
    categories: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()

    @property
    def categorical(self) -> bool:
        return bool(self.categories)

    @classmethod
    def by_label(cls, labels: np.ndarray, label_names: list[str]) -> Colouring:
        names = tuple(str(n) for n in label_names)
        return cls(
            np.asarray(labels, dtype=np.int64),
            "label",
            names,
            tuple(label_colour(i) for i in range(len(names))),
        )

    @classmethod
    def by_membership(cls, kept: np.ndarray, subset_name: str) -> Colouring:
        return cls(
            np.asarray(kept, dtype=bool).astype(np.int64),
            subset_name,
            ("not kept", f"kept by {subset_name}"),
            (DROPPED_COLOUR, KEPT_COLOUR),
        )

    @classmethod
    def by_pair(cls, kept_a: np.ndarray, kept_b: np.ndarray, name_a: str, name_b: str) -> Colouring:
        """Two subsets on one map: code 0 neither, 1 only B, 2 only A, 3 both (drawn last, on top)."""
        codes = 2 * np.asarray(kept_a, dtype=bool).astype(np.int64) + np.asarray(kept_b, dtype=bool)
        return cls(
            codes,
            f"{name_a} and {name_b}",
            ("kept by neither", f"only {name_b}", f"only {name_a}", "kept by both"),
            (DROPPED_COLOUR, PAIR_B_COLOUR, PAIR_A_COLOUR, KEPT_COLOUR),
        )

    @classmethod
    def by_value(cls, values: np.ndarray, title: str) -> Colouring:
        return cls(np.asarray(values, dtype=np.float64), title)


def plot_positions(
    n: int,
    *,
    limit: int | None = None,
    seed: int = 0,
    on_top: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Rows to draw, in drawing order: every row (of ``rows`` when given: the rows in a zoomed view), or
    a seeded sample of ``limit`` of them (default ``MAX_POINTS``), in a seeded shuffled order, so that
    no label systematically covers another; rows flagged ``on_top`` last."""
    limit = MAX_POINTS if limit is None else limit
    rng = np.random.default_rng(seed)
    pool = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    rows = pool if len(pool) <= limit else np.sort(rng.choice(pool, limit, replace=False))
    rows = rows[rng.permutation(len(rows))]
    if on_top is not None:
        flag = np.asarray(on_top, dtype=bool)[rows]
        rows = np.concatenate([rows[~flag], rows[flag]])
    return rows


def downsample_notice(n: int) -> str | None:
    """The notice a page shows above a scatter of ``n`` points when only a sample is drawn, else None."""
    if n <= MAX_POINTS:
        return None
    return (
        f"Showing a seeded sample of {MAX_POINTS:,} of {n:,} examples (more would slow the browser down); "
        "a selection covers only the points drawn."
    )


def _points_trace(
    x: np.ndarray, y: np.ndarray, colouring: Colouring, positions: np.ndarray, *, showscale: bool = True
) -> go.Scattergl:
    values = colouring.values[positions]
    marker: dict = {"size": 5 if len(positions) <= 20_000 else 3, "opacity": 0.8, "line": {"width": 0}}
    if colouring.categorical:
        k = len(colouring.categories)
        marker.update(
            color=values.astype(np.int8 if k < 128 else np.int32),
            cmin=-0.5,
            cmax=k - 0.5,
            colorscale=stepped_colorscale(colouring.colours),
            showscale=False,
        )
    else:
        marker.update(
            color=values.astype(np.float32),
            colorscale=CONTINUOUS,
            showscale=showscale,
            colorbar={"title": {"text": plot_text(colouring.title)}, "thickness": 12},
        )
    trace = go.Scattergl(
        x=np.asarray(x, dtype=np.float32)[positions],
        y=np.asarray(y, dtype=np.float32)[positions],
        mode="markers",
        marker=marker,
        name="examples",
        showlegend=False,
    )
    if len(positions) > HOVER_LIMIT:
        trace.update(hoverinfo="skip")
    elif colouring.categorical:
        trace.update(
            text=np.asarray(plot_texts(colouring.categories), dtype=object)[values].tolist(),
            hovertemplate="%{text}<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
        )
    else:
        trace.update(
            hovertemplate=f"{plot_text(colouring.title)}: %{{marker.color:.3g}}<br>(%{{x:.3g}}, %{{y:.3g}})<extra></extra>"
        )
    return trace


def _legend_entries(fig: go.Figure, colouring: Colouring, positions: np.ndarray) -> None:
    """Empty SVG traces that only carry a legend entry per category (with its count among drawn points)."""
    if not colouring.categorical:
        return
    counts = np.bincount(colouring.values[positions], minlength=len(colouring.categories))
    for name, colour, count in zip(colouring.categories, colouring.colours, counts):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"color": colour, "size": 9},
                name=plot_text(f"{name} ({count:,})"),
                hoverinfo="skip",
                showlegend=True,
            )
        )
    fig.update_layout(legend={"itemclick": False, "itemdoubleclick": False, "orientation": "h", "y": -0.08})


def embedding_map(
    coords: np.ndarray,
    colouring: Colouring,
    positions: np.ndarray,
    *,
    title: str = "",
    axis_titles: tuple[str, str] = ("", ""),
) -> go.Figure:
    """2-D map (UMAP / PCA) of one representation; trace 0 holds ``positions`` in order; box-select by drag."""
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"embedding_map: expected [n, 2] coordinates, found shape {coords.shape}")
    if len(colouring.values) != len(coords):
        raise ValueError(f"embedding_map: {len(colouring.values)} colour values for {len(coords)} points")
    fig = go.Figure(_points_trace(coords[:, 0], coords[:, 1], colouring, positions))
    _legend_entries(fig, colouring, positions)
    finish(fig, title=title, height=560, dragmode="select", hovermode="closest")
    fig.update_xaxes(title=plot_text(axis_titles[0]), showgrid=False, zeroline=False)
    fig.update_yaxes(title=plot_text(axis_titles[1]), showgrid=False, zeroline=False)
    return fig


def score_scatter(
    x_scores: np.ndarray,
    y_scores: np.ndarray,
    labels: np.ndarray,
    label_names: list[str],
    positions: np.ndarray,
    *,
    x_title: str,
    y_title: str,
    title: str = "",
) -> go.Figure:
    """One method's score against another's (both higher = keep), coloured by label."""
    colouring = Colouring.by_label(labels, label_names)
    fig = go.Figure(_points_trace(x_scores, y_scores, colouring, positions))
    _legend_entries(fig, colouring, positions)
    finish(fig, title=title, height=460, hovermode="closest")
    fig.update_xaxes(title=plot_text(x_title), gridcolor="#eee")
    fig.update_yaxes(title=plot_text(y_title), gridcolor="#eee")
    return fig


def data_map(
    confidence: np.ndarray,
    variability: np.ndarray,
    correctness: np.ndarray,
    positions: np.ndarray,
    *,
    overlay: np.ndarray | None = None,
    overlay_name: str = "",
) -> go.Figure:
    """Dataset cartography (Swayamdipta et al. 2020, Fig. 1): variability (x) against confidence (y),
    coloured by correctness; ``overlay`` (a boolean mask over rows) rings the examples a method keeps."""
    colouring = Colouring.by_value(correctness, "correctness")
    fig = go.Figure(_points_trace(variability, confidence, colouring, positions))
    fig.data[0].marker.update(cmin=0.0, cmax=1.0)
    if overlay is not None:
        kept = positions[np.asarray(overlay, dtype=bool)[positions]]
        fig.add_trace(
            go.Scattergl(
                x=np.asarray(variability, dtype=np.float32)[kept],
                y=np.asarray(confidence, dtype=np.float32)[kept],
                mode="markers",
                name=plot_text(f"kept by {overlay_name} ({len(kept):,})"),
                hoverinfo="skip",
                marker={"symbol": "circle-open", "size": 7, "color": KEPT_COLOUR, "line": {"width": 1}},
            )
        )
    for text, x, y in (
        ("easy-to-learn", 0.02, 0.98),
        ("hard-to-learn", 0.02, 0.02),
        ("ambiguous", 0.98, 0.5),
    ):
        fig.add_annotation(
            text=text,
            xref="paper",
            yref="paper",
            x=x,
            y=y,
            showarrow=False,
            xanchor="left" if x < 0.5 else "right",
            font={"color": "#666", "size": 11},
        )
    finish(
        fig,
        title="Data map: confidence against variability across epochs",
        height=520,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.12},
    )
    fig.update_xaxes(title="variability (std of p(gold) over epochs)", gridcolor="#eee")
    fig.update_yaxes(title="confidence (mean p(gold))", gridcolor="#eee", range=[-0.02, 1.02])
    return fig
