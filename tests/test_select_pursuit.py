"""NN-OMP (GradMatch) and CoSaMP + NNLS (GTP) recover a planted sparse non-negative combination."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.select import cosamp_nnls, distributed_cosamp, nn_omp


@pytest.fixture(scope="module")
def planted():
    """A: Gaussian 200 x 400 dictionary (atoms are its columns); w*: 8-sparse, entries >= 0.5; b = A w*."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 400))
    support = np.sort(rng.choice(400, 8, replace=False))
    w = np.zeros(400)
    w[support] = 0.5 + rng.random(8)
    return a.T, a @ w, support, w


@pytest.mark.parametrize("solver", [nn_omp, cosamp_nnls, distributed_cosamp])
def test_pursuit_recovers_the_planted_support_and_weights(planted, solver):
    features, target, support, w = planted
    indices, weights = solver(features, target, 8)
    assert sorted(indices.tolist()) == support.tolist()
    assert np.allclose(weights, w[indices], atol=1e-3)
    assert np.all(np.diff(weights) <= 0)  # descending weight


@pytest.mark.parametrize("solver", [nn_omp, cosamp_nnls])
def test_pursuit_fills_the_budget_with_zero_weight_examples(planted, solver):
    features, target, support, _ = planted
    indices, weights = solver(features, target, 20)
    assert len(set(indices.tolist())) == 20
    assert set(indices[:8].tolist()) == set(support.tolist())
    assert np.allclose(weights[8:], 0.0, atol=1e-6)  # CoSaMP may keep negligible NNLS weights


@pytest.mark.parametrize("solver", [nn_omp, cosamp_nnls])
def test_pursuit_returns_k_indices_when_nothing_correlates_positively(solver):
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    indices, weights = solver(features, np.array([-1.0, -1.0]), 2)
    assert len(set(indices.tolist())) == 2 and np.all(weights == 0)


def test_pursuit_rejects_a_target_of_the_wrong_length():
    with pytest.raises(ValueError, match="target has 3 entries but features have 2 columns"):
        cosamp_nnls(np.ones((4, 2)), np.ones(3), 2)


def test_omp_insertion_order_prefixes_equal_smaller_budgets():
    rng = np.random.default_rng(3)
    atoms = rng.normal(size=(80, 30))
    target = np.abs(rng.normal(size=30))
    full, _ = nn_omp(atoms, target, 79, order="insertion")
    for k in (1, 3, 6, 9, 20, 40):
        small, _ = nn_omp(atoms, target, k)
        assert set(full[:k]) == set(small), k
