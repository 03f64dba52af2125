"""Data map (Swayamdipta et al. 2020): each training example's confidence and variability across epochs,
coloured by how often it was predicted correctly, with any method's subset ringed on top."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import loaders, ui
from app.figures import data_map, downsample_notice, plot_positions
from app.views import budget_text, group_noun, method_label, order_methods
from prune_core.results import Results

NO_OVERLAY = "(none)"

run = ui.page(
    "Data map",
    ("dynamics",),
    caption="Confidence = mean probability of the gold label over epochs, variability = its standard "
    "deviation, correctness = share of epochs predicted right. Easy examples sit top-left, "
    "hard-to-learn bottom-left, ambiguous ones to the right.",
)
with ui.guard(run):
    coords = loaders.data_map_coords(run)
    methods = loaders.done_methods(run) if Results(run).has_methods else {}
epochs = Results(run).epochs
if epochs < 3:
    st.info(
        f"This run trained for {epochs} epoch{'s' if epochs != 1 else ''}: variability takes few distinct values. "
        "Dataset cartography is usually read after 3 or more epochs."
    )


@st.fragment
def chart() -> None:
    ids = order_methods(methods)
    left, middle, right = st.columns([2, 2, 1])
    method = left.selectbox(
        "Overlay a method's subset",
        [NO_OVERLAY, *ids],
        key="datamap_method",
        format_func=lambda m: m if m == NO_OVERLAY else method_label(m, methods),
    )
    overlay, name = None, ""
    if method != NO_OVERLAY:
        balanced = right.toggle(f"{group_noun(run).capitalize()}-balanced", key="datamap_balanced")
        with middle:
            budget = ui.budget_picker(loaders.budgets(run, method, balanced), key="datamap_budget")
        with ui.guard(run):
            overlay = loaders.membership(run, method, budget, balanced)
        name = f"{method} at {budget_text(budget)}" + (f" ({group_noun(run)}-balanced)" if balanced else "")
    n = len(coords["confidence"])
    positions = plot_positions(n)
    notice = downsample_notice(n)
    if notice:
        st.warning(notice, icon=":material/filter_alt:")
    st.plotly_chart(
        data_map(
            coords["confidence"],
            coords["variability"],
            coords["correctness"],
            positions,
            overlay=overlay,
            overlay_name=name,
        ),
        key="datamap_chart",
    )
    if overlay is not None:
        cols = st.columns(3)
        for col, field in zip(cols, ("confidence", "variability", "correctness")):
            values = coords[field]
            col.metric(
                f"Mean {field} of the subset",
                f"{np.nanmean(values[overlay]):.3f}",
                delta=f"{np.nanmean(values[overlay]) - np.nanmean(values):+.3f} vs all",
                delta_color="off",
            )


chart()
