"""Group-effect pruning: simulated annealing finds pruned sets whose influences cancel."""

from __future__ import annotations

import numpy as np

from prune_core.select import group_annealing


def pruned_norm(vectors, kept):
    pruned = np.setdiff1d(np.arange(len(vectors)), kept)
    return np.linalg.norm(vectors[pruned].sum(axis=0))


def test_annealing_prunes_a_cancelling_pair_instead_of_the_smallest_examples():
    # a and b are individually the most influential, but together they move the parameters by 0.
    vectors = np.array([[1.0, 0.0], [-1.0, 0.0], [0.3, 0.0], [0.0, 0.4]])
    kept = group_annealing(vectors, 2, seed=0, n_steps=2_000)
    assert kept.tolist() == [3, 2]  # keep c and d, by descending influence norm
    assert pruned_norm(vectors, kept) == 0.0


def test_annealing_never_ends_worse_than_its_start():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200, 5)) + 0.3
    kept = group_annealing(vectors, 50, seed=1, n_steps=5_000)
    start_kept = np.argsort(-np.linalg.norm(vectors, axis=1))[:50]
    assert len(set(kept.tolist())) == 50
    assert pruned_norm(vectors, kept) <= pruned_norm(vectors, start_kept) + 1e-9


def test_annealing_is_seeded_and_handles_the_budget_ends():
    vectors = np.random.default_rng(2).standard_normal((30, 3))
    assert group_annealing(vectors, 10, seed=4).tolist() == group_annealing(vectors, 10, seed=4).tolist()
    assert group_annealing(vectors, 0).tolist() == []
    assert sorted(group_annealing(vectors, 30).tolist()) == list(range(30))
