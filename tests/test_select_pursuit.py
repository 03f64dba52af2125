"""NN-OMP (GradMatch) and CoSaMP + NNLS (GTP) recover a planted sparse non-negative combination."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.select import cosamp_nnls, distributed_cosamp, nn_omp
from prune_core.select.pursuit import gradmatch


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


def basis_dictionary():
    """d = 6: the six unit vectors (rows 0-5) and six small random atoms (rows 6-11)."""
    rng = np.random.default_rng(4)
    return np.vstack([np.eye(6), 0.2 * np.abs(rng.standard_normal((6, 6)))])


def test_omp_has_no_support_cap_when_k_exceeds_a_third_of_d():
    # Target e0 + 2 e1 + 3 e2 + 4 e3 needs 4 atoms > d // 3 = 2. Uncapped NN-OMP (the references) finds
    # all four with their weights; a d // 3 cap would stop at two (e3, e2) and fill the rest.
    atoms = basis_dictionary()
    target = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 0.0])
    indices, weights = nn_omp(atoms, target, 4)
    assert indices.tolist() == [3, 2, 1, 0]
    assert np.allclose(weights, [4.0, 3.0, 2.0, 1.0], atol=1e-6)


def test_omp_fills_the_rest_of_the_budget_at_random_like_cords():
    atoms = basis_dictionary()
    target = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 0.0])
    indices, weights = nn_omp(atoms, target, 7, seed=5)
    rest = np.setdiff1d(np.arange(12), [0, 1, 2, 3])
    assert indices[4:].tolist() == np.random.default_rng(5).permutation(rest)[:3].tolist()
    assert np.all(weights[4:] == 0)
    by_correlation, _ = nn_omp(atoms, target, 7, seed=5, fill="correlation")
    assert by_correlation[:4].tolist() == indices[:4].tolist()


def test_gradmatch_matches_each_class_with_its_share_of_the_budget():
    # Class 0 = rows 0-5 (unit vectors, summed target (1, ..., 1)); class 1 = rows 6-11. k = 6 -> 3 + 3.
    atoms = basis_dictionary()
    labels = np.array([0] * 6 + [1] * 6)
    kept = gradmatch(atoms, labels, 6, ridge=0.0)
    assert np.bincount(labels[kept]).tolist() == [3, 3]
    assert gradmatch(atoms, labels, 6, ridge=0.0, per_class=False).tolist() != kept.tolist()
    # the per-class pick of class 1 is NN-OMP on its own rows towards their own sum
    own, _ = nn_omp(atoms[6:], atoms[6:].sum(axis=0), 3, ridge=0.0, order="insertion")
    assert sorted(kept[labels[kept] == 1].tolist()) == sorted((own + 6).tolist())


def test_gtp_reaches_a_target_that_needs_more_than_a_third_of_d_atoms():
    # 8 planted atoms in d = 12 (a coherent, all-positive dictionary)
    rng = np.random.default_rng(11)
    atoms = np.abs(rng.standard_normal((300, 12))).astype(np.float32)
    planted = rng.choice(300, 8, replace=False)
    target = atoms[planted].T.astype(np.float64) @ (0.5 + rng.random(8))

    def residual(**params) -> float:
        indices, weights = cosamp_nnls(atoms, target, 12, **params)
        return np.linalg.norm(atoms[indices].T.astype(np.float64) @ weights - target) / np.linalg.norm(target)

    assert residual() <= 1e-6  # k = d: the default support cap lets GTP fit the target exactly
    assert residual(max_support=12 // 3) > 0.05  # what the earlier d // 3 cap returned


def test_gtp_weights_are_the_nnls_optimum_on_the_support_it_returns():
    # the skipped refit must not change what comes back: weights = NNLS on the returned support
    from prune_core.select.pursuit import _solve_nnls

    rng = np.random.default_rng(12)
    atoms = rng.standard_normal((500, 40)).astype(np.float32)
    target = atoms.mean(axis=0, dtype=np.float64) + 0.1 * rng.standard_normal(40)
    indices, weights = cosamp_nnls(atoms, target, 30)
    support = indices[weights > 0]
    refit = _solve_nnls(atoms, np.sort(support), target)
    np.testing.assert_allclose(np.sort(weights[weights > 0]), np.sort(refit[refit > 0]), rtol=1e-6, atol=1e-9)
