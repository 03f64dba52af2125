"""Gradient scores (GraNd, memorisation, TracIn, LESS, relevance dot) on hand-checkable inputs, and
against brute-force n x m formulas the implementation deliberately avoids."""

from __future__ import annotations

import numpy as np
import pytest

import prune_core.scores.arrays as arrays
from prune_core.scores import grand, less, memorization, relevance_dot, reverse_less, tracin

SQ = 1 / np.sqrt(2)


def test_grand_is_the_mean_gradient_norm_over_checkpoints():
    np.testing.assert_allclose(grand([np.array([1.0, 4.0]), np.array([3.0, 0.0])]), [2.0, 2.0])
    np.testing.assert_allclose(grand(np.array([0.5, 1.5], dtype=np.float16)), [0.5, 1.5])
    with pytest.raises(ValueError, match=">= 0"):
        grand(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"expected shape \(2,\)"):
        grand([np.ones(2), np.ones(3)])


def test_memorization_is_the_lr_weighted_squared_gradient_norm():
    g1 = np.array([[3.0, 4.0], [1.0, 0.0]], dtype=np.float16)
    g2 = np.array([[0.0, 1.0], [0.0, 2.0]], dtype=np.float16)
    # example 0: 2 * 25 + 10 * 1 = 60; example 1: 2 * 1 + 10 * 4 = 42
    np.testing.assert_allclose(memorization([g1, g2], [2.0, 10.0]), [60.0, 42.0])
    with pytest.raises(ValueError, match="expected 2 values"):
        memorization([g1, g2], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        memorization([g1], [-1.0])


def test_tracin_scores_each_example_by_its_dot_with_the_summed_validation_gradient():
    train = np.array([[1.0, 0.0], [0.0, 1.0]])
    val = np.array([[1.0, 1.0], [2.0, -1.0]])  # sums to (3, 0)
    np.testing.assert_allclose(tracin([train], [val], [0.5]), [1.5, 0.0])


def test_tracin_equals_the_brute_force_train_by_validation_sum():
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(30, 8)).astype(np.float16) for _ in range(3)]
    val = [rng.normal(size=(7, 8)).astype(np.float16) for _ in range(3)]
    lrs = [1e-4, 5e-5, 1e-5]
    brute = sum(
        lr * (t.astype(np.float64) @ v.astype(np.float64).T).sum(axis=1) for t, v, lr in zip(train, val, lrs)
    )
    np.testing.assert_allclose(tracin(train, val, lrs), brute, rtol=1e-10, atol=1e-12)


def test_less_takes_the_max_over_validation_groups_of_the_mean_cosine():
    # Orthogonal train gradients of different lengths: normalised they are e1, e2, e3.
    train = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    val = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    groups = np.array(["a", "a", "b"])
    # group a's mean unit vector: ((SQ + 1) / 2, SQ / 2, 0); group b's: (0, 0, 1)
    expected = [(SQ + 1) / 2, SQ / 2, 1.0]
    np.testing.assert_allclose(less([train], [val], [1e-5], val_groups=groups), expected)
    # one group: the mean cosine to all three validation examples
    np.testing.assert_allclose(less([train], [val], [1e-5]), [(SQ + 1) / 3, SQ / 3, 1 / 3])


def test_less_weights_checkpoints_by_learning_rates_renormalised_to_sum_one():
    train = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    val_1 = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    val_2 = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    groups = np.array([0, 0, 1])
    # weights 0.75 / 0.25. Example 0: group 0 -> 0.75 (SQ+1)/2, group 1 -> 0.25. Example 1: group 0 ->
    # 0.75 SQ/2 + 0.25. Example 2: group 1 -> 0.75.
    expected = [0.75 * (SQ + 1) / 2, 0.75 * SQ / 2 + 0.25, 0.75]
    scores = less([train, train], [val_1, val_2], [3.0, 1.0], val_groups=groups)
    np.testing.assert_allclose(scores, expected)
    rescaled = less([train, train], [val_1, val_2], [3e-4, 1e-4], val_groups=groups)
    np.testing.assert_allclose(rescaled, expected)
    np.testing.assert_allclose(
        reverse_less([train, train], [val_1, val_2], [3.0, 1.0], val_groups=groups), -np.array(expected)
    )


def test_less_equals_the_brute_force_cosine_matrix_formula():
    rng = np.random.default_rng(1)
    train = [rng.normal(size=(25, 6)) for _ in range(2)]
    val = [rng.normal(size=(9, 6)) for _ in range(2)]
    train[0][3] = train[1][3] = 0.0  # a zero gradient scores 0, not NaN
    groups = rng.integers(0, 3, size=9)
    lrs = np.array([2.0, 1.0])
    w = lrs / lrs.sum()

    def unit(m):
        n = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(n == 0, 1, n)

    cos = sum(wc * unit(t) @ unit(v).T for wc, t, v in zip(w, train, val))  # [n, m]
    brute = np.max([cos[:, groups == g].mean(axis=1) for g in np.unique(groups)], axis=0)
    scores = less(train, val, lrs, val_groups=groups)
    np.testing.assert_allclose(scores, brute, rtol=1e-10, atol=1e-12)
    assert scores[3] == 0.0


def test_less_without_normalisation_uses_raw_dot_products_with_the_group_mean():
    train = np.array([[2.0, 0.0], [0.0, 3.0]])
    val = np.array([[1.0, 1.0], [3.0, 1.0]])  # mean (2, 1)
    np.testing.assert_allclose(less([train], [val], [1.0], normalize=False), [4.0, 3.0])


def test_less_refuses_mismatched_projections_and_bad_groups():
    with pytest.raises(ValueError, match="same projection"):
        less([np.ones((3, 4))], [np.ones((2, 5))], [1.0])
    with pytest.raises(ValueError, match="one validation matrix per training checkpoint"):
        less([np.ones((3, 4)), np.ones((3, 4))], [np.ones((2, 4))], [1.0, 1.0])
    with pytest.raises(ValueError, match="one group per validation example"):
        less([np.ones((3, 4))], [np.ones((2, 4))], [1.0], val_groups=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="positive total learning rate"):
        less([np.ones((3, 4))], [np.ones((2, 4))], [0.0])


def test_relevance_dot_on_loss_trajectories_is_less_tl():
    train_losses = np.array([[1.0, 0.5, 0.2], [0.1, 0.1, 0.1]])
    val_losses = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])  # sums to (2, 2, 2)
    np.testing.assert_allclose(relevance_dot([train_losses], [val_losses]), [3.4, 0.6])
    np.testing.assert_allclose(relevance_dot(train_losses, val_losses, weights=[0.5]), [1.7, 0.3])


def test_relevance_dot_normalised_is_the_sum_of_cosines_of_hidden_states():
    hidden = np.array([[3.0, 0.0], [1.0, 1.0]])
    val_hidden = np.array([[0.0, 2.0], [5.0, 0.0]])
    np.testing.assert_allclose(relevance_dot([hidden], [val_hidden], normalize=True), [1.0, 2 * SQ])


def test_scores_are_the_same_when_matrices_are_walked_in_tiny_row_blocks(monkeypatch):
    rng = np.random.default_rng(2)
    train = [rng.normal(size=(41, 5)).astype(np.float16) for _ in range(2)]
    val = [rng.normal(size=(13, 5)).astype(np.float16) for _ in range(2)]
    groups = rng.integers(0, 2, size=13)
    lrs = [1.0, 0.5]
    whole = [
        memorization(train, lrs),
        tracin(train, val, lrs),
        less(train, val, lrs, val_groups=groups),
        relevance_dot(train, val, normalize=True),
    ]
    monkeypatch.setattr(arrays, "BLOCK_ELEMENTS", 7)  # a block of one row
    blocked = [
        memorization(train, lrs),
        tracin(train, val, lrs),
        less(train, val, lrs, val_groups=groups),
        relevance_dot(train, val, normalize=True),
    ]
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_gradient_scores_accept_a_stacked_checkpoint_array_and_memory_maps(tmp_path):
    rng = np.random.default_rng(3)
    stacked = rng.normal(size=(2, 10, 4)).astype(np.float16)
    path = tmp_path / "grads.npy"
    np.save(path, stacked[0], allow_pickle=False)
    mapped = np.load(path, mmap_mode="r")
    np.testing.assert_allclose(
        memorization(stacked, [1.0, 1.0]), memorization([stacked[0], stacked[1]], [1.0, 1.0])
    )
    np.testing.assert_allclose(memorization(mapped, [1.0]), memorization([stacked[0]], [1.0]))


def test_gradient_representation_sums_raw_lr_weighted_gradients_then_normalises():
    # Two checkpoints: g1 = (3, 0) at lr 2, g2 = (0, 1) at lr 1. Du et al.: 2 (3, 0) + 1 (0, 1) = (6, 1),
    # normalised (0.986, 0.164). Normalising each checkpoint first would give (2/3, 1/3) -> (0.894, 0.447).
    from prune_core.methods.inputs import lr_weighted_sum

    out = lr_weighted_sum([np.array([[3.0, 0.0]]), np.array([[0.0, 1.0]])], [2.0, 1.0])
    np.testing.assert_allclose(out[0], np.array([6.0, 1.0]) / np.sqrt(37.0), rtol=1e-6)
