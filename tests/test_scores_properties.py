"""Sanity properties every score must have, on a softmax-regression toy whose
training dynamics and per-example gradients are computed exactly, and with hypothesis where natural."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import softmax
from scipy.stats import rankdata, spearmanr

from prune_core.scores import (
    aum,
    datamap,
    el2n,
    forgetting_counts,
    grand,
    last_layer_influence,
    less,
    memorization,
    nan_to_min,
    random_scores,
    relevance_dot,
    tracin,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1024), st.integers(0, 1)), min_size=2, max_size=40))
def test_el2n_ranks_binary_examples_exactly_like_one_minus_gold_probability(rows):
    # Probabilities on a dyadic grid are exact in float64, so ties stay ties.
    p1 = np.array([k for k, _ in rows], dtype=np.float64) / 1024
    labels = np.array([y for _, y in rows])
    probs = np.column_stack([1 - p1, p1])
    p_gold = probs[np.arange(len(rows)), labels]
    np.testing.assert_array_equal(rankdata(el2n(probs, labels)), rankdata(1 - p_gold))


def _softmax_regression_run(n=5000, m=500, epochs=20, record=(5, 10, 15, 20), seed=0):
    """Full-batch gradient descent on a 2-D two-class mixture with 10% flipped labels; at each recorded
    epoch: train dynamics and exact per-example gradients (p - y) (x) [x, 1] of train and validation."""
    rng = np.random.default_rng(seed)

    def sample(k):
        y = rng.integers(0, 2, size=k)
        return rng.normal(size=(k, 2)) + np.where(y[:, None] == 1, 1.0, -1.0) * np.array([1.0, 0.3]), y

    x, y = sample(n)
    xv, yv = sample(m)
    flipped = rng.random(n) < 0.1
    y[flipped] ^= 1
    xt, xvt = (np.hstack([a, np.ones((len(a), 1))]) for a in (x, xv))
    theta = np.zeros((2, 3))
    run = {
        "x": x,
        "y": y,
        "xv": xv,
        "yv": yv,
        "flipped": flipped,
        "lrs": [],
        "p_gold": [],
        "loss": [],
        "margin": [],
        "correct": [],
        "grads": [],
        "val_grads": [],
        "grad_norm": [],
    }

    def gradients(a, labels):
        probs = softmax(a @ theta.T, axis=1)
        resid = probs.copy()
        resid[np.arange(len(labels)), labels] -= 1
        return probs, (resid[:, :, None] * a[:, None, :]).reshape(len(labels), -1)

    for epoch in range(1, epochs + 1):
        lr = 0.5 * (1 - (epoch - 1) / epochs)
        probs, grads = gradients(xt, y)
        theta -= lr * grads.mean(axis=0).reshape(theta.shape)
        if epoch in record:
            probs, grads = gradients(xt, y)
            probs_val, val_grads = gradients(xvt, yv)
            logits = xt @ theta.T
            gold = probs[np.arange(n), y]
            run["lrs"].append(lr)
            run["p_gold"].append(gold)
            run["loss"].append(-np.log(gold))
            run["margin"].append(logits[np.arange(n), y] - logits[np.arange(n), 1 - y])
            run["correct"].append(probs.argmax(axis=1) == y)
            run["grads"].append(grads.astype(np.float16))
            run["val_grads"].append(val_grads.astype(np.float16))
            run["grad_norm"].append(np.linalg.norm(grads, axis=1))
            run["probs"], run["probs_val"] = probs, probs_val
    for key in ("p_gold", "loss", "margin", "correct"):
        run[key] = np.array(run[key]).T
    return run


@pytest.fixture(scope="module")
def toy_run():
    return _softmax_regression_run()


def test_memorization_correlates_strongly_with_loss_and_ranks_flipped_labels_first(toy_run):
    mem = memorization(toy_run["grads"], toy_run["lrs"])
    weighted_loss = toy_run["loss"] @ np.array(toy_run["lrs"])
    assert spearmanr(mem, weighted_loss).statistic > 0.85
    top = np.argsort(-mem)[: len(mem) // 10]
    assert toy_run["flipped"][top].mean() > 0.5  # 10% of the data, but most of the top decile


def test_random_scores_are_uncorrelated_with_every_other_score(toy_run):
    r = toy_run
    scores = {
        "el2n": el2n(r["probs"], r["y"]),
        "grand": grand(r["grad_norm"]),
        "forgetting": forgetting_counts(r["correct"]),
        "aum": aum(r["margin"]),
        "memorization": memorization(r["grads"], r["lrs"]),
        "tracin": tracin(r["grads"], r["val_grads"], r["lrs"]),
        "less": less(r["grads"], r["val_grads"], r["lrs"]),
        "less_hs": relevance_dot([r["x"]], [r["xv"]], normalize=True),
        "influence": last_layer_influence(r["x"], r["probs"], r["y"], r["xv"], r["probs_val"], r["yv"]),
        "random_other_seed": random_scores(len(r["y"]), seed=1),
    }
    scores.update({k: v for k, v in datamap(r["p_gold"], r["correct"]).items() if k.startswith("datamap_")})
    baseline = random_scores(len(r["y"]), seed=0)
    for name, score in scores.items():
        assert np.unique(score).size > 1, name
        assert abs(spearmanr(baseline, score).statistic) < 0.1, name


def test_less_decorrelates_when_train_and_validation_use_different_projection_seeds():
    # "Gradients" with structure: a 100-dim latent subspace of R^2000 plus noise; validation gradients
    # share a mean direction in it, so the true LESS score varies a lot across training examples.
    rng = np.random.default_rng(0)
    raw_dim, latent, dim, n, m = 2000, 100, 512, 2000, 40
    basis = rng.normal(size=(raw_dim, latent)) / np.sqrt(latent)
    train = (rng.normal(size=(n, latent)) @ basis.T + 0.3 * rng.normal(size=(n, raw_dim))).astype(np.float32)
    target = rng.normal(size=latent)
    val = (
        (target + 0.5 * rng.normal(size=(m, latent))) @ basis.T + 0.3 * rng.normal(size=(m, raw_dim))
    ).astype(np.float32)

    def project(g, seed):  # seeded Gaussian JL matrix, stored as float16 like the backend does
        jl = np.random.default_rng(seed).normal(size=(raw_dim, dim)).astype(np.float32) / np.sqrt(dim)
        return (g @ jl).astype(np.float16)

    correct = less([train], [val], [1.0])
    for seed in range(3):
        matched = less([project(train, seed)], [project(val, seed)], [1.0])
        assert spearmanr(correct, matched).statistic > 0.85
    mismatched = [
        spearmanr(correct, less([project(train, s)], [project(val, s + 100)], [1.0])).statistic
        for s in range(5)
    ]
    assert max(np.abs(mismatched)) < 0.2 and np.mean(np.abs(mismatched)) < 0.1


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 12)), elements=st.integers(0, 1)))
def test_forgetting_counts_stay_below_half_the_epochs_and_never_learned_ranks_above_them(correct):
    counts = forgetting_counts(correct)
    n_epochs = correct.shape[1]
    learned = correct.any(axis=1)
    assert np.all(counts[learned] <= n_epochs // 2)
    assert np.all(counts[~learned] == n_epochs) and n_epochs > n_epochs // 2


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 50), elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6))))
def test_nan_to_min_keeps_finite_scores_and_moves_nan_to_the_minimum(scores):
    cleaned = nan_to_min(scores)
    finite = ~np.isnan(scores)
    assert not np.isnan(cleaned).any()
    np.testing.assert_array_equal(cleaned[finite], scores[finite])
    expected_fill = scores[finite].min() if finite.any() else 0.0
    assert np.all(cleaned[~finite] == expected_fill)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=12, max_size=12), st.floats(1e-6, 1e3))
def test_less_ignores_gradient_lengths_and_the_overall_learning_rate_scale(row_scales, lr_scale):
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(12, 5)) for _ in range(2)]
    val = [rng.normal(size=(4, 5)) for _ in range(2)]
    lrs = np.array([2e-5, 1e-5])
    rescaled = [t * np.array(row_scales)[:, None] for t in train]
    np.testing.assert_allclose(
        less(rescaled, val, lrs * lr_scale), less(train, val, lrs), rtol=1e-9, atol=1e-12
    )
