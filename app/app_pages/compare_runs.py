"""Compare two runs of the same data (two models, full fine-tuning vs LoRA, two seeds): per method, how
much of the subset survives the change, matched by example uid. Same numbers as
``prunescope analyze RUN --compare OTHER --json``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import loaders, ui
from app.figures import method_value_bars
from app.views import budget_text, common_budgets, group_noun, order_methods

run = ui.page(
    "Compare two runs",
    ("selections",),
    caption="Each method's subset on this run against the same method's subset on another run of the same "
    "data, matched by uid. Jaccard 1 = the change did not move the subset; the marks show random subsets.",
)
if ui.job_will_produce(run, ["seeds"]):  # a job is training this run's other seeds
    st.stop()
others = [r for r in loaders.store_runs(run) if r.id != run.id]
if not others:
    st.info("This store holds no other run. Compute a second run of the same data, e.g. with another model:")
    st.code("prunescope compute --data PATH --model OTHER_MODEL", language="bash")
    st.stop()
by_id = {r.id: r for r in others}
left, right = st.columns([3, 1])
other_id = left.selectbox("Other run", list(by_id), key="compare_other")
balanced = right.toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="compare_balanced")
other = by_id[other_id]
with ui.guard(run):
    mine, theirs = loaders.done_methods(run), loaders.done_methods(other)
shared = order_methods(mine, [m for m in mine if m in theirs])
if not shared:
    st.info(f"Runs {run.id} and {other.id} have no method in common; run `prunescope select` on both.")
    st.stop()
budget = ui.budget_picker(
    common_budgets([loaders.budgets(r, m, balanced) for r in (run, other) for m in shared]),
    key="compare_budget",
)
try:
    with ui.guard(run):
        report = loaders.compare_runs(run, other, budget, balanced)
except ValueError as err:  # runs of different data: no uid in common
    st.error(str(err))
    st.stop()
st.text(
    f"{report['shared_uids']:,} examples in both runs; {report['only_in_a']:,} only in {run.id}, "
    f"{report['only_in_b']:,} only in {other.id}."
)
table = pd.DataFrame(report["methods"]).set_index("method").reindex(shared)
st.plotly_chart(
    method_value_bars(
        table["jaccard"].astype(float),
        title=f"Jaccard of each method's subsets on the two runs at {budget_text(budget)}",
        x_title="Jaccard (matched by uid)",
        chance=table["random_jaccard"].astype(float),
        chance_name="random subsets",
    ),
    key="compare_jaccard",
)
ui.table(table, width="stretch", key="compare_table")
