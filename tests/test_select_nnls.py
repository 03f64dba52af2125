"""The incremental ridge NNLS of NN-OMP (prune_core/select/_nnls.py) against scipy's from-scratch solve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

import prune_core.select.pursuit as pursuit
from prune_core.select._nnls import GrowingNNLS


def scipy_ridge_nnls(rows: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    a = np.vstack([rows.T.astype(np.float64), np.sqrt(ridge) * np.eye(rows.shape[0])])
    return nnls(a, np.concatenate([b, np.zeros(rows.shape[0])]), maxiter=50 * rows.shape[0])[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_prefix_of_a_growing_support_has_scipys_optimum(seed):
    rng = np.random.default_rng(seed)
    # correlated atoms (a shared direction plus noise) make weights enter, leave and re-enter
    rows = rng.standard_normal((40, 12)) + 2.0 * rng.standard_normal(12)
    b = rows[:5].sum(axis=0) - 0.5 * rows[7]
    solver = GrowingNNLS(b, 0.3, capacity=40, n_dims=12)
    for s in range(1, 41):
        solver.add(rows[s - 1])
        ours = solver.solve()
        reference = scipy_ridge_nnls(rows[:s], b, 0.3)
        assert np.allclose(ours, reference, atol=1e-9, rtol=1e-9), s
        assert (ours >= 0).all()
        assert np.allclose(solver.residual(), b - rows[:s].T @ reference, atol=1e-8)


def test_a_weight_that_must_leave_the_passive_set_does():
    # b is exactly atom 0; atom 1 = atom 0 + atom 2 enters later and takes over, pushing atom 0 to zero
    a0, a2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    rows = np.stack([a0, a0 + a2, a2])
    b = a0 + a2
    solver = GrowingNNLS(b, 1e-6, capacity=3, n_dims=3)
    solver.add(rows[0])
    assert solver.solve()[0] > 0
    solver.add(rows[1])
    weights = solver.solve()
    assert np.allclose(weights, scipy_ridge_nnls(rows[:2], b, 1e-6), atol=1e-9)
    assert weights[0] < 1e-5 < weights[1]


def test_ridge_must_be_positive_and_capacity_is_enforced():
    with pytest.raises(ValueError, match="ridge > 0"):
        GrowingNNLS(np.ones(3), 0.0, capacity=2, n_dims=3)
    solver = GrowingNNLS(np.ones(3), 1.0, capacity=1, n_dims=3)
    solver.add(np.ones(3))
    with pytest.raises(ValueError, match="capacity"):
        solver.add(np.ones(3))


def test_nn_omp_with_a_ridge_picks_what_the_scipy_solve_picks(monkeypatch):
    rng = np.random.default_rng(5)
    atoms = (rng.standard_normal((300, 24)) + rng.standard_normal(24)).astype(np.float32)
    target = atoms[:40].sum(axis=0)
    fast, fast_weights = pursuit.nn_omp(atoms, target, 60, ridge=0.5, order="insertion")
    monkeypatch.setattr(pursuit, "GrowingNNLS", lambda *args, **kwargs: None)  # the from-scratch path
    slow, slow_weights = pursuit.nn_omp(atoms, target, 60, ridge=0.5, order="insertion")
    assert fast.tolist() == slow.tolist()
    assert np.allclose(fast_weights, slow_weights, atol=1e-9)
