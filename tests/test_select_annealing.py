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


def test_float32_rows_anneal_as_their_float64_copy_without_one(monkeypatch):
    """At 1 M rows a float64 copy of the influence vectors is 8 GB: float32 input stays float32 (rows are
    cast one at a time, the pruned sum by blocks of rows) and selects exactly what the copy selects."""
    import prune_core.select.annealing as annealing

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    reference = group_annealing(vectors.astype(np.float64), 120, seed=1, n_steps=5_000)
    assert group_annealing(vectors, 120, seed=1, n_steps=5_000).tolist() == reference.tolist()
    rows = rng.permutation(300)[:250]
    monkeypatch.setattr(annealing, "_SUM_BLOCK", 64)  # several blocks: the same sum up to rounding
    blocked = annealing._rows_sum(vectors, rows)
    assert np.allclose(blocked, vectors[rows].astype(np.float64).sum(axis=0), rtol=1e-12, atol=1e-12)
