"""Gaussian-mixture lab: Du et al.'s 2-D toy experiment, live. The same selection rule under three
representations (loss trajectories, hidden states, gradients), the model's decision regions, the kept
points, the flipped labels, and how much the representations agree. Needs no run: it computes in
well under a second, cached by its settings."""

from __future__ import annotations

import time
from dataclasses import asdict

import streamlit as st

from app import ui
from app.figures.lab import LabPanel, lab_panels
from prune_core.select import budget_to_k
from prune_core.simulate import (
    PAPER_SELECTORS,
    SELECTORS,
    LabConfig,
    build_world,
    chance_jaccard,
    grid_cells,
    jaccard_table,
    noise_table,
    panel_title,
    probability_grid,
    select_grid,
    view_layout,
)

VIEWS = {
    "paper": "Paper figure (2 x 3)",
    "appendix": "Paper appendix (1 x 4)",
    "grid": "Grid: selector x representation",
}
GENERATOR_TITLES = {
    "make_classification": "make_classification (the paper's)",
    "mixture": "Gaussian mixture (blobs on a circle)",
}
MODEL_TITLES = {"logistic": "Logistic (paper)", "mlp": "MLP (learned hidden layer)"}


@st.cache_resource(max_entries=16, show_spinner=False)
def _world(**settings):
    """Data, split, trained reference model and representations for one set of generator/model settings."""
    return build_world(LabConfig(**settings))


@st.cache_resource(max_entries=64, show_spinner=False)
def _selections(settings: tuple, cells: tuple, budget: float, n_clusters: int, balanced: bool, _world=None):
    """Kept training positions per (representation, selector); ``settings`` keys the cached world."""
    return select_grid(_world, cells, budget=budget, n_clusters=n_clusters, balanced=balanced)


def _selector_label(name: str) -> str:
    return f"{name} ({SELECTORS[name].objective.lower()}, {SELECTORS[name].source})"


st.title("Gaussian-mixture lab")
st.caption(
    "Du et al. (ACL 2025, Fig. 2a) on a 2-D mixture: methods with the same objective keep different "
    "points, and one rule keeps different points under different representations. Green crosses = "
    "kept, black rings = labels flipped by the generator, background = the reference model's "
    "p(label +1)."
)

top = st.columns([2.2, 2, 1, 1, 1.5])
view = top[0].selectbox("View", list(VIEWS), format_func=VIEWS.get, key="lab_view")
budget = top[1].slider("Budget (share of training points kept)", 0.05, 1.0, 0.3, 0.05, key="lab_budget")
n_clusters = int(top[2].number_input("K (clusters)", 1, 20, 2, key="lab_k"))
seed = int(top[3].number_input("Seed", 0, 10_000, 42, key="lab_seed"))
balanced = top[4].toggle(
    "Label-balanced",
    key="lab_balanced",
    help="Keep each label's share of the budget (Du et al.'s --balance_label).",
)

with st.expander("Data and model", expanded=False):
    left, middle, right = st.columns(3)
    generator = left.selectbox(
        "Generator", list(GENERATOR_TITLES), format_func=GENERATOR_TITLES.get, key="lab_generator"
    )
    n_samples = left.slider("Points (before the 60/20/20 split)", 200, 5000, 1000, 100, key="lab_points")
    if generator == "make_classification":  # two informative features allow at most 2 blobs per label
        blobs = left.radio("Blobs per label", [1, 2], index=1, horizontal=True, key="lab_blobs_sklearn")
    else:
        blobs = left.slider("Blobs per label", 1, 6, 2, key="lab_blobs_mixture")
    separation = middle.slider(
        "Separation",
        0.2,
        4.0,
        1.0,
        0.1,
        key="lab_separation",
        help="make_classification's class_sep, or half the distance between neighbouring blobs.",
    )
    noise = middle.slider(
        "Label noise",
        0.0,
        0.3,
        0.01,
        0.01,
        key="lab_noise",
        help="make_classification's flip_y (a redrawn label may land on its own value), or "
        "the mixture's probability of flipping a label.",
    )
    share = middle.slider("Share of label +1", 0.05, 0.5, 0.5, 0.05, key="lab_share")
    model = right.radio(
        "Reference model", list(MODEL_TITLES), format_func=MODEL_TITLES.get, horizontal=True, key="lab_model"
    )
    epochs = right.slider("Epochs", 5, 300, 100, 5, key="lab_epochs")
    hidden_units = right.slider("MLP hidden units", 2, 64, 16, key="lab_hidden", disabled=model != "mlp")
    gradient_bias = right.toggle("Bias term in the gradient", key="lab_gradient_bias")

selectors = list(PAPER_SELECTORS)
if view == "grid":
    selectors = st.multiselect(
        "Selectors (rows)",
        list(SELECTORS),
        default=list(PAPER_SELECTORS),
        format_func=_selector_label,
        key="lab_selectors",
    )
    if not selectors:
        st.info("Choose at least one selector.")
        st.stop()

config = LabConfig(
    generator=generator,
    n_samples=n_samples,
    blobs_per_class=int(blobs),
    separation=separation,
    label_noise=noise,
    minority_share=share,
    model=model,
    epochs=epochs,
    hidden_units=hidden_units,
    gradient_bias=gradient_bias,
    seed=seed,
)
settings = asdict(config)
started = time.perf_counter()
with st.spinner("Training the reference model and selecting..."):
    world = _world(**settings)
    kept = _selections(
        tuple(settings.items()), tuple(grid_cells(selectors)), budget, n_clusters, balanced, _world=world
    )
    train = world.split.train
    decision = probability_grid(world.training.model, train.x, resolution=60 if view == "grid" else 100)
rows = [
    [LabPanel(panel_title(*cell), kept[cell]) if cell else None for cell in row]
    for row in view_layout(view, selectors)
]
figure = lab_panels(
    train.x, train.y, train.flipped, decision, rows, panel_height=230 if view == "grid" else 300
)
elapsed = time.perf_counter() - started

k = budget_to_k(budget, len(train))
cols = st.columns(4)
cols[0].metric("Validation accuracy", f"{world.training.validation_accuracy:.3f}")
cols[1].metric("Training points", f"{len(train):,}")
cols[2].metric("Kept per panel (k)", f"{k:,}")
cols[3].metric("Flipped labels in training", f"{int(train.flipped.sum()):,}")
st.plotly_chart(figure, key="lab_figure", config={"displaylogo": False})
st.caption(
    f"Computed in {elapsed:.2f} s. The paper's S2L takes int(k / K) random points per cluster, so its "
    "panels may keep fewer than k."
)

st.subheader("Do the representations agree?")
table = jaccard_table(kept)
chance = chance_jaccard(k, len(train))
st.caption(
    f"Jaccard |A ∩ B| / |A ∪ B| between one selector's subsets under two representations; 1 = the "
    f"same subset. Two independent random subsets of this size score about {chance:.2f}. The paper "
    "finds S2L the least representation-sensitive rule: compare its row with prototypicality's (S2L "
    "draws at random inside clusters, so even identical clusters give near-chance overlap)."
)
if table.empty:
    st.info("Each selector in view runs on one representation only; choose one that runs on several.")
else:
    bars = {
        c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="%.2f")
        for c in table.columns
    }
    ui.table(table, key="lab_scores", width="stretch", column_config=bars)

st.subheader("Who keeps the flipped labels?")
st.caption(
    "A rule that keeps many more than the budget's share of the flipped labels is chasing label noise."
)
ui.table(
    noise_table(kept, train.flipped).drop(columns=["selector", "representation"]),
    key="lab_noise",
    hide_index=True,
    width="stretch",
    column_config={
        "of all flipped": st.column_config.NumberColumn(format="%.2f"),
        "share of kept": st.column_config.NumberColumn(format="%.3f"),
    },
)
