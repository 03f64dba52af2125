"""Non-negative least squares over a support that grows one atom at a time (NN-OMP's inner solve).

Why: GradMatch's NN-OMP re-solves min_{w >= 0} ||A_S w - b||^2 + ridge ||w||^2 after every atom it
adds. Solved from scratch by scipy's Lawson-Hanson on the stacked (d + s) x s matrix, each solve costs
about s iterations of a least-squares fit, so a full greedy order (the method runner asks for n - 1 atoms,
one class at a time) took tens of minutes at n = 2 000, d = 1024. Here the same Lawson-Hanson active-set
method runs on the Gram form G = A_S^T A_S + ridge I, c = A_S^T b, warm-started from the previous
weights, with a Cholesky factor of the passive set's block that grows by one row when an atom enters
(O(s^2)) and is rebuilt only when one leaves (rare). With ridge > 0 the problem is strictly convex, so
the optimum is unique and equals scipy's to rounding (tests/test_select_nnls.py compares them).

Lawson & Hanson (1974), "Solving Least Squares Problems", ch. 23; the Gram-form active set as in Bro & De
Jong (1997), "A fast non-negativity-constrained least squares algorithm", J. Chemometrics 11(5).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, solve_triangular


class GrowingNNLS:
    """min_{w >= 0} ||A_S w - b||^2 + ridge ||w||^2 as atoms join S; ``ridge`` must be positive."""

    def __init__(self, b: np.ndarray, ridge: float, capacity: int, n_dims: int):
        if ridge <= 0.0:
            raise ValueError(f"GrowingNNLS needs ridge > 0 (a strictly convex problem), found {ridge}")
        self.b = np.asarray(b, dtype=np.float64)
        self.ridge = float(ridge)
        capacity = max(1, int(capacity))
        self.atoms = np.zeros((capacity, n_dims))  # the support's rows in float64, in insertion order
        self.gram = np.zeros((capacity, capacity))
        self.rhs = np.zeros(capacity)
        self.weights = np.zeros(capacity)
        self.size = 0
        self.factor = np.zeros((capacity, capacity))  # lower Cholesky factor of gram[order][:, order]
        self.order: list[int] = []  # support positions in the passive set, in the factor's order

    # ------------------------------------------------------------------ public
    def add(self, atom: np.ndarray) -> None:
        """Put one more atom (a row of the dictionary) in the support, with weight 0."""
        s = self.size
        if s == self.atoms.shape[0]:
            raise ValueError(f"GrowingNNLS: capacity {s} reached")
        row = np.asarray(atom, dtype=np.float64)
        self.atoms[s] = row
        cross = self.atoms[: s + 1] @ row
        self.gram[s, : s + 1] = cross
        self.gram[: s + 1, s] = cross
        self.gram[s, s] += self.ridge
        self.rhs[s] = row @ self.b
        self.weights[s] = 0.0
        self.size = s + 1

    def solve(self) -> np.ndarray:
        """The NNLS weights of the current support (Lawson-Hanson from the previous solution)."""
        s = self.size
        gram, rhs, x = self.gram[:s, :s], self.rhs[:s], self.weights[:s]
        passive = x > 0.0
        if sorted(self.order) != list(np.flatnonzero(passive)):
            self._refactor([int(i) for i in np.flatnonzero(passive)])
        tol = 1e-12 * max(1.0, float(np.abs(rhs).max(initial=0.0)))
        for _ in range(3 * s + 10):
            slope = rhs - gram @ x  # minus the gradient; KKT: slope <= 0 off the passive set
            slope[passive] = -np.inf
            entering = int(np.argmax(slope))
            if slope[entering] <= tol:
                break
            passive[entering] = True
            self._append(entering)
            while True:
                z = np.zeros(s)
                z[self.order] = self._passive_solve()
                if (z[passive] > 0.0).all():
                    x[:] = z
                    break
                # step from x towards z until the first passive weight reaches zero, drop those at zero
                blocking = passive & (z <= 0.0)
                steps = x[blocking] / (x[blocking] - z[blocking])
                alpha = float(steps.min())
                x += alpha * (z - x)
                x[np.flatnonzero(blocking)[np.argmin(steps)]] = 0.0
                passive &= x > 0.0
                x[~passive] = 0.0
                self._refactor([i for i in self.order if passive[i]])
        return x.copy()

    def residual(self) -> np.ndarray:
        """b - A_S w at the current weights."""
        s = self.size
        return self.b - self.atoms[:s].T @ self.weights[:s]

    # ------------------------------------------------------------------ the passive set's factor
    def _append(self, i: int) -> None:
        p = len(self.order)
        cross = self.gram[self.order, i]
        low = (
            solve_triangular(self.factor[:p, :p], cross, lower=True, check_finite=False) if p else np.zeros(0)
        )
        self.factor[p, :p] = low
        self.factor[p, p] = np.sqrt(max(self.gram[i, i] - low @ low, np.finfo(float).tiny))
        self.order.append(i)

    def _refactor(self, order: list[int]) -> None:
        self.order = list(order)
        p = len(order)
        if p:
            block = self.gram[np.ix_(order, order)]
            self.factor[:p, :p] = np.tril(cho_factor(block, lower=True)[0])

    def _passive_solve(self) -> np.ndarray:
        p = len(self.order)
        low = self.factor[:p, :p]
        y = solve_triangular(low, self.rhs[self.order], lower=True, check_finite=False)
        return solve_triangular(low, y, lower=True, trans="T", check_finite=False)
