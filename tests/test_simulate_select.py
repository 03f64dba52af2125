"""Selections on the (representation x selector) grid, the Jaccard table and the label-noise table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prune_core.simulate import (
    LIBRARY_SELECTORS,
    PAPER_FIGURE,
    PAPER_SELECTORS,
    SELECTORS,
    LabConfig,
    SelectionInput,
    build_world,
    chance_jaccard,
    grid_cells,
    jaccard_table,
    noise_table,
    run_selector,
    select_grid,
    view_layout,
)

ALL_CELLS = grid_cells()


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def full_grid(world):
    return select_grid(world, ALL_CELLS, budget=0.3)


def _inputs(train, validation=None, labels=None, n_clusters=2) -> SelectionInput:
    train = np.asarray(train, dtype=np.float64)
    validation = train if validation is None else np.asarray(validation, dtype=np.float64)
    labels = np.ones(len(train), dtype=np.int64) if labels is None else np.asarray(labels)
    return SelectionInput(
        train,
        validation,
        labels,
        np.ones(len(validation), dtype=np.int64),
        np.zeros(len(train)),
        n_clusters=n_clusters,
        seed=0,
    )


def test_the_grid_runs_every_selector_on_every_representation_it_accepts():
    # every library selector that takes a representation (CCS takes only a difficulty score: not here)
    assert set(LIBRARY_SELECTORS) == {
        "prototypicality",
        "semdedup",
        "moderate",
        "less",
        "s2l",
        "kcenter",
        "craig",
        "d2",
        "gradmatch",
        "gtp",
        "random",
    }
    assert len(ALL_CELLS) == 3 * len(SELECTORS) - 2  # h2l reads loss trajectories only
    assert ("loss", "h2l") in ALL_CELLS and ("hidden", "h2l") not in ALL_CELLS


@pytest.mark.parametrize("cell", ALL_CELLS, ids=lambda c: f"{c[1]}@{c[0]}")
def test_every_selector_returns_the_requested_budget(full_grid, cell):
    kept = full_grid[cell]
    assert len(np.unique(kept)) == len(kept)
    assert kept.min() >= 0 and kept.max() < 600
    if SELECTORS[cell[1]].exact_budget:
        assert len(kept) == 180
    else:  # the paper's S2L: int(k / K) per cluster, the whole cluster if smaller
        assert len(kept) <= 180


@pytest.mark.parametrize("cell", ALL_CELLS, ids=lambda c: f"{c[1]}@{c[0]}")
def test_every_selector_returns_the_requested_budget_label_balanced(world, cell):
    kept = select_grid(world, [cell], budget=0.3, balanced=True)[cell]
    labels = world.split.train.y[kept]
    if SELECTORS[cell[1]].exact_budget:
        assert len(kept) == 180
        # stratified: label +1 keeps its share of the budget (Hamilton rounding, within one)
        share = (world.split.train.y > 0).mean()
        assert abs(int((labels > 0).sum()) - 180 * share) < 1
    else:
        assert len(kept) <= 180


def test_paper_s2l_takes_k_over_K_random_points_from_each_cluster():
    jitter = np.random.default_rng(0).normal(0, 0.1, (20, 2))
    train = np.r_[np.zeros((10, 2)), np.full((10, 2), 50.0)] + jitter
    kept = run_selector("s2l-paper", _inputs(train), 7)
    assert len(kept) == 6  # int(7 / 2) = 3 from each of the two clusters; the leftover point is not redrawn
    assert (kept < 10).sum() == 3 and (kept >= 10).sum() == 3


def test_paper_proto_keeps_the_points_farthest_from_their_centroid():
    cluster = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    train = np.r_[cluster, cluster + 100.0, [[3.0, 3.0]]]  # the last point is an outlier of the first cluster
    assert run_selector("proto-paper", _inputs(train), 1).tolist() == [8]


def test_paper_h2l_keeps_the_highest_mean_inverse_gold_probability():
    losses = -np.log(np.array([[0.9, 0.9], [0.1, 0.5], [0.5, 0.5]]))
    assert sorted(run_selector("h2l", _inputs(losses), 2).tolist()) == [1, 2]


def test_paper_less_keeps_the_largest_dot_product_with_the_mean_validation_representation():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [-1.0, 0.0]])
    validation = np.array([[1.0, 0.2], [1.0, -0.2]])  # mean (1, 0)
    assert run_selector("less-paper", _inputs(train, validation), 2).tolist() == [0, 2]


def test_budget_zero_keeps_nothing_even_with_the_notebooks_negative_slicing():
    assert run_selector("h2l", _inputs(np.ones((4, 3))), 0).tolist() == []


def test_selections_are_deterministic_per_seed():
    cells = grid_cells(["s2l-paper", "random", "kcenter"])
    first = select_grid(build_world(LabConfig(seed=3)), cells)
    again = select_grid(build_world(LabConfig(seed=3)), cells)
    other = select_grid(build_world(LabConfig(seed=4)), cells)
    assert all(np.array_equal(first[c], again[c]) for c in cells)
    assert not np.array_equal(first[("hidden", "random")], other[("hidden", "random")])


def test_a_selector_on_a_representation_it_does_not_read_is_refused(world):
    with pytest.raises(ValueError, match="selector 'h2l' does not run on the 'hidden' representation"):
        select_grid(world, [("hidden", "h2l")])


def test_paper_view_is_the_six_panels_of_the_main_figure():
    assert view_layout("paper") == [list(PAPER_FIGURE[:3]), list(PAPER_FIGURE[3:])]
    assert view_layout("grid", ["h2l"]) == [[("loss", "h2l"), None, None]]


def test_jaccard_of_a_selector_with_itself_is_one_and_a_hand_example_is_one_half():
    same = jaccard_table({("loss", "a"): np.array([0, 1, 2]), ("hidden", "a"): np.array([2, 1, 0])})
    assert same.loc["a", "loss vs hidden"] == 1.0
    half = jaccard_table({("loss", "b"): np.array([0, 1, 2]), ("gradient", "b"): np.array([1, 2, 3])})
    assert half.loc["b", "loss vs gradient"] == 0.5
    assert half.loc["b", "mean"] == 0.5


def test_jaccard_table_has_a_row_per_selector_on_several_representations(full_grid):
    table = jaccard_table(full_grid)
    assert list(table.columns) == ["loss vs hidden", "loss vs gradient", "hidden vs gradient", "mean"]
    assert "h2l" not in table.index and len(table) == len(SELECTORS) - 1
    assert table.loc["random"].tolist() == [1.0, 1.0, 1.0, 1.0]  # random ignores the representation
    assert ((table.to_numpy() >= 0) & (table.to_numpy() <= 1)).all()


def test_chance_jaccard_of_two_random_subsets_is_k_over_2n_minus_k():
    assert chance_jaccard(180, 600) == pytest.approx(180 / 1020)
    rng = np.random.default_rng(0)
    draws = [
        len(np.intersect1d(a, b)) / len(np.union1d(a, b))
        for a, b in (
            (rng.choice(600, 180, replace=False), rng.choice(600, 180, replace=False)) for _ in range(400)
        )
    ]
    assert np.mean(draws) == pytest.approx(180 / 1020, abs=0.005)


def test_paper_s2l_overlap_across_representations_sits_at_chance_on_the_paper_data(world):
    # Du et al. call S2L the least representation-sensitive rule (its kept points look alike). Measured as
    # Jaccard it is not: it draws at random inside clusters, so its overlap sits near chance (0.176),
    # below prototypicality's (0.252), whose loss and gradient subsets share half their points.
    table = jaccard_table(select_grid(world, grid_cells(PAPER_SELECTORS)))
    chance = chance_jaccard(180, 600)
    assert abs(table.loc["s2l-paper", "mean"] - chance) < 0.05
    assert table.loc["proto-paper", "loss vs gradient"] > 2 * chance


def test_noise_table_counts_flipped_points_each_cell_keeps():
    flipped = np.array([True, False, True, False])
    kept = {("loss", "h2l"): np.array([0, 1]), ("hidden", "proto-paper"): np.array([1, 3])}
    table = noise_table(kept, flipped)
    assert isinstance(table, pd.DataFrame)
    assert table["flipped kept"].tolist() == [1, 0]
    assert table["of all flipped"].tolist() == [0.5, 0.0]
    assert table["share of kept"].tolist() == [0.5, 0.0]
    assert table["panel"].tolist() == ["ℓ-Difficulty_h2l", "h-Difficulty_proto"]


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n=st.integers(4, 60), d=st.integers(1, 4), n_clusters=st.integers(1, 4))
def test_paper_rules_keep_k_distinct_points_for_any_input(data, n, d, n_clusters):
    rng = np.random.default_rng(n * 31 + d)
    k = data.draw(st.integers(0, n))
    inputs = _inputs(rng.normal(size=(n, d)), rng.normal(size=(5, d)), n_clusters=n_clusters)
    for name in ("h2l", "proto-paper", "less-paper"):
        kept = run_selector(name, inputs, k)
        assert len(kept) == k == len(np.unique(kept))
    s2l_kept = run_selector("s2l-paper", inputs, k)
    assert len(s2l_kept) == len(np.unique(s2l_kept)) <= (k // n_clusters) * n_clusters
