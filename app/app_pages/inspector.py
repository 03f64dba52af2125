"""Example inspector: find an example by uid or text, then see its score and rank under every method and
whether each method keeps it at a budget."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import loaders, plain, ui
from app.figures import method_ranks_bar
from app.plain import md
from app.views import budget_text, common_budgets, group_noun, order_methods, rank_profile, search_examples

run = ui.page(
    "Example inspector",
    ("examples", "selections"),
    caption="Rank 1 = the first example a method keeps; percentile 100 = the top of its keep order.",
)
with ui.guard(run):
    train = loaders.train_examples(run)
    methods = loaders.done_methods(run)
    scores = loaders.scores(run)
ids = ui.without_damaged(run, order_methods(methods))

query = st.text_input(
    "Search by uid or text", key="inspect_query", placeholder="a uid, or words from the text"
)
matches = (
    search_examples(train, query) if query.strip() else train.head(20).assign(row=range(min(20, len(train))))
)
if query.strip() and matches.empty:
    st.warning(f"No training example has the uid {md(query)} or contains it in its text.")
    st.stop()
if not query.strip():
    st.caption("Showing the first 20 training examples; search to find others.")
names = run.label_names
options = matches["row"].tolist()
row = st.selectbox(
    "Example",
    options,
    key="inspect_row",
    format_func=lambda r: (
        f"{train['uid'].iloc[r]} · {names[train['label'].iloc[r]]} · {str(train['text'].iloc[r])[:90]}"
    ),
)
uid = train["uid"].iloc[row]
# Data is shown with st.text only: a dataset's Markdown, HTML or directives must not render (app/plain.py).
head = st.columns([1, 1, 2])
head[0].caption("uid")
plain.text(uid, head[0])
head[1].caption(group_noun(run))
plain.text(names[train["label"].iloc[row]], head[1])
st.caption("prompt" if "response" in train else "text")
plain.long_text(train["text"].iloc[row])
if "response" in train:
    st.caption("response")
    plain.long_text(train["response"].iloc[row])
if "text_pair" in train:
    st.caption("text pair")
    plain.text(train["text_pair"].iloc[row])

budget = ui.budget_picker(common_budgets(loaders.budgets(run, m) for m in ids), key="inspect_budget")
with ui.guard(run):
    ranks = loaders.rank_positions(run, ids)
    kept = {m: loaders.membership(run, m, budget) for m in ids}
score_of = scores.loc[uid].dropna().to_dict() if uid in scores.index else {}
profile = rank_profile(row, ranks, score_of, kept, methods)
kept_by = int(profile["kept"].sum())
st.metric(f"Methods keeping it at {budget_text(budget)}", f"{kept_by} of {len(profile)}")
left, right = st.columns(2)
left.plotly_chart(method_ranks_bar(profile, budget_text=budget_text(budget)), key="inspect_ranks")
shown = profile[["score", "rank", "percentile", "kept"]].assign(
    score=["" if pd.isna(v) else f"{v:.4g}" for v in profile["score"]]
)  # scores differ by orders of magnitude
right.dataframe(
    shown,
    width="stretch",
    height=min(760, 35 * len(profile) + 40),
    column_config={"percentile": st.column_config.NumberColumn(format="%.1f")},
)
