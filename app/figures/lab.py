"""The Gaussian-mixture lab's panel grid: one panel per (representation, selector), as in Du et al.'s Fig. 2a.

Each panel (sampling_toy.ipynb) shows the reference model's decision regions (here
p(+1) as a pale heatmap with the p = 0.5 boundary), the training points coloured by label, the points
the rule keeps as green crosses, and, our addition, the flipped-label points ringed in black so a
user sees which rules chase label noise. All panels share their axes: zooming one zooms all.
Plain arrays in, a plotly figure out; no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.style import finish, label_colour
from app.figures.text import plot_text

KEPT_CROSS = "#228B22"  # the notebook's forestgreen "x"
FLIPPED_RING = "#111111"
BOUNDARY = "#666666"
DECISION_SCALE = [[0.0, "#c9d9ec"], [0.5, "#ffffff"], [1.0, "#fcd9b4"]]  # pale label -1 / label +1 colours
WEBGL_ABOVE = 30_000  # points over all panels; SVG is crisper and lighter below this


@dataclass(frozen=True)
class LabPanel:
    """One panel: its title and the training positions the rule keeps."""

    title: str
    kept: np.ndarray


def html_title(title: str) -> str:
    """The paper's subscript in HTML: "ℓ-Difficulty_proto" -> "ℓ-Difficulty<sub>proto</sub>" (each part
    escaped, so only the subscript is markup)."""
    head, sep, tail = title.rpartition("_")
    return f"{plot_text(head)}<sub>{plot_text(tail)}</sub>" if sep and head else plot_text(title)


def _check(points: np.ndarray, labels: np.ndarray, flipped: np.ndarray) -> None:
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"lab_panels: expected [n, 2] training points, found shape {points.shape}")
    if labels.shape != (points.shape[0],) or flipped.shape != (points.shape[0],):
        raise ValueError(
            f"lab_panels: expected {points.shape[0]} labels and flipped flags, found shapes "
            f"{labels.shape} and {flipped.shape}"
        )


def lab_panels(
    points: np.ndarray,
    labels: np.ndarray,
    flipped: np.ndarray,
    decision: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: list[list[LabPanel | None]],
    *,
    panel_height: int = 300,
    label_names: tuple[str, str] = ("label −1", "label +1"),
) -> go.Figure:
    """A rows x columns grid of panels; ``None`` marks a cell the selector does not run on.

    ``decision`` is (xs, ys, p) with p[len(ys), len(xs)] = p(label +1) on a grid (model.probability_grid).
    """
    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels)
    flipped = np.asarray(flipped, dtype=bool)
    _check(points, labels, flipped)
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=0)
    if n_rows == 0 or n_cols == 0:
        raise ValueError("lab_panels: expected at least one panel")
    titles = [html_title(p.title) if p else "" for r in rows for p in list(r) + [None] * (n_cols - len(r))]
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=titles,
        shared_xaxes="all",
        shared_yaxes="all",
        horizontal_spacing=0.02,
        vertical_spacing=min(0.08, 0.3 / n_rows),
    )
    scatter = go.Scattergl if points.shape[0] * n_rows * n_cols > WEBGL_ABOVE else go.Scatter
    xs, ys, p = (np.asarray(a) for a in decision)
    first = True
    for r, row in enumerate(rows, start=1):
        for c, panel in enumerate(row, start=1):
            if panel is None:
                fig.add_annotation(
                    text="not defined on<br>this representation",
                    showarrow=False,
                    font={"color": "#888", "size": 11},
                    row=r,
                    col=c,
                    x=float(xs.mean()),
                    y=float(ys.mean()),
                )
                continue
            for trace in _panel_traces(
                points, labels, flipped, (xs, ys, p), panel, label_names, scatter, legend=first
            ):
                fig.add_trace(trace, row=r, col=c)
            first = False
    finish(
        fig,
        height=max(320, panel_height * n_rows + 60),
        hovermode="closest",
        legend={
            "orientation": "h",
            "y": 0.0,
            "yanchor": "top",
            "x": 0.0,
            "itemclick": False,
            "itemdoubleclick": False,
        },
    )
    fig.update_layout(margin={"t": 30, "b": 40})  # room for the first row's titles and the legend below
    bare = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False}
    fig.update_xaxes(**bare, range=[float(xs[0]), float(xs[-1])])
    fig.update_yaxes(**bare, range=[float(ys[0]), float(ys[-1])])
    fig.update_annotations(font_size=13)
    return fig


def _panel_traces(
    points: np.ndarray,
    labels: np.ndarray,
    flipped: np.ndarray,
    decision: tuple,
    panel: LabPanel,
    label_names: tuple[str, str],
    scatter: type,
    *,
    legend: bool,
) -> list:
    """Decision regions, boundary, the two labels, the flipped rings and the kept crosses of one panel."""
    xs, ys, p = (a.astype(np.float32) for a in decision)
    kept = np.asarray(panel.kept, dtype=np.int64)
    position = np.arange(points.shape[0])
    traces = [
        go.Heatmap(
            x=xs,
            y=ys,
            z=p,
            zmin=0.0,
            zmax=1.0,
            colorscale=DECISION_SCALE,
            showscale=False,
            hoverinfo="skip",
            name="p(+1)",
        ),
        go.Contour(
            x=xs,
            y=ys,
            z=p,
            showscale=False,
            contours={"start": 0.5, "end": 0.5, "size": 1.0, "coloring": "lines"},
            colorscale=[[0.0, BOUNDARY], [1.0, BOUNDARY]],
            line={"width": 1.2},
            hoverinfo="skip",
            name="decision boundary",
        ),
    ]

    def points_trace(rows: np.ndarray, name: str, group: str, marker: dict, hover: str):
        return scatter(
            x=points[rows, 0],
            y=points[rows, 1],
            mode="markers",
            name=plot_text(name),
            legendgroup=group,
            showlegend=legend,
            customdata=rows,
            marker=marker,
            hovertemplate=f"train #%{{customdata}} · {plot_text(hover)}<extra></extra>",
        )

    for code, (value, name) in enumerate(zip((-1, 1), label_names)):
        marker = {"color": label_colour(code), "size": 5, "opacity": 0.55, "line": {"width": 0}}
        traces.append(points_trace(position[labels == value], name, name, marker, name))
    ring = {"symbol": "circle-open", "size": 12, "color": FLIPPED_RING, "line": {"width": 1.5}}
    traces.append(
        points_trace(position[flipped], "flipped label", "flipped", ring, "label flipped by the generator")
    )
    cross = {"symbol": "x", "size": 7, "color": KEPT_CROSS, "line": {"width": 0}}
    traces.append(points_trace(kept, "kept", "kept", cross, "kept"))
    return traces
