"""Method overlap: how many kept examples two methods share at one budget, and which combinations of
methods keep the most examples in common. Works for set-based methods, which have no score."""

from __future__ import annotations

import streamlit as st

from app import loaders, ui
from app.figures import intersections_bar, overlap_heatmap
from app.views import budget_text, common_budgets, method_groups, method_label, order_methods, spread
from prune_core.analysis import jaccard_matrix, largest_intersections, overlap_matrix

run = ui.page(
    "Method overlap",
    ("two_selections",),
    caption="Each method's subset at the chosen budget. Jaccard = shared / union; overlap = shared / the "
    "smaller subset. Random subsets at budget r overlap by about r, so compare against the random row.",
)
with ui.guard(run):
    methods = loaders.done_methods(run)
ids = ui.without_damaged(run, order_methods(methods))

top = st.columns([3, 1, 1])
chosen = top[0].multiselect(
    "Methods", ids, default=ids, key="overlap_methods", format_func=lambda m: method_label(m, methods)
)
measure = top[1].radio(
    "Measure",
    ["jaccard", "overlap"],
    key="overlap_measure",
    format_func={"jaccard": "Jaccard", "overlap": "Overlap"}.get,
)
balanced = top[2].toggle("Label-balanced subsets", key="overlap_balanced")
if len(chosen) < 2:
    st.info("Choose at least two methods.")
    st.stop()
chosen = order_methods(methods, chosen)
budget = ui.budget_picker(
    common_budgets(loaders.budgets(run, m, balanced) for m in chosen), key="overlap_budget"
)
with ui.guard(run):
    subsets = loaders.selections(run, chosen, budget, balanced)


@st.fragment
def charts() -> None:
    matrix = jaccard_matrix(subsets) if measure == "jaccard" else overlap_matrix(subsets)
    st.plotly_chart(
        overlap_heatmap(
            matrix, measure=measure, budget_text=budget_text(budget), groups=method_groups(methods)
        ),
        key="overlap_heatmap",
    )
    st.subheader("Largest intersections")
    st.caption(
        "Which combinations of a few methods keep the same examples. Each kept example counts once: "
        "for the exact set of these methods that keep it."
    )
    picked = st.multiselect(
        "Methods to intersect (2 to 6)",
        chosen,
        default=spread(chosen, methods, 4),
        max_selections=6,
        key="overlap_upset_methods",
        format_func=lambda m: method_label(m, methods),
    )
    if len(picked) < 2:
        st.info("Choose at least two methods to intersect.")
        return
    left, right = st.columns(2)
    max_order = left.slider(
        "Methods per combination (at most)", 1, len(picked), len(picked), key="overlap_order"
    )
    count = right.slider("Combinations shown", 5, 40, 15, key="overlap_top")
    table = largest_intersections(
        {m: subsets[m] for m in order_methods(methods, picked)}, top=count, max_order=max_order
    )
    if table.empty:
        st.info("No example is kept by a combination of that many methods or fewer.")
        return
    st.plotly_chart(intersections_bar(table), key="overlap_intersections")
    st.dataframe(
        table[["label", "order", "size"]].rename(columns={"label": "methods", "order": "how many"}),
        hide_index=True,
        width="stretch",
    )


charts()
