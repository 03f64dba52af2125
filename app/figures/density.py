"""The embedding map above the point limit: an aggregated density image of every point (datashader).

Why: a million points as WebGL markers is a ~20 MB payload and seconds of drawing, and overplotting
hides the density anyway. datashader (Anaconda/HoloViz; Bednar et al., datashader.org) bins the points
of the visible range into one pixel grid on the server (category counts per pixel, or a mean value) and
shades it; the browser receives one PNG of a few hundred kB whatever n is. The image is placed in data
coordinates under an invisible grid of anchor points, so plotly's box and lasso still report their
geometry, and the page turns that geometry into rows on the server (app/views.py ``rows_in_selection``):
a selection still covers every point inside it, not only drawn ones.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sequential

from app.figures.scatter import Colouring
from app.figures.style import CONTINUOUS, finish
from app.figures.text import plot_text

IMAGE_SIZE = (900, 560)  # pixels (width, height) of the density image
ANCHORS = (80, 50)  # invisible selection anchors per axis


def extent(coords: np.ndarray, rows: np.ndarray | None = None, pad: float = 0.02) -> tuple[tuple, tuple]:
    """(x_range, y_range) covering the points (of ``rows``), padded by ``pad`` of each side's span."""
    xy = np.asarray(coords, dtype=np.float64) if rows is None else np.asarray(coords[rows], dtype=np.float64)
    if not len(xy):
        return (0.0, 1.0), (0.0, 1.0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def density_png(
    coords: np.ndarray, colouring: Colouring, x_range: tuple, y_range: tuple, size: tuple = IMAGE_SIZE
) -> str:
    """A PNG data URI of every point's density in the range, coloured by category mix or mean value."""
    import datashader as ds
    import datashader.transfer_functions as tf

    canvas = ds.Canvas(plot_width=size[0], plot_height=size[1], x_range=x_range, y_range=y_range)
    frame = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1]})
    if colouring.categorical:
        frame["c"] = pd.Categorical.from_codes(
            colouring.values.astype(np.int64), categories=[str(i) for i in range(len(colouring.categories))]
        )
        agg = canvas.points(frame, "x", "y", ds.count_cat("c"))
        key = {str(i): colour for i, colour in enumerate(colouring.colours)}
        image = tf.shade(agg, color_key=key, how="eq_hist", min_alpha=60)
    else:
        frame["v"] = np.asarray(colouring.values, dtype=np.float64)
        agg = canvas.points(frame, "x", "y", ds.mean("v"))
        image = tf.shade(agg, cmap=list(getattr(sequential, CONTINUOUS)), how="linear")
    buffer = io.BytesIO()
    image.to_pil().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def density_map(
    coords: np.ndarray,
    colouring: Colouring,
    x_range: tuple,
    y_range: tuple,
    *,
    title: str = "",
    counts: np.ndarray | None = None,
) -> go.Figure:
    """The density image in data coordinates, with trace 0 an invisible anchor grid for box / lasso.

    ``counts`` (one per category, over the points in range) labels the legend entries.
    """
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"density_map: expected [n, 2] coordinates, found shape {coords.shape}")
    gx, gy = np.meshgrid(np.linspace(*x_range, ANCHORS[0]), np.linspace(*y_range, ANCHORS[1]))
    fig = go.Figure(
        go.Scattergl(
            x=gx.ravel().astype(np.float32),
            y=gy.ravel().astype(np.float32),
            mode="markers",
            marker={"size": 1, "opacity": 0},
            hoverinfo="skip",
            showlegend=False,
            name="selection anchors",
        )
    )
    fig.add_layout_image(
        source=density_png(coords, colouring, x_range, y_range),
        xref="x",
        yref="y",
        x=x_range[0],
        y=y_range[1],
        sizex=x_range[1] - x_range[0],
        sizey=y_range[1] - y_range[0],
        sizing="stretch",
        layer="below",
    )
    if colouring.categorical:
        shown = np.zeros(len(colouring.categories), dtype=np.int64) if counts is None else counts
        for name, colour, count in zip(colouring.categories, colouring.colours, shown):
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker={"color": colour, "size": 9},
                    name=plot_text(f"{name} ({int(count):,})"),  # label names are data
                    hoverinfo="skip",
                )
            )
        fig.update_layout(
            legend={"itemclick": False, "itemdoubleclick": False, "orientation": "h", "y": -0.08}
        )
    finish(fig, title=title, height=560, dragmode="select", hovermode=False)
    fig.update_xaxes(range=list(x_range), showgrid=False, zeroline=False, autorange=False)
    fig.update_yaxes(range=list(y_range), showgrid=False, zeroline=False, autorange=False)
    return fig
