"""Data-derived text in every chart is escaped for plotly's HTML subset (issue 10: all data-derived text is
shown as plain text): each figure builder is fed hostile method ids, labels, uids and titles, and the
figure's JSON must carry only their escaped form. tests/test_browser_app.py checks the drawn SVG text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.figures import (
    Colouring,
    budget_lines,
    correlation_heatmap,
    data_map,
    embedding_map,
    factor_agreement_bars,
    grid_heatmap,
    intersections_bar,
    label_balance_bar,
    label_counts_bar,
    method_ranks_bar,
    method_value_bars,
    overlap_heatmap,
    score_scatter,
    stage_timings_bar,
    tv_by_method_bar,
)
from app.figures.evaluation import budget_curves, leaderboard_chart
from app.figures.lab import LabPanel, html_title, lab_panels
from app.figures.text import from_plot_text, plot_text
from app.views import clicked_cell
from prune_core.evaluate import FULL_DATA, RANDOM_BAND

HOSTILE = [
    "<b>bold</b>",
    '<a href="http://198.51.100.7/x">link</a>',
    "line<br>break",
    "**md** ![i](http://198.51.100.7/i.png) # h",
    "%{y} and 50 %",
    "$x^2$",
    "\u202eRTL\u202c zero\u200bwidth",
    "a&lt;b &amp; c",
]
A, B, C, D = HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[3]


def strings(value) -> list[str]:
    """Every string anywhere in a figure's JSON (data, layout, annotations)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [s for v in value.tolist() for s in strings(v)]
    return []


def assert_escaped(fig, shown: list[str]) -> None:
    """Each of ``shown`` appears escaped, and no raw tag, template or TeX from the data survives."""
    texts = strings(fig.to_plotly_json())
    blob = "\n".join(texts)
    for value in shown:
        assert plot_text(value) in blob, (value, texts[:40])
    for raw in ("<b>bold", "<a href", "line<br>break", "%{y} and", "$x^2$", "a&lt;b"):
        assert raw not in blob, (raw, [t for t in texts if raw in t])


def test_plot_text_escapes_markup_entities_templates_and_tex_and_is_inverted_exactly():
    assert plot_text("<b>x</b> & %{y} 50 % $a$") == "&lt;b&gt;x&lt;/b&gt; &amp; &#37;{y} 50 % &#36;a&#36;"
    for value in HOSTILE + ["plain", "", "&", "&amp;", "&#37;{"]:
        assert from_plot_text(plot_text(value)) == value
    assert plot_text("\u202eRTL\u200b") == "\u202eRTL\u200b"  # shown as the characters they are


def test_heatmaps_escape_method_ids_in_ticks_cells_and_hover_and_a_click_returns_the_id():
    corr = pd.DataFrame(np.eye(3), index=[A, B, C], columns=[A, B, C])
    fig = correlation_heatmap(corr, notes={A: D})
    assert_escaped(fig, [A, B, C, D])
    assert list(fig.data[0].x) == [plot_text(m) for m in (A, B, C)]
    click = {"selection": {"points": [{"x": fig.data[1].x[1], "y": fig.data[1].y[1]}]}}
    assert clicked_cell(click) == (A, B)
    assert_escaped(overlap_heatmap(corr, budget_text=HOSTILE[4]), [A, B, C, HOSTILE[4]])


def test_agreement_charts_escape_selectors_representations_methods_and_titles():
    values = pd.DataFrame([[0.5, np.nan]], index=[A], columns=[B, C])
    methods = pd.DataFrame([[D, None]], index=[A], columns=[B, C], dtype=object)
    assert_escaped(grid_heatmap(values, methods, title=HOSTILE[5]), [A, B, C, D, HOSTILE[5]])
    table = pd.DataFrame(
        {"factor": [A, B], "name": [C, D], "mean": [0.4, 0.5], "min": [0.3, 0.4], "max": [0.5, 0.6]}
    )
    assert_escaped(factor_agreement_bars(table, chance=0.2, title=A), [A, B, C, D])
    lines = pd.DataFrame({A: [0.2, 0.4]}, index=[0.1, 0.3])
    chance = pd.Series([0.1, 0.3], index=[0.1, 0.3])
    assert_escaped(budget_lines(lines, title=B, y_title=C, chance=chance), [A, B, C])
    bars = pd.Series([0.3, 0.6], index=[A, B])
    assert_escaped(
        method_value_bars(bars, title=C, x_title=D, chance=bars, chance_name=HOSTILE[6]), [A, B, C, D]
    )
    assert_escaped(
        method_value_bars(bars, title=C, x_title=D, chance=0.2, chance_name=HOSTILE[7]), [HOSTILE[7]]
    )


def test_bar_charts_escape_labels_splits_stages_and_methods():
    counts = pd.DataFrame([[3, 1], [2, 2]], index=[A, B], columns=[C, "validation"])
    assert_escaped(label_counts_bar(counts), [A, B, C])
    stages = pd.DataFrame({"stage": [f"select:{A}"], "seconds": [1.5], "status": [B]})
    assert_escaped(stage_timings_bar(stages), [f"select:{A}", B])
    shares = pd.DataFrame([[0.5, 0.5], [0.7, 0.3]], index=["full data", D], columns=[A, B])
    assert_escaped(label_balance_bar(shares, {D: 0.2}), [A, B, f"{D} (TV 0.200)"])
    assert_escaped(tv_by_method_bar(pd.DataFrame({"plain": [0.1], "balanced": [0.0]}, index=[C])), [C])
    table = pd.DataFrame({"label": [A, f"{A} & {B}"], "order": [1, 2], "size": [4, 2]})
    assert_escaped(intersections_bar(table), [A, f"{A} & {B}"])
    profile = pd.DataFrame({"percentile": [90.0], "kept": [True]}, index=[D])
    assert_escaped(method_ranks_bar(profile, budget_text=C), [D, C])


def test_evaluation_charts_escape_series_and_label_names():
    rows = []
    for method, balanced in ((A, False), (A, True), (RANDOM_BAND, False)):
        series = f"{method} (balanced)" if balanced else ("random band" if method == RANDOM_BAND else method)
        for budget in (0.1, 0.3):
            rows.append(
                dict(
                    method=method,
                    balanced=balanced,
                    budget=budget,
                    mean=0.7,
                    std=0.01,
                    seeds=1,
                    series=series,
                )
            )
    rows.append(
        dict(method=FULL_DATA, balanced=False, budget=1.0, mean=0.8, std=0.0, seeds=1, series="full data")
    )
    summary = pd.DataFrame(rows)
    assert_escaped(budget_curves(summary, metric_title=B, split="test"), [A, f"{A} (balanced)", B])
    board = pd.DataFrame(
        {
            "series": [A, "random band"],
            "method": [A, RANDOM_BAND],
            "balanced": [False, False],
            "mean": [0.7, 0.6],
            "std": [0.0, 0.01],
            f"share_{C}": [0.4, 0.5],
            f"share_{D}": [0.6, 0.5],
        }
    )
    assert_escaped(leaderboard_chart(board, [C, D], metric_title=B, budget_text="30 %"), [A, B, C, D])


def test_scatter_plots_escape_label_names_subset_names_and_axis_titles():
    rng = np.random.default_rng(0)
    coords, labels = rng.normal(size=(6, 2)), np.array([0, 1, 0, 1, 0, 1])
    positions = np.arange(6)
    assert_escaped(embedding_map(coords, Colouring.by_label(labels, [A, B]), positions, title=C), [A, B, C])
    kept = labels.astype(bool)
    assert_escaped(embedding_map(coords, Colouring.by_membership(kept, D), positions), [f"kept by {D}"])
    assert_escaped(embedding_map(coords, Colouring.by_value(coords[:, 0], A), positions), [A])
    fig = score_scatter(coords[:, 0], coords[:, 1], labels, [C, D], positions, x_title=A, y_title=B, title=C)
    assert_escaped(fig, [A, B, C, D])
    fig = data_map(coords[:, 0], coords[:, 1], coords[:, 0], positions, overlay=kept, overlay_name=A)
    assert_escaped(fig, [f"kept by {A}"])
    pytest.importorskip("datashader")
    from app.figures.density import density_map, extent

    x_range, y_range = extent(coords)
    fig = density_map(
        coords, Colouring.by_label(labels, [A, B]), x_range, y_range, title=C, counts=np.array([3, 3])
    )
    assert_escaped(fig, [f"{A} (3)", f"{B} (3)", C])


@pytest.mark.parametrize("title", [f"{A}_{B}", A])
def test_lab_panel_titles_keep_only_the_subscript_as_markup(title):
    assert "<sub>" not in html_title(A) and plot_text(A) in html_title(A)
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    decision = (np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.full((2, 2), 0.5))
    fig = lab_panels(
        points, np.array([-1, 1]), np.array([False, True]), decision, [[LabPanel(title, np.array([0]))]]
    )
    assert_escaped(fig, [A])
