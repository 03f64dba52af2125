"""Training-dynamics scores (EL2N, forgetting, AUM, data maps) and the shared NaN / random helpers,
checked on inputs small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.scores import (
    accumulated_probability_margin,
    aum,
    datamap,
    el2n,
    forgetting_counts,
    nan_to_min,
    random_scores,
)


def test_el2n_is_the_distance_between_the_softmax_and_the_one_hot_label():
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]], dtype=np.float32)
    # gold 0: (-0.3, 0.2, 0.1) -> sqrt(0.14); gold 2: (0.7, 0.2, -0.9) -> sqrt(1.34)
    np.testing.assert_allclose(el2n(probs, np.array([0, 2])), [np.sqrt(0.14), np.sqrt(1.34)], rtol=1e-6)


def test_el2n_averages_over_runs_as_paul_et_al():
    run_a = np.array([[1.0, 0.0], [0.5, 0.5]])
    run_b = np.array([[0.0, 1.0], [0.5, 0.5]])
    labels = np.array([0, 1])
    # example 0: 0 in run a, sqrt(2) in run b; example 1: sqrt(0.5) in both
    np.testing.assert_allclose(el2n([run_a, run_b], labels), [np.sqrt(2) / 2, np.sqrt(0.5)])


def test_el2n_rejects_logits_and_labels_out_of_range():
    with pytest.raises(ValueError, match="summing to 1"):
        el2n(np.array([[2.0, 1.5]]), np.array([0]))
    with pytest.raises(ValueError, match="class ids < 2"):
        el2n(np.array([[0.5, 0.5]]), np.array([2]))
    with pytest.raises(ValueError, match="expected 1 labels"):
        el2n(np.array([[0.5, 0.5]]), np.array([0, 1]))


def test_forgetting_counts_transitions_from_correct_to_wrong_and_never_learned_as_most_forgettable():
    correct = np.array([[1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=np.uint8)
    # 1->0 twice; never forgotten; never learned -> E = 4 > largest possible count floor(4/2) = 2
    np.testing.assert_array_equal(forgetting_counts(correct), [2.0, 0.0, 4.0])


def test_forgetting_counts_learning_late_is_not_forgetting_and_bool_input_works():
    correct = np.array([[False, False, True], [True, False, False], [False, True, False]])
    np.testing.assert_array_equal(forgetting_counts(correct), [0.0, 1.0, 1.0])


def test_forgetting_counts_accepts_a_custom_never_learned_value_above_the_maximum_only():
    correct = np.array([[0, 0, 0, 0], [1, 0, 1, 0]])
    np.testing.assert_array_equal(forgetting_counts(correct, never_learned=1000), [1000.0, 2.0])
    with pytest.raises(ValueError, match="largest possible count 2"):
        forgetting_counts(correct, never_learned=2)
    with pytest.raises(ValueError, match="0/1"):
        forgetting_counts(np.array([[0.0, 0.5]]))


def test_aum_score_is_minus_the_mean_margin_so_low_margin_examples_are_kept():
    margin = np.array([[1.0, 3.0], [-2.0, 0.0], [0.5, np.nan]])
    # means 2, -1 and 0.5 (the missing epoch is skipped) -> scores -2, 1, -0.5
    np.testing.assert_allclose(aum(margin), [-2.0, 1.0, -0.5])


def test_datamap_on_a_two_epoch_toy():
    p_gold = np.array([[0.2, 0.8], [0.9, 0.9], [0.1, 0.3]], dtype=np.float32)
    correct = np.array([[0, 1], [1, 1], [0, 0]])
    dm = datamap(p_gold, correct)
    np.testing.assert_allclose(dm["confidence"], [0.5, 0.9, 0.2], rtol=1e-6)
    np.testing.assert_allclose(dm["variability"], [0.3, 0.0, 0.1], rtol=1e-6, atol=1e-7)  # ddof = 0
    np.testing.assert_allclose(dm["correctness"], [0.5, 1.0, 0.0])
    np.testing.assert_allclose(dm["datamap_hard"], [0.5, 0.1, 0.8], rtol=1e-6)
    np.testing.assert_allclose(dm["datamap_easy"], dm["confidence"])
    np.testing.assert_allclose(dm["datamap_ambiguous"], dm["variability"])


def test_datamap_without_correctness_counts_epochs_with_gold_probability_above_half():
    dm = datamap(np.array([[0.6, 0.4, 0.9, 0.5]]))
    assert dm["correctness"][0] == pytest.approx(0.5)


def test_datamap_keeps_raw_coordinates_nan_but_scores_an_all_missing_example_lowest():
    p_gold = np.array([[0.2, 0.4], [np.nan, np.nan], [0.9, np.nan]])
    dm = datamap(p_gold)
    assert np.isnan(dm["confidence"][1]) and np.isnan(dm["variability"][1])
    assert dm["confidence"][2] == pytest.approx(0.9) and dm["variability"][2] == 0.0
    # hard = 1 - confidence = (0.7, NaN, 0.1): the NaN becomes the minimum 0.1
    np.testing.assert_allclose(dm["datamap_hard"], [0.7, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        datamap(p_gold, np.ones((3, 3)))


def test_nan_to_min_replaces_nan_by_the_smallest_finite_score():
    np.testing.assert_array_equal(
        nan_to_min(np.array([3.0, np.nan, -1.0, np.inf])), [3.0, -1.0, -1.0, np.inf]
    )
    np.testing.assert_array_equal(nan_to_min(np.array([np.nan, np.nan])), [0.0, 0.0])
    assert nan_to_min(np.array([1, 2], dtype=np.int64)).dtype == np.float64
    with pytest.raises(ValueError, match="1-D"):
        nan_to_min(np.zeros((2, 2)))


def test_random_scores_are_uniform_and_reproducible_per_seed():
    a, b, c = random_scores(20_000, seed=3), random_scores(20_000, seed=3), random_scores(20_000, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.01 and abs(np.median(a) - 0.5) < 0.01
    with pytest.raises(ValueError, match="n >= 0"):
        random_scores(-1)


def test_dynamics_scores_need_at_least_one_epoch():
    with pytest.raises(ValueError, match="at least one epoch"):
        forgetting_counts(np.zeros((3, 0), dtype=bool))
    with pytest.raises(ValueError, match="at least one epoch"):
        datamap(np.zeros((3, 0)))


def test_ccs_accumulated_margin_uses_probabilities_and_can_reverse_the_logit_order():
    # Three classes. E: logits [3, 2, 2] -> logit margin 1.0, probabilities .576/.212 -> margin .364.
    # F: logits [0.9, 0, -10] -> logit margin 0.9, probabilities .711/.289 -> margin .422.
    # By logits E is easier; by probabilities (CCS's accumulated_margin) F is.
    logits = np.array([[3.0, 2.0, 2.0], [0.9, 0.0, -10.0]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prob_margin = (p[:, 0] - np.sort(p[:, 1:], axis=1)[:, -1])[:, None].repeat(2, axis=1)  # two epochs
    logit_margin = (logits[:, 0] - logits[:, 1:].max(axis=1))[:, None].repeat(2, axis=1)
    np.testing.assert_allclose(prob_margin[:, 0], [0.3641, 0.4223], atol=1e-3)
    difficulty = accumulated_probability_margin(prob_margin)
    np.testing.assert_allclose(difficulty, -2 * prob_margin[:, 0])  # summed over the two epochs
    assert difficulty[0] > difficulty[1]  # E is the harder one by probability margin
    assert aum(logit_margin)[0] < aum(logit_margin)[1]  # ... and the easier one by logit margin
