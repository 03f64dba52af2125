"""CCS: hard-example removal, equal-width strata, ascending-population allocation, random draws."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.select import ccs, difficulty_strata, equal_split
from prune_core.select.ccs import scheduled_beta

# Difficulty range [0, 3] in three strata of width 1: populations 3 (easy), 5 (middle), 2 (hard).
SCORES = np.array([0.0, 0.1, 0.2, 1.0, 1.1, 1.2, 1.3, 1.4, 2.9, 3.0])


def test_strata_are_equal_width_with_the_maximum_in_the_last():
    assert difficulty_strata(SCORES, 3).tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert difficulty_strata(np.full(4, 7.0), 50).tolist() == [0, 0, 0, 0]


def test_allocation_visits_strata_from_least_to_most_populated():
    # k = 6: hard stratum (2) gets min(2, 6 // 3) = 2; easy (3) gets min(3, 4 // 2) = 2; middle gets 2.
    assert equal_split(np.array([3, 5, 2]), 6).tolist() == [2, 2, 2]
    # k = 8: hard 2, easy min(3, 6 // 2) = 3, middle 3.
    assert equal_split(np.array([3, 5, 2]), 8).tolist() == [3, 3, 2]
    # Empty strata take nothing and do not count as strata left.
    assert equal_split(np.array([0, 4, 0, 1]), 4).tolist() == [0, 3, 0, 1]


def test_ccs_draws_each_stratum_quota():
    kept = ccs(SCORES, 8, n_strata=3, seed=0)
    strata = difficulty_strata(SCORES, 3)[kept]
    assert len(set(kept.tolist())) == 8
    assert np.bincount(strata, minlength=3).tolist() == [3, 3, 2]


def test_ccs_beta_drops_the_hardest_examples_first():
    kept = ccs(SCORES, 4, beta=0.2, n_strata=3, seed=0)
    assert not {8, 9} & set(kept.tolist())  # the two hardest (2.9, 3.0) are removed


def test_ccs_reduces_the_removal_when_it_would_leave_fewer_than_k():
    kept = ccs(SCORES, 9, beta=0.5, n_strata=3, seed=0)
    assert len(kept) == 9 and 9 not in kept.tolist()  # only the single hardest can go


def test_ccs_is_seeded():
    assert ccs(SCORES, 5, n_strata=3, seed=1).tolist() == ccs(SCORES, 5, n_strata=3, seed=1).tolist()


def test_ccs_rejects_a_beta_outside_zero_one():
    with pytest.raises(ValueError, match=r"beta in \[0, 1\)"):
        ccs(SCORES, 3, beta=1.0)


def test_scheduled_beta_follows_the_authors_pruning_rate_table():
    # 90 % pruning (the README's example) removes 0.3; lower rates 0.1; extreme rates 0.4
    assert scheduled_beta(10, 100) == 0.3
    assert scheduled_beta(30, 100) == 0.2
    assert scheduled_beta(50, 100) == 0.1 and scheduled_beta(90, 100) == 0.1
    assert scheduled_beta(4, 100) == 0.4


def test_scheduled_beta_removes_the_mislabelled_stratum_at_a_10_percent_budget():
    # 100 examples: 80 clean with difficulties spread over [0, 1], 20 mislabelled far harder (2 .. 3).
    # beta = 0 keeps the mislabelled stratum (CCS covers every stratum); the authors' beta at a 90 %
    # pruning rate (0.3) removes all 20 before stratifying, so none can be drawn.
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0, 1, 80), rng.uniform(2, 3, 20)])
    mislabelled = set(range(80, 100))
    assert mislabelled & set(ccs(scores, 10, beta=0.0, n_strata=10, seed=0).tolist())
    kept = ccs(scores, 10, beta="schedule", n_strata=10, seed=0)
    assert len(kept) == 10 and not mislabelled & set(kept.tolist())


def test_ccs_rejects_an_unknown_beta_word():
    with pytest.raises(ValueError, match="'schedule'"):
        ccs(SCORES, 3, beta="auto")
