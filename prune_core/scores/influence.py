"""Influence functions restricted to the final linear classification layer.

Koh & Liang (2017), "Understanding Black-box Predictions via Influence Functions", ICML, and Yang et
al. (2023), "Dataset Pruning: Reducing Training Data by Examining Generalization Influence", ICLR,
both need H^{-1} g for per-example gradients g. On the last layer (weights W [C, h] and bias b, input
x, softmax cross-entropy) everything is closed-form with xt = [x, 1] and parameters flattened as
theta = vec([W | b]) (class-major, index a * (h + 1) + k):

    g_i = (p_i - y_i) (x) xt_i                                   (gradient of the loss of example i)
    H   = (1/n) sum_i (diag(p_i) - p_i p_i^T) (x) xt_i xt_i^T + lambda I   (Gauss-Newton = exact Hessian)

so p = C (h + 1) stays small (2 x 385 for a MiniLM head) and H is built and Cholesky-factored once.
The features are treated as fixed, which is the approximation both papers accept. H is singular without damping (adding one vector to every class's row changes no softmax), so
lambda > 0 is required; by default it is relative: lambda = damping * mean(diag(H)), which makes one
``damping`` value mean the same thing whatever the feature scale (if the mean diagonal is 0, e.g. all
predictions saturated, lambda = damping). ``relative_damping=False`` adds ``damping`` as is, which is
exactly the Hessian of an L2-regularised fit with penalty damping / 2 * ||theta||^2.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from prune_core.scores.arrays import (
    as_labels,
    as_matrix,
    as_probabilities,
    nan_to_min,
    row_blocks,
)

# influence_vectors keeps exact [n, p] vectors up to this many parameters, else projects (see there).
MAX_EXACT_DIM = 4096
PROJECTED_DIM = 512


def _head_data(head_in, probs, labels, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked head inputs [n, h], probabilities [n, C] (float64) and labels [n]."""
    x = as_matrix(head_in, f"{name} head inputs")
    p = as_probabilities(probs, f"{name} probs", rows=x.shape[0])
    y = as_labels(labels, f"{name} labels", n=x.shape[0], n_classes=p.shape[1])
    if x.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one example, found 0 rows")
    return x, p, y


def _augmented(x: np.ndarray, rows: slice) -> np.ndarray:
    """[x, 1] for a block of rows, float64: the bias is the weight of a constant input."""
    return np.hstack([np.asarray(x[rows], dtype=np.float64), np.ones((rows.stop - rows.start, 1))])


def _gradients(x: np.ndarray, p: np.ndarray, y: np.ndarray, rows: slice) -> np.ndarray:
    """[b, C (h + 1)] last-layer gradients (p_i - y_i) (x) [x_i, 1] of a block of examples."""
    xt = _augmented(x, rows)
    resid = p[rows].copy()
    resid[np.arange(resid.shape[0]), y[rows]] -= 1.0
    return (resid[:, :, None] * xt[:, None, :]).reshape(resid.shape[0], -1)


def _damped_hessian(x: np.ndarray, p: np.ndarray, damping: float, relative: bool):
    """Cholesky factor of the damped mean last-layer Hessian (see the module docstring)."""
    if not damping > 0:
        raise ValueError(f"damping: expected a value > 0 (the softmax Hessian is singular), found {damping}")
    n, n_classes = p.shape
    width = x.shape[1] + 1
    dim = n_classes * width
    cls = [slice(a * width, (a + 1) * width) for a in range(n_classes)]  # class a's block of theta
    pairs = [(a, b) for a in range(n_classes) for b in range(a, n_classes)]
    hess = np.zeros((dim, dim), dtype=np.float64)
    for rows in row_blocks(n, dim):
        xt = _augmented(x, rows)
        pb = p[rows]
        # Block (a, b) of sum_i (diag(p_i) - p_i p_i^T) (x) xt_i xt_i^T is xt^T diag(c_ab) xt with
        # c_ab = p_a [a == b] - p_a p_b; H is symmetric, so only the blocks with a <= b are multiplied.
        for a, b in pairs:
            coef = pb[:, a] * ((a == b) - pb[:, b])
            hess[cls[a], cls[b]] += (xt * coef[:, None]).T @ xt
    for a, b in pairs:
        hess[cls[b], cls[a]] = hess[cls[a], cls[b]].T
    hess /= n
    if not np.all(np.isfinite(hess)):
        raise ValueError(
            "last-layer Hessian: non-finite entries; check the head inputs and probabilities for NaN or inf"
        )
    mean_diag = float(np.mean(np.diag(hess)))
    lam = damping * mean_diag if relative and mean_diag > 0 else damping
    # A near-zero Hessian (confident predictions, one class, tiny n) would make lambda vanish too.
    lam = max(lam, 1e-8)
    hess[np.diag_indices(dim)] += lam
    try:
        return cho_factor(hess, lower=True)
    except np.linalg.LinAlgError as err:
        raise ValueError(
            f"last-layer Hessian ({dim} x {dim}) is not positive definite with damping "
            f"{damping} (lambda = {lam:.3g}); increase damping or check for NaN inputs"
        ) from err


def last_layer_influence(
    head_in_train: np.ndarray,
    probs_train: np.ndarray,
    labels: np.ndarray,
    head_in_val: np.ndarray,
    probs_val: np.ndarray,
    val_labels: np.ndarray,
    damping: float = 1e-3,
    relative_damping: bool = True,
) -> np.ndarray:
    """Influence of each training example on the mean validation loss, oriented higher = more helpful.

    Koh & Liang (2017): I_up,loss(z, z_val) = -g_val^T H^{-1} g_z. Up-weighting a helpful example
    lowers the validation loss (I_up,loss < 0), so the keep score is -I_up,loss = g_val^T H^{-1} g_i with
    g_val the mean validation gradient; removing example i (epsilon = -1/n) changes the validation loss
    by about score_i / n, so a positive score means the example should stay. H x = g_val is solved once
    and each score is a dot product, O(n C h).
    """
    x, p, y = _head_data(head_in_train, probs_train, labels, "last_layer_influence train")
    xv, pv, yv = _head_data(head_in_val, probs_val, val_labels, "last_layer_influence validation")
    if xv.shape[1] != x.shape[1] or pv.shape[1] != p.shape[1]:
        raise ValueError(
            f"last_layer_influence: validation has {xv.shape[1]} features and {pv.shape[1]} "
            f"classes, train has {x.shape[1]} and {p.shape[1]}; expected the same head"
        )
    factor = _damped_hessian(x, p, damping, relative_damping)
    dim = p.shape[1] * (x.shape[1] + 1)
    g_val = np.zeros(dim, dtype=np.float64)
    for rows in row_blocks(xv.shape[0], dim):
        g_val += _gradients(xv, pv, yv, rows).sum(axis=0)
    direction = cho_solve(factor, g_val / xv.shape[0])
    scores = np.empty(x.shape[0], dtype=np.float64)
    for rows in row_blocks(x.shape[0], dim):
        scores[rows] = _gradients(x, p, y, rows) @ direction
    return nan_to_min(scores)


def influence_vectors(
    head_in_train: np.ndarray,
    probs_train: np.ndarray,
    labels: np.ndarray,
    damping: float = 1e-3,
    relative_damping: bool = True,
    max_dim: int = MAX_EXACT_DIM,
    projected_dim: int = PROJECTED_DIM,
    seed: int = 0,
) -> np.ndarray:
    """Parameter-influence vectors H^{-1} g_i / n of the last layer, [n, p] float32 (Yang et al. 2023).

    Removing example i moves the last-layer parameters by about I(z_i) = (1/n) H^{-1} g_i, and removing
    a set moves them by the sum of its vectors (the "group effect" the annealing selector minimises).
    Only the norm of such sums matters, so when p = C (h + 1) exceeds ``max_dim`` the vectors are
    projected to ``projected_dim`` dimensions by a seeded Gaussian matrix R with N(0, 1/k) entries
    (Johnson-Lindenstrauss: ||R s|| ~ ||s|| for every sum s, and R is linear so sums commute with it);
    R H^{-1} is formed by one solve with k right-hand sides, never an [n, p] matrix.
    """
    x, p, y = _head_data(head_in_train, probs_train, labels, "influence_vectors train")
    n = x.shape[0]
    dim = p.shape[1] * (x.shape[1] + 1)
    factor = _damped_hessian(x, p, damping, relative_damping)
    if dim > max_dim:
        if projected_dim < 1:
            raise ValueError(f"influence_vectors: projected_dim must be >= 1, found {projected_dim}")
        proj = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(projected_dim), (projected_dim, dim))
        right = cho_solve(factor, proj.T)  # H^{-1} R^T, so g^T H^{-1} R^T = (R H^{-1} g)^T
    else:
        right = cho_solve(factor, np.eye(dim))
    out = np.empty((n, right.shape[1]), dtype=np.float32)
    for rows in row_blocks(n, dim):
        out[rows] = (_gradients(x, p, y, rows) @ right) / n
    if not np.all(np.isfinite(out)):
        bad = int(np.argmax(~np.isfinite(out).all(axis=1)))
        raise ValueError(
            f"influence_vectors: non-finite vector for example {bad}; check head inputs "
            f"and probabilities for NaN"
        )
    return out
