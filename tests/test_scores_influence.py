"""Last-layer influence functions against an explicitly built Hessian (Kronecker products written out
per example) and against the real change of a damped softmax-regression fit when an example is left out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from prune_core.scores import influence_vectors, last_layer_influence


def _augmented(x):
    return np.hstack([x, np.ones((x.shape[0], 1))])


def _brute_gradient(xt_i, p_i, y_i):
    resid = p_i.copy()
    resid[y_i] -= 1.0
    return np.kron(resid, xt_i)


def _brute_hessian(x, probs, damping, relative):
    xt = _augmented(x)
    n, c = probs.shape
    hess = np.zeros((c * xt.shape[1],) * 2)
    for i in range(n):
        a = np.diag(probs[i]) - np.outer(probs[i], probs[i])
        hess += np.kron(a, np.outer(xt[i], xt[i])) / n
    lam = damping * np.mean(np.diag(hess)) if relative else damping
    return hess + lam * np.eye(hess.shape[0])


def _toy(n, h, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h))
    probs = softmax(rng.normal(size=(n, c)) * 2, axis=1)
    y = rng.integers(0, c, size=n)
    return x, probs, y


def test_last_layer_influence_matches_an_explicit_hessian_on_a_tiny_problem():
    x, p, y = _toy(12, 3, 3, seed=0)
    xv, pv, yv = _toy(5, 3, 3, seed=1)
    hess = _brute_hessian(x, p, 1e-2, relative=True)
    xt, xvt = _augmented(x), _augmented(xv)
    g_val = np.mean([_brute_gradient(xvt[j], pv[j], yv[j]) for j in range(5)], axis=0)
    hinv = np.linalg.inv(hess)
    expected = [g_val @ hinv @ _brute_gradient(xt[i], p[i], y[i]) for i in range(12)]
    got = last_layer_influence(x, p, y, xv, pv, yv, damping=1e-2)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


def test_influence_vectors_are_the_inverse_hessian_gradient_over_n():
    x, p, y = _toy(12, 3, 3, seed=2)
    hinv = np.linalg.inv(_brute_hessian(x, p, 0.05, relative=False))
    xt = _augmented(x)
    expected = np.array([hinv @ _brute_gradient(xt[i], p[i], y[i]) / 12 for i in range(12)])
    got = influence_vectors(x, p, y, damping=0.05, relative_damping=False)
    assert got.shape == (12, 12) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def _fit_softmax_regression(xt, y, weights, lam, n_classes, iters=50):
    """Newton's method on sum_i w_i CE_i + lam / 2 ||theta||^2 (theta [C, h + 1], class-major)."""
    theta = np.zeros(n_classes * xt.shape[1])
    onehot = np.eye(n_classes)[y]
    for _ in range(iters):
        probs = softmax(xt @ theta.reshape(n_classes, -1).T, axis=1)
        grad, hess = lam * theta, lam * np.eye(theta.size)
        for w, pi, oi, xi in zip(weights, probs, onehot, xt):
            grad = grad + w * np.kron(pi - oi, xi)
            hess = hess + w * np.kron(np.diag(pi) - np.outer(pi, pi), np.outer(xi, xi))
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-13:
            break
    return theta


def _mean_loss(theta, xt, y, n_classes):
    probs = softmax(xt @ theta.reshape(n_classes, -1).T, axis=1)
    return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


def test_last_layer_influence_predicts_the_leave_one_out_change_of_validation_loss():
    rng = np.random.default_rng(4)
    n, h, c, lam = 40, 3, 3, 0.05
    centres = rng.normal(size=(c, h)) * 1.5
    y, yv = rng.integers(0, c, size=n), rng.integers(0, c, size=30)
    x, xv = centres[y] + rng.normal(size=(n, h)), centres[yv] + rng.normal(size=(30, h))
    y[:4] = (y[:4] + 1) % c  # a few flipped labels: clearly harmful examples
    xt, xvt = _augmented(x), _augmented(xv)
    theta = _fit_softmax_regression(xt, y, np.full(n, 1 / n), lam, c)
    probs, probs_val = (softmax(a @ theta.reshape(c, -1).T, axis=1) for a in (xt, xvt))
    scores = last_layer_influence(x, probs, y, xv, probs_val, yv, damping=lam, relative_damping=False)

    base = _mean_loss(theta, xvt, yv, c)
    actual = np.empty(n)
    for i in range(n):  # epsilon = -1/n: example i's weight set to 0, the others keep 1/n
        weights = np.full(n, 1 / n)
        weights[i] = 0.0
        actual[i] = _mean_loss(_fit_softmax_regression(xt, y, weights, lam, c), xvt, yv, c) - base
    predicted = scores / n
    assert np.mean(np.sign(predicted) == np.sign(actual)) >= 0.95
    assert np.corrcoef(predicted, actual)[0, 1] > 0.95
    assert scores[:4].mean() < np.median(scores[4:])  # flipped labels look harmful on average


def test_projected_influence_vectors_keep_the_norm_of_group_sums():
    x, p, y = _toy(300, 40, 3, seed=5)  # p = 3 x 41 = 123 parameters
    exact = influence_vectors(x, p, y, damping=0.1).astype(np.float64)
    projected = influence_vectors(x, p, y, damping=0.1, max_dim=100, projected_dim=512, seed=7)
    assert projected.shape == (300, 512)
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(20):
        group = rng.choice(300, size=30, replace=False)
        ratios.append(np.linalg.norm(projected[group].sum(axis=0)) / np.linalg.norm(exact[group].sum(axis=0)))
    assert 0.85 < min(ratios) and max(ratios) < 1.15
    np.testing.assert_array_equal(projected, influence_vectors(x, p, y, damping=0.1, max_dim=100, seed=7))


def test_relative_damping_makes_the_score_ranking_independent_of_feature_scale():
    x, p, y = _toy(30, 4, 2, seed=6)
    xv, pv, yv = _toy(10, 4, 2, seed=7)
    a = last_layer_influence(x, p, y, xv, pv, yv, damping=0.1)
    b = last_layer_influence(10 * x, p, y, 10 * xv, pv, yv, damping=0.1)
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_influence_refuses_zero_damping_logits_and_mismatched_heads():
    x, p, y = _toy(8, 2, 2, seed=8)
    with pytest.raises(ValueError, match="damping"):
        last_layer_influence(x, p, y, x, p, y, damping=0.0)
    with pytest.raises(ValueError, match="summing to 1"):
        influence_vectors(x, p * 3, y)
    with pytest.raises(ValueError, match="expected the same head"):
        last_layer_influence(x, p, y, np.ones((3, 5)), p[:3], y[:3])
    with pytest.raises(ValueError, match="class ids < 2"):
        influence_vectors(x, p, np.full(8, 2))


def loo_problem(n=120, h=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (3, h))
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.normal(0, 1.0, (n, h))
    flip = rng.random(n) < 0.1  # some label noise: harmful examples exist
    y = np.where(flip, (y + 1) % 3, y)
    yv = rng.integers(0, 3, 60)
    xv = centres[yv] + rng.normal(0, 1.0, (60, h))
    return x, y, xv, yv


def test_last_layer_influence_ranks_examples_like_exact_leave_one_out_retraining():
    # The convex ground truth: the L2-regularised head refit without each example. At the refit's own
    # probabilities with the same lambda as absolute damping, the influence score must order the
    # examples as exact LOO does (Koh & Liang 2017's approximation, first order in 1/n).
    from scipy.stats import spearmanr

    from prune_core.scores.loo import fit_head, head_probabilities, loo_validation_change

    x, y, xv, yv = loo_problem()
    l2 = 1e-2
    theta = fit_head(x, y, 3, l2)
    scores = last_layer_influence(
        x,
        head_probabilities(theta, x, 3),
        y,
        xv,
        head_probabilities(theta, xv, 3),
        yv,
        damping=l2,
        relative_damping=False,
    )
    examples = np.arange(0, 120, 2)
    truth = loo_validation_change(x, y, xv, yv, 3, l2, examples)
    assert spearmanr(scores[examples], truth).statistic > 0.95
    # and the scale: removing example i changes the validation loss by about score_i / n
    assert np.corrcoef(scores[examples] / 120, truth)[0, 1] > 0.95


def test_damping_agreement_reports_a_spearman_per_relative_damping():
    from prune_core.scores.loo import damping_agreement, fit_head, head_probabilities

    x, y, xv, yv = loo_problem(seed=1)
    theta = fit_head(x, y, 3, 1e-3)  # stands in for the fine-tuned head's probabilities
    agreement = damping_agreement(
        x,
        head_probabilities(theta, x, 3),
        y,
        xv,
        head_probabilities(theta, xv, 3),
        yv,
        (1e-3, 1.0),
        sample=40,
    )
    assert set(agreement) == {1e-3, 1.0}
    assert all(-1.0 <= rho <= 1.0 for rho in agreement.values())
    assert agreement[1e-3] > 0.9  # the head's own lambda: influence reproduces LOO
