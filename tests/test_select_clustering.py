"""k-means, prototypicality, SemDeDup and S2L on small hand-checkable point sets."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.select import kmeans, prototypicality_scores, s2l, semdedup_scores, top_k
from prune_core.select._validate import l2_normalize


def blobs(sizes, spread=0.5, seed=0):
    """Well separated 2-D blobs, centres 100 apart, with the given sizes; returns (points, blob id)."""
    rng = np.random.default_rng(seed)
    points = [
        np.array([100.0 * i, 0.0]) + spread * rng.standard_normal((size, 2)) for i, size in enumerate(sizes)
    ]
    return np.vstack(points), np.repeat(np.arange(len(sizes)), sizes)


def same_partition(a, b):
    return len(set(zip(a.tolist(), b.tolist()))) == len(set(a.tolist())) == len(set(b.tolist()))


def test_kmeans_recovers_separated_blobs_and_reports_squared_distances():
    points, truth = blobs([30, 20, 10])
    labels, centroids, distances = kmeans(points, 3, seed=0)
    assert same_partition(labels, truth)
    assert np.allclose(distances, ((points - centroids[labels]) ** 2).sum(axis=1), rtol=1e-4, atol=1e-4)
    for c in range(3):
        assert np.allclose(centroids[c], points[labels == c].mean(axis=0), atol=1e-3)


def test_kmeans_is_deterministic_per_seed():
    points, _ = blobs([15, 15, 15], spread=40.0)
    first = kmeans(points, 4, seed=7)
    again = kmeans(points, 4, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_kmeans_clips_k_to_n_and_handles_identical_rows():
    labels, centroids, distances = kmeans(np.ones((3, 4)), 10, seed=0)
    assert centroids.shape == (3, 4)
    assert len(set(labels.tolist())) == 1 and np.all(distances == 0)
    labels, centroids, _ = kmeans(np.array([[1.0, 2.0]]), 5)
    assert labels.tolist() == [0] and centroids.shape == (1, 2)


def test_prototypicality_scores_are_squared_distances_to_the_nearest_centroid():
    points = np.array([[0.0, 0.0], [0.0, 2.0], [100.0, 0.0], [100.0, 4.0]])
    hard = prototypicality_scores(points, n_clusters=2, normalize=False)
    assert np.allclose(hard, [1.0, 1.0, 4.0, 4.0])
    easy = prototypicality_scores(points, n_clusters=2, normalize=False, keep="easy")
    assert np.allclose(easy, -hard)


def test_semdedup_keeps_only_the_copy_farthest_from_its_centroid():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 16))
    copies = base[0] + 1e-4 * rng.standard_normal((5, 16))  # a point duplicated 5 times
    features = np.vstack([base[1:], copies])
    copy_rows = np.arange(39, 44)
    scores = semdedup_scores(features, n_clusters=3, seed=0)

    labels, _, distances = kmeans(l2_normalize(features.astype(np.float32)), 3, seed=0)
    assert len(set(labels[copy_rows].tolist())) == 1
    farthest = copy_rows[np.argmax(distances[copy_rows])]
    others = [r for r in copy_rows if r != farthest]
    assert np.all(scores[others] < -0.999)  # near-identical to a farther copy
    assert scores[farthest] > -0.9  # no farther copy: only ordinary neighbours
    ranking = top_k(scores, scores.shape[0])
    assert set(ranking[-4:].tolist()) == set(others)  # pruned first at any budget


def test_semdedup_gives_a_one_member_cluster_the_top_score_zero():
    features = np.array([[1.0, 0.0], [0.99, 0.1], [-1.0, 0.0]])
    scores = semdedup_scores(features, n_clusters=2, seed=0)
    assert scores[2] == 0.0 and scores.max() == 0.0


def test_s2l_official_splits_the_budget_equally_over_large_clusters():
    points, truth = blobs([30, 20, 10, 2, 1])
    labels, _, _ = kmeans(points, 5, seed=0)
    assert same_partition(labels, truth)
    kept = s2l(points, 20, n_clusters=5, seed=0)
    # ascending sizes 10, 20, 30 get min(10, 20 // 3) = 6, then 14 // 2 = 7, then 7
    assert len(set(kept.tolist())) == 20
    assert np.bincount(truth[kept], minlength=5).tolist() == [7, 7, 6, 0, 0]


def test_s2l_official_fills_the_leftover_from_clusters_of_size_two_or_less():
    points, truth = blobs([5, 4, 2, 1])
    kept = s2l(points, 11, n_clusters=4, seed=0)
    counts = np.bincount(truth[kept], minlength=4)
    assert len(set(kept.tolist())) == 11
    assert counts[:2].tolist() == [5, 4] and counts[2:].sum() == 2


def test_s2l_du_variant_visits_largest_first_and_may_return_fewer_than_k():
    points, truth = blobs([30, 20, 10, 2, 1])
    kept = s2l(points, 40, n_clusters=5, seed=0, variant="du")
    # largest first: 40 // 5 = 8, 32 // 4 = 8, 24 // 3 = 8, min(2, 16 // 2), min(1, 14) -> 27 in all
    assert np.bincount(truth[kept], minlength=5).tolist() == [8, 8, 8, 2, 1]
    assert len(kept) == 27


def test_s2l_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="variant 'official' or 'du'"):
        s2l(np.zeros((4, 2)), 2, variant="fast")
