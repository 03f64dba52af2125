"""Subset evaluation: how well a model trained on each method's subset performs, against budget, beside
the random band and the full-data ceiling, with the label balance that may explain a failure.

Reads only the run's ``evaluations`` table, written by ``prunescope evaluate`` (never trains
here). Du et al. (2025) found gradient-based methods generally best, hidden-state methods weak, and LESS
failing on an imbalanced dataset until its selection was label-balanced: the curve, the leaderboard and
the grid below are the views that show whether a run agrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app import loaders, ui
from app.figures.evaluation import budget_curves, leaderboard_chart
from app.plain import alert, md
from app.views import budget_text, default_budget, group_noun
from prune_core.evaluate import FULL_DATA, RANDOM_BAND, aggregate, leaderboard, metric_column
from prune_core.evaluate.plan import is_deterministic
from prune_core.evaluate.summary import (
    LOWER_IS_BETTER,
    grid_table,
    metrics_for,
    paired_text,
    paired_vs_random,
    runs_text,
    score_text,
)
from prune_core.paths import runs_dir
from prune_core.store import CorruptFileError, Run

MODE_TITLES = {"finetune": "Fine-tuned on the subset", "fast": "Fast probe (frozen pre-trained states)"}
BASELINE_INFO = {"family": "baseline", "objective": "baseline"}


def evaluate_command(run: Run, mode: str) -> str:
    where = "" if run.path.parent == runs_dir() else f" --runs-dir {run.path.parent}"
    seeds = " --seeds 0,1,2" if mode == "finetune" else ""  # the fast probe is deterministic
    return f"prunescope evaluate {run.id}{where} --mode {mode}{seeds}"


def evaluation_table(run: Run) -> pd.DataFrame:
    """The run's stored results, one row per (mode, method, budget, balanced, seed); cached by checksum."""
    return loaders.evaluations(run)


run = ui.page(
    "Subset evaluation",
    ("examples",),
    caption=lambda r: (
        (
            "Each subset fine-tunes the model afresh and is scored by the perplexity of held-out responses "
            "(lower is better; fast mode trains for the run's epochs, fine-tune mode for the steps-matched "
            "budget)."
            if group_noun(r) == "source"
            else "Each subset trains a model from scratch (or a linear probe in fast mode); fine-tuned scores "
            "are means over seeds with one standard deviation."
        )
        + " The grey band is random subsets of the same size."
    ),
)
METRICS = metrics_for(run.task)
noun = group_noun(run)
if run.task == "generation":
    MODE_TITLES = {"finetune": "Fine-tuned, steps-matched", "fast": "Fast (fine-tuned for the run's epochs)"}
try:
    table = evaluation_table(run)
except CorruptFileError as err:  # the table is a summary of the per-result files: any evaluate rebuilds it
    alert(
        "error",
        f"The evaluation table of run {md(run.id)} is damaged and was not used. Any `evaluate` run "
        "rebuilds it from the stored results (computing only what is missing), for example the command "
        "below the details.",
        err,
    )
    st.code(evaluate_command(run, "fast"), language="bash")
    st.stop()
with ui.guard(run):
    methods = loaders.methods(run)
if table.empty and ui.job_will_produce(run, ["evaluate"]):
    st.stop()
if table.empty:
    st.info(
        f"Run {md(run.id)} has no evaluation yet. A quick first look (seconds): fit a probe on frozen "
        "pre-trained hidden states; the real test fine-tunes the model on every subset (minutes each)."
    )
    st.code(f"{evaluate_command(run, 'fast')}\n{evaluate_command(run, 'finetune')}", language="bash")
    st.stop()

info = {m: methods.get(m, BASELINE_INFO) for m in table["method"].unique()}
first_metric = next(iter(METRICS))
splits = [
    s
    for s in ("test", "validation")
    if metric_column(s, first_metric) in table and table[metric_column(s, first_metric)].notna().any()
]
top = st.columns([2, 1, 1])
mode = top[0].radio(
    "Mode",
    [m for m in MODE_TITLES if m in set(table["mode"])],
    format_func=MODE_TITLES.get,
    key="evaluation_mode",
)
metric = top[1].radio("Metric", list(METRICS), format_func=METRICS.get, key="evaluation_metric")
split = top[2].radio("Split", splits, key="evaluation_split")
column, metric_title = metric_column(split, metric), METRICS[metric]
if mode == "fast" and run.task != "generation":
    st.info(
        "**Fast mode**: one deterministic probe per method — its subset is fixed and the probe has no "
        "randomness, so there is one score and no spread. The **random band** is the only series with a "
        "spread: mean ± one standard deviation over random subsets of the same size.",
        icon=":material/info:",
    )

evaluated = [
    m for m in dict.fromkeys(table.loc[table["mode"] == mode, "method"]) if m not in (RANDOM_BAND, FULL_DATA)
]
families = sorted({str(info[m].get("family", "")) for m in evaluated})
objectives = sorted({str(info[m].get("objective", "")) for m in evaluated})
filters = st.columns([2, 2, 1])
chosen_families = filters[0].multiselect(
    "Representation",
    families,
    default=families,
    key="evaluation_families",
    help="Du et al.'s first axis: what the method looks at.",
)
chosen_objectives = filters[1].multiselect(
    "Objective",
    objectives,
    default=objectives,
    key="evaluation_objectives",
    help="Du et al.'s second axis: what the selection aims for.",
)
show_balanced = filters[2].toggle(
    f"{group_noun(run).capitalize()}-balanced variants", value=True, key="evaluation_balanced"
)
shown = [
    m
    for m in evaluated
    if str(info[m].get("family", "")) in chosen_families
    and str(info[m].get("objective", "")) in chosen_objectives
]
rows = table[(table["mode"] == mode) & (table["method"].isin([*shown, RANDOM_BAND, FULL_DATA]))]
if not show_balanced:
    rows = rows[~rows["balanced"]]
summary = aggregate(rows, column, run.label_names)
if not shown:
    st.info("No evaluated method matches the filters; widen the representation or objective choice.")


@st.fragment
def curves() -> None:
    st.plotly_chart(
        budget_curves(summary, metric_title=metric_title, split=split, noun=noun), key="evaluation_curve"
    )


curves()


def training_length(rows: pd.DataFrame) -> str | None:
    """How long each subset was fine-tuned, from the recorded optimizer steps (None in fast mode)."""
    steps = rows["steps"].dropna() if "steps" in rows else pd.Series(dtype=float)
    if steps.empty:
        return None
    full = rows.loc[rows["method"] == FULL_DATA, "steps"].dropna()
    if steps.nunique() == 1:
        return (
            f"Every subset, the full data included, was fine-tuned for {int(steps.iloc[0])} optimizer steps "
            "(steps-matched: small subsets repeat their epochs)."
        )
    detail = f"; the full data took {int(full.iloc[0])}" if len(full) else ""
    return (
        f"Optimizer steps per subset range from {int(steps.min())} to {int(steps.max())}{detail} "
        "(epoch-matched schedule: small subsets get few updates)."
    )


@st.fragment
def paired() -> None:
    pairs = paired_vs_random(rows, column)
    length = training_length(rows)
    if length:
        st.caption(length)
    if pairs.empty:
        return
    st.subheader("Against the random band, seed by seed")
    st.caption(
        f"Each seed of a method minus the random subset of the same seed, budget and variant ({split} "
        f"{metric_title}): the same training seed on both sides, so the difference is about the subset. "
        "Wins = seeds that beat the band; p = two-sided paired t-test (blank below two seeds)."
    )
    ui.table(
        paired_text(pairs).drop(columns=["mode"]), hide_index=True, width="stretch", key="evaluation_paired"
    )


paired()


@st.fragment
def ranking() -> None:
    budgets = sorted(b for b in summary.loc[summary["method"] != FULL_DATA, "budget"].unique())
    if not budgets:
        return
    st.subheader("Leaderboard")
    budget = st.select_slider(
        "Budget",
        options=budgets,
        value=default_budget(budgets, 0.3),
        format_func=budget_text,
        key="evaluation_budget",
    )
    board = leaderboard(summary, budget, lower_is_better=metric in LOWER_IS_BETTER)
    st.plotly_chart(
        leaderboard_chart(
            board, run.label_names, metric_title=metric_title, budget_text=budget_text(budget), noun=noun
        ),
        key="evaluation_leaderboard",
    )
    shares = {f"share_{n}": f"{n} share" for n in run.label_names}
    shown_table = pd.DataFrame(
        {
            "rank": board["rank"],
            "series": board["series"],
            metric_title: [
                score_text(m, s, is_deterministic(method, mode))
                for m, s, method in zip(board["mean"], board["std"], board["method"])
            ],
            "vs random band": board["vs_random"].round(3),
            "vs full data": board["vs_full"].round(3),
            "runs": [runs_text(mode, method, int(n)) for method, n in zip(board["method"], board["seeds"])],
            "subset size": board["size"].round().astype(int),
            f"{noun} TV from full": board["tv_from_full"].round(3),
            **{title: board[col].round(3) for col, title in shares.items()},
        }
    )
    if (
        "labels_predicted" in board
    ):  # tables written before this column existed lack it until the next evaluate
        shown_table["labels predicted (fewest over seeds)"] = board["labels_predicted"]
    ui.table(shown_table, key="evaluation_board", hide_index=True, width="stretch")
    st.caption(
        f"{noun.capitalize()} TV from full = total-variation distance between the subset's {noun} shares "
        "and the full data's (0 = same shares). A poor score beside a high TV points at imbalance, not at "
        "the examples"
        + (
            "; a model that predicts fewer labels than the data has collapsed to a constant answer."
            if noun == "label"
            else "."
        )
    )
    st.subheader("Representation × objective")
    grid = grid_table(board, info, lower_is_better=metric in LOWER_IS_BETTER)
    if grid.empty:
        st.info("No method is evaluated at this budget.")
    else:
        st.caption(
            f"The best evaluated method in each cell of Du et al.'s grid at {budget_text(budget)} "
            f"({split} {metric_title})."
        )
        ui.table(grid, key="evaluation_grid", width="stretch")


ranking()
with st.expander("Every stored result"):
    ui.table(
        rows.drop(columns=["key_hash"]).assign(budget=lambda f: np.round(f["budget"], 4)),
        key="evaluation_results",
        hide_index=True,
        width="stretch",
    )
