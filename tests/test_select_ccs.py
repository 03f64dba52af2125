"""CCS: hard-example removal, equal-width strata, ascending-population allocation, random draws."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.select import ccs, difficulty_strata, equal_split

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
