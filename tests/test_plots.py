"""Plot builders on hand data: trace types, point order and counts, colours, axis order, legends."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from app.figures import (
    Colouring,
    correlation_heatmap,
    data_map,
    embedding_map,
    intersections_bar,
    label_balance_bar,
    label_counts_bar,
    method_ranks_bar,
    overlap_heatmap,
    plot_positions,
    score_scatter,
    stage_timings_bar,
    tv_by_method_bar,
)
from app.figures.scatter import HOVER_LIMIT
from app.figures.style import DROPPED_COLOUR, KEPT_COLOUR, LABEL_PALETTE, stepped_colorscale
from tests.run_fixtures import decode

COORDS = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 1.0], [3.0, 1.5], [4.0, 2.0], [5.0, 2.5]], dtype=np.float32)
LABELS = np.array([0, 1, 0, 1, 1, 0])


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def test_embedding_map_draws_rows_in_the_given_order_as_float32_typed_arrays():
    positions = np.array([5, 0, 3, 1, 4, 2])
    fig = embedding_map(COORDS, Colouring.by_label(LABELS, ["neg", "pos"]), positions)
    trace = spec(fig)["data"][0]
    assert trace["type"] == "scattergl"
    assert trace["x"]["dtype"] == "f4" and trace["y"]["dtype"] == "f4"
    np.testing.assert_array_equal(decode(trace["x"]), COORDS[positions, 0])
    np.testing.assert_array_equal(decode(trace["y"]), COORDS[positions, 1])
    assert fig.layout.dragmode == "select"


def test_label_colouring_uses_integer_codes_a_stepped_scale_and_counted_legend_entries():
    positions = np.arange(6)
    fig = embedding_map(COORDS, Colouring.by_label(LABELS, ["neg", "pos"]), positions)
    marker = spec(fig)["data"][0]["marker"]
    np.testing.assert_array_equal(decode(marker["color"]), LABELS)
    assert (marker["cmin"], marker["cmax"]) == (-0.5, 1.5)
    assert marker["colorscale"] == [
        [0.0, LABEL_PALETTE[0]],
        [0.5, LABEL_PALETTE[0]],
        [0.5, LABEL_PALETTE[1]],
        [1.0, LABEL_PALETTE[1]],
    ]
    legend = [t for t in fig.data[1:]]
    assert [t.name for t in legend] == ["neg (3)", "pos (3)"]
    assert all(
        t.type == "scatter" and list(t.x) == [None] for t in legend
    )  # legend only: no points to select


def test_stepped_colorscale_maps_each_code_to_one_flat_colour():
    assert stepped_colorscale(["a", "b", "c"]) == [
        [0.0, "a"],
        [1 / 3, "a"],
        [1 / 3, "b"],
        [2 / 3, "b"],
        [2 / 3, "c"],
        [1.0, "c"],
    ]


def test_membership_colouring_draws_kept_rows_last_and_names_the_subset():
    kept = np.array([True, False, False, True, False, False])
    positions = plot_positions(6, on_top=kept)
    assert set(positions[-2:]) == {0, 3} and sorted(positions) == list(range(6))
    fig = embedding_map(COORDS, Colouring.by_membership(kept, "el2n at 30 %"), positions)
    np.testing.assert_array_equal(
        decode(spec(fig)["data"][0]["marker"]["color"]), kept[positions].astype(int)
    )
    assert [t.name for t in fig.data[1:]] == ["not kept (4)", "kept by el2n at 30 % (2)"]
    assert [t.marker.color for t in fig.data[1:]] == [DROPPED_COLOUR, KEPT_COLOUR]


def test_score_colouring_is_continuous_with_a_colour_bar():
    values = np.linspace(-1, 1, 6)
    fig = embedding_map(COORDS, Colouring.by_value(values, "aum score"), np.arange(6))
    marker = fig.data[0].marker
    assert marker.showscale is True and marker.colorbar.title.text == "aum score"
    np.testing.assert_allclose(decode(spec(fig)["data"][0]["marker"]["color"]), values.astype(np.float32))
    assert len(fig.data) == 1  # no legend entries for a continuous colouring


def test_plot_positions_keeps_everything_below_the_limit_and_a_seeded_sample_above():
    assert sorted(plot_positions(50, limit=100)) == list(range(50))
    sample = plot_positions(1000, limit=100, seed=3)
    assert len(sample) == 100 and len(set(sample)) == 100 and sample.max() < 1000
    np.testing.assert_array_equal(sample, plot_positions(1000, limit=100, seed=3))
    assert set(sample) != set(plot_positions(1000, limit=100, seed=4))


def test_hover_text_is_dropped_above_the_hover_limit():
    n = HOVER_LIMIT + 1
    coords = np.zeros((n, 2), dtype=np.float32)
    big = embedding_map(coords, Colouring.by_label(np.zeros(n, int), ["a"]), np.arange(n))
    small = embedding_map(COORDS, Colouring.by_label(LABELS, ["neg", "pos"]), np.arange(6))
    assert big.data[0].hoverinfo == "skip" and big.data[0].text is None
    assert list(small.data[0].text) == ["neg", "pos", "neg", "pos", "pos", "neg"]


def test_embedding_map_rejects_coordinates_that_are_not_two_columns():
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        embedding_map(np.zeros((4, 3)), Colouring.by_label(np.zeros(4, int), ["a"]), np.arange(4))


def test_score_scatter_puts_the_first_score_on_x_and_colours_by_label():
    x, y = np.array([1.0, 2, 3]), np.array([30.0, 20, 10])
    fig = score_scatter(
        x, y, np.array([0, 1, 1]), ["neg", "pos"], np.array([2, 0, 1]), x_title="a", y_title="b"
    )
    trace = spec(fig)["data"][0]
    np.testing.assert_array_equal(decode(trace["x"]), [3, 1, 2])
    np.testing.assert_array_equal(decode(trace["y"]), [10, 30, 20])
    assert fig.layout.xaxis.title.text == "a" and fig.layout.yaxis.title.text == "b"


def test_data_map_plots_variability_against_confidence_and_rings_only_kept_rows():
    confidence, variability = np.array([0.9, 0.2, 0.5, 0.6]), np.array([0.05, 0.1, 0.3, 0.2])
    correctness = np.array([1.0, 0.0, 0.5, 0.5])
    overlay = np.array([False, True, True, False])
    fig = data_map(
        confidence, variability, correctness, np.arange(4), overlay=overlay, overlay_name="aum at 50 %"
    )
    main, ring = spec(fig)["data"]
    np.testing.assert_allclose(decode(main["x"]), variability.astype(np.float32))
    np.testing.assert_allclose(decode(main["y"]), confidence.astype(np.float32))
    np.testing.assert_allclose(decode(main["marker"]["color"]), correctness.astype(np.float32))
    assert (main["marker"]["cmin"], main["marker"]["cmax"]) == (0.0, 1.0)
    np.testing.assert_allclose(decode(ring["y"]), [0.2, 0.5])
    assert ring["marker"]["symbol"] == "circle-open" and ring["name"] == "kept by aum at 50 % (2)"


def test_correlation_heatmap_keeps_the_given_order_top_to_bottom_on_a_fixed_scale():
    names = ["b", "a", "c"]
    corr = pd.DataFrame(
        [[1.0, 0.5, -0.2], [0.5, 1.0, np.nan], [-0.2, np.nan, 1.0]], index=names, columns=names
    )
    fig = correlation_heatmap(corr, measure="kendall", groups={"b": "dyn", "a": "dyn", "c": "grad"})
    trace = fig.data[0]
    assert trace.type == "heatmap" and list(trace.x) == names and list(trace.y) == names
    assert (trace.zmin, trace.zmax) == (-1.0, 1.0)
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(trace.text[0]) == ["1.00", "0.50", "-0.20"] and trace.text[1][2] == ""  # NaN cells stay blank
    assert "Kendall" in fig.layout.title.text
    assert len(fig.layout.shapes) == 2  # one horizontal + one vertical separator between dyn and grad


def test_every_heatmap_cell_has_an_invisible_clickable_point_at_its_centre():
    names = ["a", "b"]
    fig = overlap_heatmap(pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=names, columns=names))
    cells = fig.data[1]
    assert cells.type == "scatter" and cells.marker.color == "rgba(0,0,0,0)"
    assert list(zip(cells.y, cells.x)) == [("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]
    assert "a vs b" in cells.customdata[1] and fig.data[0].hoverinfo == "skip"
    assert fig.layout.clickmode == "event+select"


def test_heatmap_refuses_different_methods_on_the_two_axes():
    with pytest.raises(ValueError, match="same methods"):
        overlap_heatmap(pd.DataFrame([[1.0]], index=["a"], columns=["b"]))


def test_overlap_heatmap_spans_zero_to_one_and_names_the_budget():
    names = ["a", "b"]
    fig = overlap_heatmap(
        pd.DataFrame([[1.0, 0.25], [0.25, 1.0]], index=names, columns=names), budget_text="10 %"
    )
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    assert fig.layout.title.text.endswith("at budget 10 %")


def test_label_balance_bar_has_one_bar_group_per_distribution_with_tv_in_the_legend():
    shares = pd.DataFrame(
        [[0.5, 0.5], [0.9, 0.1], [0.5, 0.5]],
        index=["full data", "plain", "label-balanced"],
        columns=["neg", "pos"],
    )
    fig = label_balance_bar(shares, {"plain": 0.4, "label-balanced": 0.0})
    assert [t.name for t in fig.data] == ["full data", "plain (TV 0.400)", "label-balanced (TV 0.000)"]
    assert list(fig.data[1].y) == [0.9, 0.1] and list(fig.data[1].x) == ["neg", "pos"]


def test_tv_by_method_bar_pairs_plain_and_balanced_per_method():
    table = pd.DataFrame({"plain": [0.3, 0.1], "balanced": [0.0, 0.01]}, index=["aum", "random"])
    fig = tv_by_method_bar(table)
    assert [t.name for t in fig.data] == ["plain", "label-balanced"]
    assert list(fig.data[0].x) == ["aum", "random"] and list(fig.data[0].y) == [0.3, 0.1]


def test_intersections_bar_lists_combinations_largest_first():
    table = pd.DataFrame({"label": ["a", "a & b"], "order": [1, 2], "size": [7, 3]})
    fig = intersections_bar(table)
    assert list(fig.layout.yaxis.categoryarray) == ["a", "a &amp; b"]  # "&" escaped for plotly
    assert [(list(t.y), list(t.x)) for t in fig.data] == [(["a"], [7]), (["a &amp; b"], [3])]
    assert fig.layout.yaxis.autorange == "reversed"


def test_intersections_bar_colours_have_a_legend_entry_per_combination_size():
    table = pd.DataFrame(
        {"label": ["a", "a & b", "b", "a & b & c"], "order": [1, 2, 1, 3], "size": [9, 7, 5, 2]}
    )
    fig = intersections_bar(table)
    assert [t.name for t in fig.data] == ["1 method", "2 methods", "3 methods"]
    assert (
        all(t.showlegend is not False for t in fig.data) and fig.layout.legend.title.text == "combination of"
    )
    assert len({t.marker.color for t in fig.data}) == 3


def test_method_ranks_bar_marks_kept_methods_in_red():
    profile = pd.DataFrame({"percentile": [90.0, 10.0], "kept": [True, False]}, index=["el2n", "random"])
    fig = method_ranks_bar(profile, budget_text="30 %")
    assert list(fig.data[0].marker.color) == [KEPT_COLOUR, DROPPED_COLOUR]
    assert tuple(fig.layout.xaxis.range) == (0, 100) and "30 %" in fig.layout.title.text


def test_stage_timings_bar_colours_stages_by_status():
    stages = pd.DataFrame(
        {"stage": ["train", "select (2 methods)"], "status": ["done", "failed"], "seconds": [12.0, None]}
    )
    fig = stage_timings_bar(stages)
    assert list(fig.data[0].x) == [12.0, 0.0]
    assert fig.data[0].marker.color[0] != fig.data[0].marker.color[1]


def test_label_counts_bar_has_one_trace_per_label_over_splits():
    counts = pd.DataFrame({"train": [3, 5], "validation": [1, 2]}, index=["neg", "pos"])
    fig = label_counts_bar(counts)
    assert [t.name for t in fig.data] == ["neg", "pos"]
    assert list(fig.data[1].x) == ["train", "validation"] and list(fig.data[1].y) == [5, 2]


def test_evaluation_curves_name_each_method_once_explain_the_dash_and_grow_to_fit_the_legend():
    from app.figures.evaluation import LEGEND_ROW_PX, budget_curves
    from prune_core.evaluate import FULL_DATA, RANDOM_BAND

    rows = [
        dict(method=m, balanced=b, budget=x, mean=0.7, std=0.0, seeds=1, series=f"{m} (balanced)" if b else m)
        for m in [f"method-{i}" for i in range(30)] + [RANDOM_BAND]
        for b in (False, True)
        for x in (0.1, 0.3)
    ]
    rows.append(
        dict(method=FULL_DATA, balanced=False, budget=1.0, mean=0.8, std=0.0, seeds=1, series="full data")
    )
    fig = budget_curves(pd.DataFrame(rows), metric_title="accuracy", split="test")
    entries = [t.name for t in fig.data if t.showlegend is not False]
    assert entries.count("full data") == 1 and "dashed ◆: label-balanced" in entries
    assert [e for e in entries if e.startswith("method-")] == [f"method-{i}" for i in range(30)]
    assert len(entries) == 30 + 2 + 2  # methods, two random bands, the dash, the full data
    assert fig.layout.height >= LEGEND_ROW_PX * len(entries) + 100 and fig.layout.legend.tracegroupgap == 0
