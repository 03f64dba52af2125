"""Label-balanced selection keeps each label's share (stratified) or an equal count (equal)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prune_core.select import label_balanced, label_quota, on_subset, top_k


def test_stratified_quota_uses_largest_remainders():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    # ideal shares 2.0, 1.2, 0.8 -> floors 2, 1, 0; the one left goes to the largest remainder (label 2)
    assert label_quota(labels, 4) == {0: 2, 1: 1, 2: 1}
    assert label_quota(labels, 10) == {0: 5, 1: 3, 2: 2}
    assert label_quota(labels, 0) == {0: 0, 1: 0, 2: 0}


def test_equal_quota_caps_small_labels_and_redistributes_their_overflow():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    assert label_quota(labels, 7, "equal") == {0: 3, 1: 2, 2: 2}
    labels = np.array([0] * 5 + [1] * 3 + [2] * 1)
    assert label_quota(labels, 8, "equal") == {0: 4, 1: 3, 2: 1}


def test_label_balanced_runs_the_selector_inside_each_label_and_interleaves():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    scores = np.arange(10, dtype=float)
    kept = label_balanced(on_subset(top_k, scores), labels, 4)
    # label 0 keeps 4, 3; label 1 keeps 7; label 2 keeps 9; merged by fractional position
    assert kept.tolist() == [4, 7, 9, 3]


def test_label_balanced_with_a_single_label_is_the_plain_selector():
    scores = np.random.default_rng(0).random(12)
    kept = label_balanced(on_subset(top_k, scores), np.zeros(12, dtype=int), 5)
    assert kept.tolist() == top_k(scores, 5).tolist()


def test_label_balanced_refuses_a_selector_that_overshoots_its_quota():
    with pytest.raises(ValueError, match="returned 3 examples for label 0, more than its quota of 2"):
        label_balanced(lambda sub, k: np.arange(3), np.zeros(6, dtype=int), 2)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=60), st.data())
def test_label_balanced_selection_keeps_each_label_share(values, data):
    labels = np.asarray(values)
    n = labels.size
    k = data.draw(st.integers(0, n))
    seed = data.draw(st.integers(0, 3))
    scores = np.random.default_rng(seed).random(n)
    kept = label_balanced(on_subset(top_k, scores), labels, k, seed=seed)
    assert len(set(kept.tolist())) == k
    for label in np.unique(labels):
        share = k * np.mean(labels == label)
        assert abs(np.sum(labels[kept] == label) - share) < 1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=60), st.data())
def test_equal_balancing_gives_uncapped_labels_counts_within_one(values, data):
    labels = np.asarray(values)
    k = data.draw(st.integers(0, labels.size))
    quota = label_quota(labels, k, "equal")
    sizes = {int(v): int(np.sum(labels == v)) for v in np.unique(labels)}
    assert sum(quota.values()) == k
    uncapped = [q for v, q in quota.items() if q < sizes[v]]
    assert all(q <= sizes[v] for v, q in quota.items())
    if uncapped:  # nobody gets more than one above a label that could have taken more
        assert max(quota.values()) - min(uncapped) <= 1
