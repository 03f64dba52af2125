"""Seed stability: does a method keep the same examples when only the reference model's training seed
changes? Scores read off one training run (EL2N, forgetting, AUM) are known to move with the seed (Paul,
Ganguli & Dziugaite 2021, NeurIPS); a subset that changes with the seed is a property of the seed, not of
the data. Same numbers as ``prunescope analyze RUN --stability --json``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import loaders, ui
from app.figures import budget_lines, method_value_bars
from app.views import budget_text, default_budget, group_noun, order_methods
from prune_core.stability import seed_of, stability_table

run = ui.page(
    "Seed stability",
    ("selections",),
    caption="Runs that differ from this one only in the training seed, compared method by method: Jaccard of "
    "their subsets at each budget and Spearman correlation of their scores. The dashed line is what random "
    "subsets (or random orders) would give.",
)
if ui.job_will_produce(run, ["seeds"]):  # a job is training this run's other seeds
    st.stop()
group = loaders.seed_runs(run)
if len(group) < 2:
    st.info(
        "No other run of this store differs from this one only in the training seed. Make a seed group "
        "(the same data sample, one run per seed), then select on each run:"
    )
    st.code(
        "prunescope compute --data PATH --seeds 0,1,2\nprunescope select RUN   # for each run printed",
        language="bash",
    )
    st.stop()

st.text(
    f"{len(group)} runs, seeds {', '.join(str(seed_of(r)) for r in group)}: " + ", ".join(r.id for r in group)
)
balanced = st.toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="stability_balanced")
with ui.guard(run):
    report = loaders.stability(group, balanced)
    methods = loaders.done_methods(run)
table = stability_table(report)
if table.empty:
    st.info("The runs of this seed group have no method in common; run `prunescope select` on each.")
    st.stop()
ids = order_methods(methods, list(dict.fromkeys(table["method"])))
chosen = st.multiselect("Methods", ids, default=ids[: min(6, len(ids))], key="stability_methods")
if not chosen:
    st.info("Choose at least one method.")
    st.stop()

jaccard = table.pivot(index="budget", columns="method", values="jaccard")[chosen]
chance = table.groupby("budget")["random_jaccard"].mean()
st.plotly_chart(
    budget_lines(
        jaccard,
        title="Jaccard of each method's subsets across seeds (mean over pairs of seeds)",
        y_title="Jaccard across seeds",
        chance=chance,
    ),
    key="stability_jaccard",
)
rho = table.drop_duplicates("method").set_index("method")["spearman"].reindex(ids).dropna()
if len(rho):
    random_std = next(
        e["spearman"]["random_std"] for e in report["methods"] if e["spearman"] and e["method"] in rho.index
    )
    st.plotly_chart(
        method_value_bars(
            rho,
            title="Spearman correlation of each method's scores across seeds (mean over pairs of seeds)",
            x_title="Spearman across seeds",
            chance=2 * random_std,
            chance_name=f"random orders: 0 ± {2 * random_std:.3f} (2 sd)",
            x_range=(-0.05, 1.02),
        ),
        key="stability_spearman",
    )
same = sorted(set(table.loc[table["identical"], "method"]) & set(chosen))
st.caption(
    "The random baseline method draws its subsets from its own fixed seed, not from the training seed, so "
    "it keeps the same examples on every run; compare against the dashed random-subset line instead."
    + (
        f" Identical on every seed (they read no trained model, e.g. pre-trained hidden states): {', '.join(same)}."
        if same
        else ""
    )
)
options = sorted(float(b) for b in table["budget"].unique())
budget = st.select_slider(
    "Budget for the table",
    options=options,
    value=default_budget(options),
    key="stability_budget",
    format_func=budget_text,
)
at = table[table["budget"] == budget].set_index("method").reindex(ids).dropna(how="all")
ui.table(
    pd.DataFrame(at).drop(columns=["budget"]),
    width="stretch",
    key="stability_table",
)
