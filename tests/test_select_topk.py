"""Score rules: exact top-k, Du et al.'s quantile rule, the Moderate-DS band and random subsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prune_core.select import (
    BudgetError,
    moderate_band,
    moderate_coreset,
    moderate_distances,
    random_subset,
    top_k,
    top_quantile,
)
from prune_core.select.topk import boundary_tie


def test_top_k_returns_highest_scores_highest_first():
    scores = np.array([0.2, 0.9, 0.1, 0.5, 0.7])
    assert top_k(scores, 3).tolist() == [1, 4, 3]
    assert top_k(scores, 3).dtype == np.int64


def test_top_k_edge_budgets():
    scores = np.array([3.0, 1.0, 2.0])
    assert top_k(scores, 0).tolist() == []
    assert top_k(scores, 3).tolist() == [0, 2, 1]
    assert top_k(np.array([5.0]), 1).tolist() == [0]
    with pytest.raises(BudgetError, match="0 <= k <= n = 3"):
        top_k(scores, 4)


def test_top_k_breaks_ties_by_seed_reproducibly():
    scores = np.ones(20)
    first = top_k(scores, 5, seed=1)
    assert top_k(scores, 5, seed=1).tolist() == first.tolist()
    assert {tuple(top_k(scores, 5, seed=s)) for s in range(5)} != {tuple(first)}


def test_nan_scores_count_as_the_minimum_finite_score():
    scores = np.array([np.nan, 2.0, 1.0, np.nan])
    assert set(top_k(scores, 2).tolist()) == {1, 2}
    assert set(top_k(scores, 3).tolist()) - {1, 2} <= {0, 3}


def test_float16_scores_are_accepted():
    scores = np.array([0.5, 0.25, 1.0], dtype=np.float16)
    assert top_k(scores, 2).tolist() == [2, 0]


def test_quantile_rule_keeps_scores_at_or_above_the_threshold():
    scores = np.arange(10, dtype=float)  # quantile(0.7) = 6.3 -> keep 7, 8, 9
    assert top_quantile(scores, 0.3).tolist() == [9, 8, 7]
    assert top_quantile(scores, 1.0).shape == (10,)
    assert top_quantile(scores, 0.0).tolist() == []


def test_quantile_rule_can_exceed_k_on_ties():
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.5])
    kept = top_quantile(scores, 0.2)  # quantile(0.8) = 2.0: all three tied twos stay
    assert sorted(kept.tolist()) == [1, 2, 3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=40), st.floats(0.01, 1.0))
def test_quantile_rule_matches_numpy_quantile_on_tied_scores(values, budget):
    scores = np.asarray(values, dtype=float)
    expected = np.flatnonzero(scores >= np.quantile(scores, 1.0 - budget))
    kept = top_quantile(scores, budget)
    assert sorted(kept.tolist()) == expected.tolist()
    assert np.all(np.diff(scores[kept]) <= 0)  # listed highest first


def test_moderate_band_keeps_the_ranks_around_the_median():
    scores = np.array([10.0, 0.0, 30.0, 20.0, 40.0])  # ascending ranks: 1, 0, 3, 2, 4; median rank 2
    assert moderate_band(scores, 1).tolist() == [3]
    assert moderate_band(scores, 3).tolist() == [3, 0, 2]  # rank 2, then 1 before 3 (lower rank first)
    assert sorted(moderate_band(scores, 5).tolist()) == [0, 1, 2, 3, 4]


def test_moderate_distances_measure_distance_to_the_class_median():
    features = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [10.0, 10.0], [10.0, 13.0]])
    labels = np.array([0, 0, 0, 1, 1])
    # class 0 median (1, 0); class 1 median (10, 11.5)
    assert np.allclose(moderate_distances(features, labels), [1.0, 0.0, 4.0, 1.5, 1.5])


def test_moderate_coreset_skips_both_easy_and_hard_extremes():
    features = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    labels = np.zeros(5, dtype=int)  # median 2: distances 2, 1, 0, 1, 8
    kept = moderate_coreset(features, labels, 1)
    assert kept.tolist() in ([1], [3])


def test_random_subset_is_seeded_and_nested_across_budgets():
    small, large = random_subset(100, 10, seed=3), random_subset(100, 30, seed=3)
    assert large[:10].tolist() == small.tolist()
    assert len(set(large.tolist())) == 30
    assert random_subset(100, 10, seed=4).tolist() != small.tolist()
    assert random_subset(0, 0).tolist() == []


def test_top_k_breaks_ties_by_the_secondary_score_before_the_seed():
    # counts 2, 1, 1, 1, 0: k = 3 must take two of the three 1s; the secondary score (e.g. 1 - mean
    # confidence for forgetting) decides: positions 3 (0.9) and 1 (0.5) over 2 (0.1), for every seed.
    counts = np.array([2.0, 1.0, 1.0, 1.0, 0.0])
    secondary = np.array([0.0, 0.5, 0.1, 0.9, 1.0])
    for seed in range(5):
        assert top_k(counts, 3, seed=seed, secondary=secondary).tolist() == [0, 3, 1]


def test_boundary_tie_reports_the_block_the_cut_splits():
    counts = np.array([2.0, 1.0, 1.0, 1.0, 0.0])
    assert boundary_tie(counts, 3) == {"block": 3, "kept": 2}
    assert boundary_tie(counts, 4) == {"block": 0, "kept": 0}
    assert boundary_tie(counts, 1) == {"block": 0, "kept": 0}
