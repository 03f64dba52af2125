"""Method overlap: how many kept examples two methods share at one budget, and which combinations of
methods keep the most examples in common. Works for set-based methods, which have no score."""

from __future__ import annotations

import streamlit as st

from app import loaders, ui
from app.figures import budget_lines, intersections_bar, overlap_heatmap
from app.views import (
    budget_text,
    common_budgets,
    group_noun,
    method_groups,
    method_label,
    order_methods,
    spread,
)
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
balanced = top[2].toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="overlap_balanced")
if len(chosen) < 2:
    st.info("Choose at least two methods.")
    st.stop()
chosen = order_methods(methods, chosen)
budget = ui.budget_picker(
    common_budgets(loaders.budgets(run, m, balanced) for m in chosen), key="overlap_budget"
)
with ui.guard(run):
    subsets = loaders.selections(run, chosen, budget, balanced)
group = loaders.seed_runs(run)
scope = "this run"
if len(group) >= 2:
    scope = st.radio(
        "Compare",
        ["this run", "across seeds"],
        horizontal=True,
        key="overlap_scope",
        help="Across seeds: method A's subset under one training seed against B's under another, averaged "
        f"over the {len(group)} runs of this seed group; the diagonal is each method's seed stability.",
    )


@st.fragment
def charts() -> None:
    if scope == "across seeds":
        with ui.guard(run):
            shared = [m for m in chosen if all(m in loaders.done_methods(r) for r in group)]
            if len(shared) < 2:
                st.info("Fewer than two of these methods are computed on every run of the seed group.")
                return
            matrix = loaders.seeds_jaccard(group, shared, budget, balanced)
        shown_measure, suffix = "jaccard", f"{budget_text(budget)}, across {len(group)} seeds"
        if measure != "jaccard":
            st.caption("Across seeds the heatmap shows Jaccard.")
    else:
        matrix = jaccard_matrix(subsets) if measure == "jaccard" else overlap_matrix(subsets)
        shown_measure, suffix = measure, budget_text(budget)
    st.plotly_chart(
        overlap_heatmap(matrix, measure=shown_measure, budget_text=suffix, groups=method_groups(methods)),
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


@st.fragment
def sweep() -> None:
    st.subheader("Two methods across budgets")
    st.caption(
        "At a large budget any two subsets overlap a lot; the dashed curve is what random subsets of the "
        "same sizes share, so the gap to it is the methods' real agreement."
    )
    if st.session_state.get("overlap_sweep_b") not in chosen:
        st.session_state["overlap_sweep_b"] = chosen[1]  # a default B that differs from A
    left, right = st.columns(2)
    with left:
        a = ui.method_picker("Method A", chosen, methods, key="overlap_sweep_a")
    with right:
        b = ui.method_picker("Method B", chosen, methods, key="overlap_sweep_b")
    with ui.guard(run):
        table = loaders.pair_sweep(run, a, b, balanced)
    if table.empty:
        st.info("The two methods share no cached budget.")
        return
    curve = table.set_index("budget")
    st.plotly_chart(
        budget_lines(
            curve[["jaccard"]].rename(columns={"jaccard": f"{a} and {b}"}),
            title=f"Jaccard of {a} and {b} by budget",
            y_title="Jaccard",
            chance=curve["random_jaccard"],
        ),
        key="overlap_sweep",
    )


sweep()
