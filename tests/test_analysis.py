"""The dashboard's numbers: correlations against scipy, set overlaps and UpSet intersections on hand
sets, label balance and total variation, per-example ranks with ties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from prune_core.analysis import (
    example_profile,
    example_ranks,
    jaccard_matrix,
    label_balance_table,
    label_distribution,
    label_histogram,
    largest_intersections,
    overlap_matrix,
    score_correlations,
    total_variation,
)


@pytest.fixture
def score_table():
    rng = np.random.default_rng(0)
    n = 400
    base = rng.normal(size=n)
    table = pd.DataFrame(
        {
            "el2n": base + 0.5 * rng.normal(size=n),
            "forgetting": rng.integers(0, 3, size=n).astype(float),  # heavy ties
            "less": -base + rng.normal(size=n),
            "random": rng.random(n),
        },
        index=[f"uid{i}" for i in range(n)],
    )
    table.iloc[[3, 10], 2] = np.nan
    return table


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall"])
def test_score_correlations_match_scipy_pair_by_pair_after_nan_to_min(score_table, method):
    corr = score_correlations(score_table, method=method)
    filled = score_table.fillna(score_table.min())
    scipy_fn = {"spearman": stats.spearmanr, "pearson": stats.pearsonr, "kendall": stats.kendalltau}[method]
    assert list(corr.index) == list(corr.columns) == list(score_table.columns)
    for a in score_table.columns:
        for b in score_table.columns:
            expected = 1.0 if a == b else scipy_fn(filled[a], filled[b]).statistic
            assert corr.loc[a, b] == pytest.approx(expected, abs=1e-12), (a, b)


def test_a_constant_score_correlates_with_nothing():
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "flat": [0.0, 0.0, 0.0]})
    for method in ("spearman", "pearson", "kendall"):
        corr = score_correlations(table, method=method)
        assert corr.loc["a", "a"] == 1.0
        assert np.isnan(corr.loc["a", "flat"]) and np.isnan(corr.loc["flat", "flat"])


def test_score_correlations_reject_unknown_methods_and_text_columns():
    with pytest.raises(ValueError, match="spearman"):
        score_correlations(pd.DataFrame({"a": [1.0, 2.0]}), method="cosine")
    with pytest.raises(TypeError, match="'label'"):
        score_correlations(pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "y"]}))


def test_jaccard_and_overlap_on_hand_sets():
    selections = {"A": {1, 2, 3}, "B": np.array([2, 3, 4, 4]), "C": set()}
    jac = jaccard_matrix(selections)
    assert jac.loc["A", "B"] == pytest.approx(2 / 4) and jac.loc["A", "A"] == 1.0
    assert jac.loc["A", "C"] == 0.0 and np.isnan(jac.loc["C", "C"])
    ov = overlap_matrix(selections)
    assert ov.loc["A", "B"] == pytest.approx(2 / 3) and np.isnan(ov.loc["A", "C"])
    assert overlap_matrix(selections, k=4).loc["A", "B"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive count"):
        overlap_matrix(selections, k=0)


def test_overlap_works_on_string_uids():
    selections = {"less": ["u1", "u2", "u3", "u4"], "memorization": ["u3", "u4", "u5", "u6"]}
    assert overlap_matrix(selections).loc["less", "memorization"] == pytest.approx(0.5)
    assert jaccard_matrix(selections).loc["memorization", "less"] == pytest.approx(2 / 6)


def test_largest_intersections_count_examples_kept_by_exactly_that_combination():
    selections = {"A": {1, 2, 3, 4}, "B": {3, 4, 5}, "C": {4, 5, 6, 7}}
    table = largest_intersections(selections, top=None)
    # 1, 2 only A; 6, 7 only C; 3 in A & B; 5 in B & C; 4 in all three
    assert table["label"].tolist() == ["A", "C", "A & B", "B & C", "A & B & C"]
    assert table["size"].tolist() == [2, 2, 1, 1, 1]
    assert table["methods"].iloc[2] == ("A", "B") and table["order"].tolist() == [1, 1, 2, 2, 3]
    assert largest_intersections(selections, max_order=2, top=None)["label"].tolist()[-1] == "B & C"
    assert len(largest_intersections(selections, top=2)) == 2


def test_label_histogram_distribution_and_total_variation():
    np.testing.assert_array_equal(label_histogram([0, 2, 2, 2], 4), [1, 0, 3, 0])
    np.testing.assert_allclose(label_distribution([0, 2, 2, 2], 3), [0.25, 0.0, 0.75])
    assert np.isnan(label_distribution([], 2)).all()
    assert total_variation([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4)
    assert total_variation([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not counts"):
        total_variation([3, 1], [2, 2])
    with pytest.raises(ValueError, match="class ids < 2"):
        label_histogram([0, 2], 2)


def test_label_balance_table_reports_size_counts_shares_and_distance_from_the_full_data():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # full data: 50 / 50
    selections = {
        "less": np.array([0, 1, 2, 4]),
        "balanced": np.array([0, 1, 4, 5]),
        "mask": np.array([True] * 3 + [False] * 5),
    }
    table = label_balance_table(selections, labels, ["non-toxic", "toxic"], include_full=True)
    assert list(table.index) == ["(full data)", "less", "balanced", "mask"]
    assert table.loc["less", "size"] == 4 and table.loc["less", "count_non-toxic"] == 3
    assert table.loc["less", "share_toxic"] == pytest.approx(0.25)
    assert table.loc["less", "tv_from_full"] == pytest.approx(0.25)
    assert table.loc["balanced", "tv_from_full"] == 0.0 and table.loc["(full data)", "tv_from_full"] == 0.0
    assert table.loc["mask", "tv_from_full"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        label_balance_table({"bad": [9]}, labels, ["non-toxic", "toxic"])


def test_example_ranks_put_the_highest_score_first_and_average_ties():
    scores = pd.DataFrame(
        {"a": [3.0, 1.0, 1.0, 2.0], "b": [np.nan, 5.0, 4.0, 4.0]}, index=["w", "x", "y", "z"]
    )
    ranks = example_ranks(scores)
    np.testing.assert_allclose(ranks["rank"]["a"], [1.0, 3.5, 3.5, 2.0])
    np.testing.assert_allclose(ranks["percentile"]["a"], [100.0, 37.5, 37.5, 75.0])
    np.testing.assert_allclose(ranks["rank"]["b"], [3.0, 1.0, 3.0, 3.0])  # NaN -> min 4, tied with y and z
    assert list(ranks.index) == ["w", "x", "y", "z"]


def test_example_profile_agrees_with_example_ranks_and_shows_the_stored_score(score_table):
    ranks = example_ranks(score_table)
    for uid in ("uid0", "uid3", "uid77"):
        profile = example_profile(score_table, uid)
        assert list(profile.index) == list(score_table.columns)
        np.testing.assert_allclose(profile["rank"], ranks.loc[uid, "rank"].to_numpy())
        np.testing.assert_allclose(profile["percentile"], ranks.loc[uid, "percentile"].to_numpy())
    assert np.isnan(example_profile(score_table, "uid3").loc["less", "score"])
    with pytest.raises(KeyError, match="not in the score table"):
        example_profile(score_table, "missing")
