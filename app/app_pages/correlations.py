"""Score correlations: how similarly methods rank the examples, and one pair's scores point by point."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import loaders, ui
from app.figures import correlation_heatmap, downsample_notice, plot_positions, score_scatter
from app.views import clicked_cell, method_groups, method_label, method_notes, order_methods

MEASURES = {"spearman": "Spearman", "pearson": "Pearson", "kendall": "Kendall"}

run = ui.page(
    "Score correlations",
    ("scores",),
    caption="Every score is oriented higher = keep, so +1 means two methods keep the same examples first "
    "and -1 that one keeps what the other drops. Rows are grouped by representation family, then "
    "objective. Click a cell to compare that pair.",
)
with ui.guard(run):
    methods = loaders.methods(run)
    table = loaders.scores(run)
    train = loaders.train_examples(run)
score_ids = order_methods(methods, [m for m in table.columns if methods.get(m, {}).get("status") == "done"])
set_ids = [m for m, info in methods.items() if info.get("kind") == "set" and info.get("status") == "done"]

left, right = st.columns([1, 3])
measure = left.radio("Correlation", list(MEASURES), format_func=MEASURES.get, key="corr_measure")
chosen = right.multiselect(
    "Methods",
    score_ids,
    default=score_ids,
    key="corr_methods",
    format_func=lambda m: method_label(m, methods),
)
if set_ids:
    st.caption(
        f"{len(set_ids)} set-based methods ({', '.join(set_ids)}) have no per-example score; "
        "compare them on **Method overlap**."
    )
if len(chosen) < 2:
    st.info("Choose at least two methods.")
    st.stop()
chosen = order_methods(methods, chosen)
group = loaders.seed_runs(run)
scope = "this run"
if len(group) >= 2:
    scope = st.radio(
        "Compare",
        ["this run", "across seeds"],
        horizontal=True,
        key="corr_scope",
        help="Across seeds: method A's scores under one training seed against B's under another, averaged "
        f"over the {len(group)} runs of this seed group; the diagonal is each method's seed stability.",
    )
with ui.guard(run):
    if scope == "across seeds":
        chosen = [m for m in chosen if all(m in loaders.scores(r).columns for r in group)]
        if len(chosen) < 2:
            st.info("Fewer than two of these methods have scores on every run of the seed group.")
            st.stop()
        corr = loaders.seeds_correlation(group, chosen, measure)
    else:
        corr = loaders.correlations(run, measure, chosen)


@st.fragment
def heatmap_and_pair() -> None:
    event = st.plotly_chart(
        correlation_heatmap(
            corr, measure=measure, groups=method_groups(methods), notes=method_notes(methods)
        ),
        key="corr_heatmap",
        on_select="rerun",
        selection_mode="points",
    )
    cell = clicked_cell(event)
    if cell and cell != st.session_state.get("corr_applied_click") and set(cell) <= set(chosen):
        st.session_state["corr_applied_click"] = cell  # apply a click once, so the pickers stay usable
        st.session_state["corr_pair_a"], st.session_state["corr_pair_b"] = cell
    for key, default in (("corr_pair_a", chosen[0]), ("corr_pair_b", chosen[1])):
        if st.session_state.get(key) not in chosen:
            st.session_state[key] = default
    a_col, b_col = st.columns(2)
    a = a_col.selectbox(
        "Method on the y axis", chosen, key="corr_pair_a", format_func=lambda m: method_label(m, methods)
    )
    b = b_col.selectbox(
        "Method on the x axis", chosen, key="corr_pair_b", format_func=lambda m: method_label(m, methods)
    )
    positions = plot_positions(len(train))
    notice = downsample_notice(len(train))
    if notice:
        st.warning(notice, icon=":material/filter_alt:")
    value = corr.loc[a, b]
    figure = score_scatter(
        table[b].to_numpy(np.float64),
        table[a].to_numpy(np.float64),
        train["label"].to_numpy(),
        run.label_names,
        positions,
        x_title=f"{b} score (higher = keep)",
        y_title=f"{a} score (higher = keep)",
        title=f"{a} against {b}: {MEASURES[measure]} {value:.3f}",
    )
    st.plotly_chart(figure, key="corr_pair_scatter")


heatmap_and_pair()
