"""Plot builders: plain arrays and tables in, ``plotly.graph_objects.Figure`` out, no Streamlit, no I/O."""

from app.figures.agreement import budget_lines, factor_agreement_bars, grid_heatmap, method_value_bars
from app.figures.bars import (
    intersections_bar,
    label_balance_bar,
    label_counts_bar,
    method_ranks_bar,
    stage_timings_bar,
    tv_by_method_bar,
)
from app.figures.heatmaps import correlation_heatmap, overlap_heatmap
from app.figures.reference import generation_curve_chart, reference_curve_chart
from app.figures.scatter import (
    MAX_POINTS,
    Colouring,
    data_map,
    downsample_notice,
    embedding_map,
    plot_positions,
    score_scatter,
)

__all__ = [
    "budget_lines",
    "factor_agreement_bars",
    "grid_heatmap",
    "method_value_bars",
    "MAX_POINTS",
    "Colouring",
    "correlation_heatmap",
    "data_map",
    "downsample_notice",
    "embedding_map",
    "intersections_bar",
    "label_balance_bar",
    "label_counts_bar",
    "method_ranks_bar",
    "overlap_heatmap",
    "plot_positions",
    "generation_curve_chart",
    "reference_curve_chart",
    "score_scatter",
    "stage_timings_bar",
    "tv_by_method_bar",
]
