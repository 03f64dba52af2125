"""Label balance: what a method's subset does to the label distribution, plain and label-balanced
(for generation runs the source distribution, plain and source-balanced),
measured by total-variation distance from the full training data (Du et al. 2025 found LESS keeping
mostly one class until selection was stratified by label)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import loaders, ui
from app.figures import budget_lines, label_balance_bar, tv_by_method_bar
from app.views import budget_text, common_budgets, group_noun, method_label, order_methods
from prune_core.analysis import label_balance_table

run = ui.page(
    lambda r: f"{group_noun(r).capitalize()} balance",
    ("selections",),
    caption=lambda r: (
        f"TV distance = half the sum of absolute differences between {group_noun(r)} shares: "
        f"0 = the subset keeps the full data's shares, 1 = it keeps only {group_noun(r)}s the full data lacks."
        + (
            " A generation run balances over the source column (where each prompt/response pair comes from)."
            if group_noun(r) == "source"
            else ""
        )
    ),
)
noun = group_noun(run)
with ui.guard(run):
    methods = loaders.done_methods(run)
    train = loaders.train_examples(run)
ids = ui.without_damaged(run, order_methods(methods))
labels, names = train["label"].to_numpy(), run.label_names
budget = ui.budget_picker(
    common_budgets([loaders.budgets(run, m, b) for m in ids for b in (False, True)]), key="balance_budget"
)


@st.fragment
def one_method() -> None:
    method = ui.method_picker("Method", ids, methods, key="balance_method")
    with ui.guard(run):
        subsets = {
            "plain": loaders.selection(run, method, budget, False),
            f"{noun}-balanced": loaders.selection(run, method, budget, True),
        }
    table = label_balance_table(subsets, labels, names, include_full=True)
    shares = (
        table[[f"share_{n}" for n in names]]
        .set_axis(names, axis=1)
        .rename(index={"(full data)": "full data"})
    )
    tv = {
        "plain": table.loc["plain", "tv_from_full"],
        f"{noun}-balanced": table.loc[f"{noun}-balanced", "tv_from_full"],
    }
    cols = st.columns(3)
    cols[0].metric("Subset size", f"{int(table.loc['plain', 'size']):,} of {len(labels):,}")
    cols[1].metric("TV distance, plain", f"{tv['plain']:.3f}")
    cols[2].metric(f"TV distance, {noun}-balanced", f"{tv[f'{noun}-balanced']:.3f}")
    st.plotly_chart(label_balance_bar(shares, tv, noun), key="balance_bars")
    counts = table[["size", *[f"count_{n}" for n in names], "tv_from_full"]]
    st.dataframe(counts.rename(columns=lambda c: c.removeprefix("count_")), width="stretch")


one_method()

st.subheader(f"Every method at {budget_text(budget)}")
with ui.guard(run):
    plain = label_balance_table(loaders.selections(run, ids, budget, False), labels, names)
    balanced = label_balance_table(loaders.selections(run, ids, budget, True), labels, names)
tv_table = pd.DataFrame({"plain": plain["tv_from_full"], "balanced": balanced["tv_from_full"]}).loc[ids]
st.plotly_chart(tv_by_method_bar(tv_table, noun), key="balance_tv_all")
st.dataframe(
    tv_table.assign(title=[method_label(m, methods) for m in ids]).rename(
        columns={"plain": "TV plain", "balanced": f"TV {noun}-balanced"}
    ),
    width="stretch",
)

st.subheader(f"{noun.capitalize()} balance across budgets")
st.caption(f"Small subsets drift furthest from the full data's {noun} shares; 100 % is always 0.")
sweep_balanced = st.toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="balance_sweep_balanced")
picked = st.multiselect(
    "Methods",
    ids,
    default=ids[: min(6, len(ids))],
    key="balance_sweep_methods",
    format_func=lambda m: method_label(m, methods),
)
if picked:
    with ui.guard(run):
        sweep = loaders.balance_sweep(run, order_methods(methods, picked), sweep_balanced)
    st.plotly_chart(
        budget_lines(
            sweep,
            title=f"TV distance from the full data's {noun} shares by budget",
            y_title="TV distance",
            y_range=None,
        ),
        key="balance_tv_sweep",
    )
