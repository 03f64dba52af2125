"""Representation or selector? Du et al. (2025, ACL) argue that the representation decides what a pruning
method keeps more than the selection algorithm does; this page asks it of this run's grid. Numbers come
from ``prune_core.analysis_grid`` (the same report as ``prunescope analyze RUN --grid --json``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app import loaders, state, ui
from app.figures import factor_agreement_bars, grid_heatmap
from app.views import budget_text, clicked_cell, common_budgets, group_noun
from prune_core.analysis import jaccard_matrix
from prune_core.analysis_grid import grid_methods

run = ui.page(
    "Representation or selector?",
    ("two_selections",),
    caption="Hold the selection algorithm fixed and change the representation, or the other way round: "
    "whichever change leaves less of the subset in place moves the selection more. Jaccard = shared / "
    "union; the dashed line is what random subsets of the same size share.",
)
with ui.guard(run):
    methods = loaders.done_methods(run)
layout = grid_methods(methods)
if len(layout) < 2:
    st.info("This run has fewer than two cells of the selector x representation grid. Compute them with:")
    st.code(f"prunescope select {run.id} --methods grid", language="bash")
    st.stop()

left, right = st.columns([3, 1])
balanced = right.toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="grid_balanced")
with left:
    budget = ui.budget_picker(
        common_budgets(loaders.budgets(run, m, balanced) for m in layout.values()), key="grid_budget"
    )
with ui.guard(run):
    report = loaders.grid(run, budget, balanced)

st.subheader("Verdict")
st.text(report["sentence"])  # data-derived: shown as plain text
chance = report["random_jaccard"]
cols = st.columns(3)
fixed_sel = report["same_selector_across_representations"]
fixed_rep = report["same_representation_across_selectors"]
cols[0].metric(
    "Same selector, other representation",
    "n/a" if fixed_sel["mean"] is None else f"{fixed_sel['mean']:.3f}",
    help="Mean over selectors of the mean pairwise Jaccard of their subsets across representations.",
)
cols[1].metric(
    "Same representation, other selector",
    "n/a" if fixed_rep["mean"] is None else f"{fixed_rep['mean']:.3f}",
    help="Mean over representations of the mean pairwise Jaccard of their subsets across selectors.",
)
cols[2].metric("Random subsets", "n/a" if chance is None else f"{chance:.3f}")

# ---------------------------------------------------------------------------------------------- the grid
selectors, representations = report["selectors"], report["representations"]
ids = pd.DataFrame(None, index=selectors, columns=representations, dtype=object)
values = pd.DataFrame(np.nan, index=selectors, columns=representations)
for cell in report["methods"]:
    ids.loc[cell["selector"], cell["representation"]] = cell["method"]
for selector, entry in report["by_selector"].items():
    for rep in entry["compared"]:
        pairs = [p["jaccard"] for p in entry["pairs"] if rep in (p["a"], p["b"]) and p["jaccard"] is not None]
        values.loc[selector, rep] = float(np.mean(pairs)) if pairs else np.nan
event = st.plotly_chart(
    grid_heatmap(
        values,
        ids,
        title=f"Grid at {budget_text(budget)}: each cell's mean Jaccard with its selector on the other "
        "representations",
    ),
    key="grid_heatmap",
    on_select="rerun",
    selection_mode="points",
)

rows = [
    {
        "factor": "selector (across representations)",
        "name": name,
        "mean": e["spread"]["mean"],
        "min": e["spread"]["min"],
        "max": e["spread"]["max"],
        "pairs": e["spread"]["pairs"],
        "random": e["random_jaccard"],
    }
    for name, e in report["by_selector"].items()
] + [
    {
        "factor": "representation (across selectors)",
        "name": name,
        "mean": e["spread"]["mean"],
        "min": e["spread"]["min"],
        "max": e["spread"]["max"],
        "pairs": e["spread"]["pairs"],
        "random": e["random_jaccard"],
    }
    for name, e in report["by_representation"].items()
]
table = pd.DataFrame(rows, columns=["factor", "name", "mean", "min", "max", "pairs", "random"])
if table.empty:
    st.info("No selector has two representations and no representation two selectors at this budget.")
else:
    st.plotly_chart(
        factor_agreement_bars(
            table.astype({c: float for c in ("mean", "min", "max")}),
            chance=np.nan if chance is None else chance,
            title="Mean pairwise Jaccard per selector and per representation (whiskers: lowest to highest pair)",
        ),
        key="grid_factors",
    )
    st.dataframe(table, hide_index=True, width="stretch", key="grid_table")

# ---------------------------------------------------------------------------------------------- two cells
st.subheader("Two cells on the embedding map")
cell_ids = list(layout.values())
clicked = clicked_cell(event)  # (selector, representation) of a clicked cell
if clicked and clicked != st.session_state.get("grid_applied_click"):
    st.session_state["grid_applied_click"] = clicked
    method = (
        ids.loc[clicked[0], clicked[1]] if clicked[0] in ids.index and clicked[1] in ids.columns else None
    )
    if isinstance(method, str):
        st.session_state["grid_a"] = method
        same_selector = [m for (s, _), m in layout.items() if s == clicked[0] and m != method]
        if same_selector:
            st.session_state["grid_b"] = same_selector[0]
for key, default in (("grid_a", cell_ids[0]), ("grid_b", cell_ids[1])):
    if st.session_state.get(key) not in cell_ids:
        st.session_state[key] = default
pick_a, pick_b = st.columns(2)
a = pick_a.selectbox("Cell A", cell_ids, key="grid_a")
b = pick_b.selectbox("Cell B", cell_ids, key="grid_b")
with ui.guard(run):
    kept_a, kept_b = loaders.selection(run, a, budget, balanced), loaders.selection(run, b, budget, balanced)
both = len(np.intersect1d(kept_a, kept_b))
counts = pd.DataFrame(
    {
        "examples": [
            both,
            len(kept_a) - both,
            len(kept_b) - both,
            len(loaders.train_examples(run)) - len(np.union1d(kept_a, kept_b)),
        ],
    },
    index=["kept by both", f"only {a}", f"only {b}", "kept by neither"],
)
jac = float(jaccard_matrix({"a": kept_a, "b": kept_b}).loc["a", "b"])
random_text = "n/a" if chance is None else f"{chance:.3f}"
st.text(f"{a} and {b} at {budget_text(budget)}: Jaccard {jac:.3f} (random subsets {random_text}).")
st.dataframe(counts, width="stretch", key="grid_pair_counts")
if st.button("Show both on the embedding map", key="grid_open_map", icon=":material/scatter_plot:"):
    st.session_state.update(
        map_colour="pair", map_pair_a=a, map_pair_b=b, map_pair_budget=budget, map_pair_balanced=balanced
    )
    # the run travels in the URL: a page switch must not fall back to another run
    st.switch_page("app_pages/embedding_map.py", query_params={state.RUN_PARAM: run.id})
