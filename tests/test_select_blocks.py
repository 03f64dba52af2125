"""Blocked, memory-mapped and approximate selector paths (issue 13, item 3).

Below the size thresholds the blocked rewrite must give the same bits as the old whole-array code
(re-stated here from the earlier implementation); above them the faiss paths must keep recall on data
with real neighbours, and no selector may hold a second n x d float32 array.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from prune_core.select import _ann
from prune_core.select._blocks import centre_in_place, private_copy, release
from prune_core.select._knn import nearest_neighbours
from prune_core.select._linalg import centred, squared_distance_to_rows, squared_norms
from prune_core.select._validate import as_features, l2_normalize
from prune_core.select.clustering import (
    _assign,
    _kmeans_plus_plus,
    _update,
    kmeans,
    semdedup_scores,
)
from prune_core.select.graph import knn_graph


def _features(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    x[3] = 0.0  # a zero row stays zero when normalised
    return x


def _planted(n_groups: int, per_group: int, d: int, seed: int = 0, spread: float = 0.05) -> np.ndarray:
    """Tight groups around random centres: every row's nearest neighbours are its own group."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_groups, 16)) @ rng.standard_normal((16, d))
    rows = np.repeat(centres, per_group, axis=0) + spread * rng.standard_normal((n_groups * per_group, d))
    return rows[rng.permutation(rows.shape[0])].astype(np.float32)


# --------------------------------------------------------------------------- identical to the old code
@pytest.mark.parametrize("normalize", [True, False])
def test_private_copy_equals_the_whole_array_normalise_and_centre(normalize):
    x = _features(5000, 48)
    old = centred(l2_normalize(x) if normalize else x)
    new = private_copy(x, normalize=normalize)
    centre_in_place(new)
    assert new.dtype == np.float32 and np.array_equal(old, new)
    rows = np.arange(7, 5000, 3)
    picked = private_copy(x, normalize=normalize, rows=rows)
    centre_in_place(picked)
    assert np.array_equal(picked, centred(l2_normalize(x[rows]) if normalize else x[rows]))


@pytest.mark.parametrize("normalize", [True, False])
def test_blocked_knn_graph_equals_the_whole_array_graph(normalize):
    x = _features(2500, 40)
    xc = centred(l2_normalize(x) if normalize else x)  # the old knn_graph: two whole-array copies
    old_idx, old_d2 = nearest_neighbours(xc, squared_norms(xc), 10, "float32")
    report: dict = {}
    idx, dist = knn_graph(x, 10, normalize=normalize, report=report)
    assert np.array_equal(idx, old_idx) and np.array_equal(dist, np.sqrt(old_d2))
    assert report == {"path": "exact (float32 screening)", "recall": 1.0}


@pytest.mark.parametrize("normalize", [True, False])
def test_blocked_kmeans_equals_the_whole_array_kmeans(normalize):
    x = _features(6000, 32, seed=1)
    xs = l2_normalize(x) if normalize else x  # the old kmeans, step by step
    mean = xs.mean(axis=0, dtype=np.float64).astype(np.float32)
    xc = xs - mean
    sq = squared_norms(xc)
    centres = _kmeans_plus_plus(xc, sq, 7, np.random.default_rng(3))
    previous = None
    for _ in range(20):
        labels, nearest = _assign(xc, sq, centres)
        if previous is not None and np.array_equal(labels, previous):
            break
        centres = _update(xc, labels, nearest, 7)
        previous = labels
    labels, _ = _assign(xc, sq, centres)
    distances = squared_distance_to_rows(xc, centres[labels])
    new_labels, new_centres, new_distances = kmeans(x, 7, seed=3, normalize=normalize)
    assert np.array_equal(new_labels, labels)
    assert np.array_equal(new_centres, centres + mean)
    assert np.array_equal(new_distances, distances)


def test_memory_mapped_features_give_the_same_graph_and_clusters(tmp_path):
    x = _features(3000, 64, seed=2)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert np.array_equal(knn_graph(mapped, 5)[0], knn_graph(x, 5)[0])
    assert np.array_equal(kmeans(mapped, 4, seed=0)[0], kmeans(x, 4, seed=0)[0])
    release(as_features(mapped, where="test"), slice(0, 3000))  # handing pages back keeps the data
    assert np.array_equal(np.asarray(mapped), x)


# --------------------------------------------------------------------------- above the thresholds
def test_approximate_knn_graph_keeps_recall_on_planted_neighbours():
    x = _planted(n_groups=400, per_group=12, d=256, seed=4)
    report: dict = {}
    idx, dist = knn_graph(x, 10, exact_max_n=1000, report=report)  # force the faiss path
    exact_idx, exact_dist = knn_graph(x, 10, precision="float32")
    recall = np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(idx, exact_idx)])
    assert report["path"] == "approximate (faiss)"
    assert recall >= 0.95 and report["recall"] >= 0.95
    assert abs(report["recall"] - recall) < 0.05  # the sampled recall estimates the real one
    assert np.all(np.diff(dist, axis=1) >= 0) and not np.any(idx == np.arange(len(x))[:, None])
    found = exact_idx[:, :, None] == idx[:, None, :]  # shared neighbours carry exact distances
    assert np.allclose(np.where(found.any(axis=2), exact_dist, 0), np.where(found.any(axis=2), exact_dist, 0))
    assert np.allclose(dist[:, 0], exact_dist[:, 0], atol=1e-5) or recall < 1.0


def test_sample_recall_counts_missing_neighbours():
    x = _planted(n_groups=50, per_group=8, d=32, seed=5)
    xc = centred(x)
    sq = squared_norms(xc)
    exact, _ = nearest_neighbours(xc, sq, 5, "float32")
    assert _ann.sample_recall(xc, sq, exact) >= 0.99  # float32 rounding may swap a near-tie at the m-th
    wrong = exact.copy()
    wrong[:, :2] = (exact[:, :2] + 200) % x.shape[0]  # two of five replaced by far rows
    assert _ann.sample_recall(xc, sq, wrong) == pytest.approx(0.6, abs=0.05)


def test_faiss_kmeans_above_the_threshold_recovers_planted_clusters():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 5, 4000)
    x = (10 * rng.standard_normal((5, 64)))[truth] + rng.standard_normal((4000, 64))
    labels, centres, distances = kmeans(x.astype(np.float32), 5, seed=0, exact_max_n=1000)
    pairs = {(int(a), int(b)) for a, b in zip(truth, labels)}
    assert len(pairs) == 5 and len({a for a, _ in pairs}) == 5 and len({b for _, b in pairs}) == 5
    assert np.allclose(distances, ((x - centres[labels]) ** 2).sum(axis=1), rtol=1e-3)


def test_semdedup_from_the_graph_agrees_on_planted_duplicates():
    x = _planted(n_groups=600, per_group=1, d=64, seed=7, spread=0.0)
    rng = np.random.default_rng(8)
    copies = x[:300] + 1e-3 * rng.standard_normal((300, 64)).astype(np.float32)  # 300 near-duplicates
    data = np.concatenate([x, copies])
    exact = semdedup_scores(data, n_clusters=4, seed=0)
    approx = semdedup_scores(data, n_clusters=4, seed=0, exact_max_n=100)
    flagged = np.flatnonzero(approx < -0.99)
    assert np.array_equal(flagged, np.flatnonzero(exact < -0.99)) and flagged.size == 300  # one per pair
    assert np.all(approx >= exact - 1e-6)  # it searches a subset of the farther members
    assert np.mean(np.isclose(approx, exact, atol=1e-5)) >= 0.8


def test_no_second_float32_copy_of_the_features():
    x = _features(8_000, 1024, seed=9)
    for call in (
        lambda: kmeans(x, 10, normalize=True),
        lambda: knn_graph(x, 10, exact_max_n=1000),
    ):
        tracemalloc.start()
        call()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 1.75 * x.nbytes, f"peak {peak / x.nbytes:.2f} copies of the features"
