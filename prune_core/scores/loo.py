"""Ground truth for the last-layer influence preset: exact leave-one-out retraining of a convex head.

Influence functions are fragile in deep models (Basu, Pope & Feizi 2021, "Influence Functions in Deep
Learning Are Fragile", ICLR), but on the last layer with fixed features the quantity they approximate
is computable: fit the L2-regularised softmax regression on the head inputs,

    theta* = argmin_theta (1/n) sum_i CE(softmax(theta [x_i, 1]), y_i) + (lambda / 2) ||theta||^2,

refit it without example i (warm-started, to convergence), and take the change of the mean validation
loss. Koh & Liang (2017, ICML) predict that change as score_i / n with score_i = g_val^T H^-1 g_i
(``influence.last_layer_influence``), where lambda enters H exactly as the absolute damping.

``damping_agreement`` asks which *relative* damping (the preset's parameter: lambda = damping x mean
diag(H)) makes the preset's scores - computed, as the preset does, from the fine-tuned model's own
probabilities - rank examples like exact LOO of the head regularised by that same lambda.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import spearmanr

from prune_core.scores.influence import last_layer_influence


def _augment(x: np.ndarray) -> np.ndarray:
    return np.hstack([np.asarray(x, dtype=np.float64), np.ones((x.shape[0], 1))])


def _loss_and_grad(theta: np.ndarray, xt: np.ndarray, y: np.ndarray, n_classes: int, l2: float):
    w = theta.reshape(n_classes, xt.shape[1])
    logits = xt @ w.T
    lse = logsumexp(logits, axis=1)
    loss = float(np.mean(lse - logits[np.arange(len(y)), y])) + 0.5 * l2 * float(theta @ theta)
    resid = np.exp(logits - lse[:, None])
    resid[np.arange(len(y)), y] -= 1.0
    grad = (resid.T @ xt).ravel() / len(y) + l2 * theta
    return loss, grad


def fit_head(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, start: np.ndarray | None = None
) -> np.ndarray:
    """theta* [C (h + 1)] of the L2-regularised softmax regression (class-major, bias last), by L-BFGS."""
    xt = _augment(x)
    theta0 = np.zeros(n_classes * xt.shape[1]) if start is None else start
    result = minimize(
        _loss_and_grad,
        theta0,
        args=(xt, np.asarray(y, dtype=np.int64), n_classes, float(l2)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-15},
    )
    return result.x


def head_probabilities(theta: np.ndarray, x: np.ndarray, n_classes: int) -> np.ndarray:
    logits = _augment(x) @ theta.reshape(n_classes, -1).T
    return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))


def mean_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    p = head_probabilities(theta, x, n_classes)
    return float(np.mean(-np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))


def loo_validation_change(
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    l2: float,
    examples: np.ndarray,
) -> np.ndarray:
    """Exact change of the mean validation loss when each of ``examples`` is left out and the head refit.

    Positive = the validation loss rises without the example (it helps; keep it).
    """
    theta = fit_head(x, y, n_classes, l2)
    base = mean_loss(theta, x_val, y_val, n_classes)
    keep = np.ones(len(y), dtype=bool)
    out = np.empty(len(examples), dtype=np.float64)
    for position, i in enumerate(np.asarray(examples, dtype=np.int64)):
        keep[i] = False
        refit = fit_head(x[keep], y[keep], n_classes, l2, start=theta)
        keep[i] = True
        out[position] = mean_loss(refit, x_val, y_val, n_classes) - base
    return out


def damping_agreement(
    x: np.ndarray,
    probs: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    probs_val: np.ndarray,
    y_val: np.ndarray,
    dampings: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0),
    *,
    sample: int = 200,
    seed: int = 0,
) -> dict[float, float]:
    """Spearman between the preset's influence scores and exact LOO, for each relative damping.

    For damping d the head is regularised by lambda = d x mean diag(H) (H from ``probs``, exactly the
    lambda the preset adds), LOO is exact on ``sample`` seeded examples, and the preset's scores come from
    the run's probabilities as in the ``influence`` preset.
    """
    n_classes = probs.shape[1]
    rng = np.random.default_rng(seed)
    examples = np.sort(rng.choice(len(y), size=min(sample, len(y)), replace=False))
    out = {}
    for d in dampings:
        hess_diag = _mean_hessian_diagonal(x, probs)
        lam = d * hess_diag if hess_diag > 0 else d
        truth = loo_validation_change(x, y, x_val, y_val, n_classes, lam, examples)
        scores = last_layer_influence(x, probs, y, x_val, probs_val, y_val, damping=d)
        out[float(d)] = float(spearmanr(scores[examples], truth).statistic)
    return out


def _mean_hessian_diagonal(x: np.ndarray, probs: np.ndarray) -> float:
    """mean diag of the undamped mean last-layer Hessian: sum_a p_a (1 - p_a) times mean ||[x, 1]||^2 / dim."""
    xt = _augment(x)
    # diag block a: (1/n) sum_i p_ia (1 - p_ia) xt_i^2 (elementwise); its mean over all C (h + 1) entries
    weights = probs * (1.0 - probs)  # [n, C]
    total = float(np.sum(weights.T @ (xt**2)))
    return total / (x.shape[0] * probs.shape[1] * xt.shape[1])
