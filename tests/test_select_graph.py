"""k-NN graph, D2 message passing and k-center greedy against brute force on tiny inputs."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prune_core.select import d2, k_center_greedy, knn_graph
from prune_core.select.graph import d2_order, symmetric_graph


def brute_force_neighbours(points, m):
    dist = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(points)), dist.shape), dist), axis=1)[:, :m]
    return order, np.take_along_axis(dist, order, axis=1)


def test_knn_graph_matches_brute_force_and_excludes_the_point_itself():
    points = np.random.default_rng(0).standard_normal((60, 5))
    indices, distances = knn_graph(points, 4, normalize=False, precision="float32")
    expected_idx, expected_dist = brute_force_neighbours(points, 4)
    assert np.array_equal(indices, expected_idx)
    assert np.allclose(distances, expected_dist, atol=1e-4)
    assert not np.any(indices == np.arange(60)[:, None])


def test_knn_graph_normalises_rows_by_default():
    points = np.array([[1.0, 0.0], [10.0, 0.5], [0.0, 3.0]])
    indices, distances = knn_graph(points, 1)
    assert indices[:, 0].tolist() == [1, 0, 1]
    assert np.isclose(
        distances[0, 0], np.linalg.norm([1.0, 0.0] - np.array([10.0, 0.5]) / np.hypot(10, 0.5)), atol=1e-5
    )


def test_knn_graph_bfloat16_screen_agrees_with_float32():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((1500, 48)) + 3.0 * rng.standard_normal((1500, 1))
    exact_idx, exact_dist = knn_graph(points, 8, precision="float32")
    fast_idx, fast_dist = knn_graph(points, 8, precision="bfloat16")
    agreement = np.mean([len(set(a) & set(b)) / 8 for a, b in zip(exact_idx, fast_idx)])
    assert agreement > 0.995
    assert np.allclose(np.sort(fast_dist, axis=1), np.sort(exact_dist, axis=1), rtol=1e-2)


def test_knn_graph_of_one_point_has_no_neighbours():
    indices, distances = knn_graph(np.ones((1, 3)), 5)
    assert indices.shape == (1, 0) and distances.shape == (1, 0)


def test_d2_spreads_difficulty_then_damps_the_neighbours_of_each_pick():
    # Two near-duplicates (0, 1) with high difficulty, then 2 and 3 far away.
    features = np.array([[0.0], [0.1], [5.0], [10.0]])
    scores = np.array([1.0, 1.0, 0.5, 0.2])
    order = d2(scores, features, 4, n_neighbors=1, normalize=False, precision="float32")
    # forward: s' = 1.905, 1.905, 0.507, 0.203; picking 0 (or 1) cuts its twin to 0.181 < 0.203.
    assert order[0] in (0, 1)
    assert order[1:].tolist() == [2, 3, 1 - order[0]]


def test_d2_accepts_a_precomputed_graph_and_negative_scores():
    features = np.random.default_rng(2).standard_normal((30, 4))
    scores = np.random.default_rng(3).standard_normal(30)
    graph = knn_graph(features, 5)
    assert d2(scores, None, 7, graph=graph).tolist() == d2(scores, features, 7, n_neighbors=5).tolist()
    assert d2(scores - 10.0, features, 7).tolist() == d2(scores, features, 7).tolist()  # shift-invariant


def radius(points, centres):
    return np.max(np.min(np.linalg.norm(points[:, None] - points[None, centres], axis=2), axis=1))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(0, 10_000), st.data())
def test_k_center_greedy_is_within_twice_the_optimal_radius(n, seed, data):
    points = np.random.default_rng(seed).standard_normal((n, 2))
    k = data.draw(st.integers(1, n))
    chosen = k_center_greedy(points, k, seed=seed)
    optimum = min(radius(points, list(c)) for c in itertools.combinations(range(n), k))
    assert len(set(chosen.tolist())) == k
    assert radius(points, chosen) <= 2 * optimum + 1e-6


def test_k_center_greedy_adds_the_farthest_point_each_time():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [4.0, 0.0], [7.0, 0.0]])
    order = k_center_greedy(points, 5, seed=0)
    first = order[0]
    dist = np.abs(points[:, 0] - points[first, 0])
    assert order[1] == int(np.argmax(dist))
    # small batches force several recomputations and must not change the choices
    assert k_center_greedy(points, 5, seed=0, batch=1).tolist() == order.tolist()


# Six points on a line (n_neighbors = 1, raw distances): H = 0 is the nearest neighbour of both L = -1
# and R = 1 but lists only L itself (tie at distance 1 -> lower index); P, Q = 10, 10.5 are a pair and
# X = 20 lists Q. Scores: H .5, L .1, R .1, P .35, Q .35, X .1.
SIX = np.array([[0.0], [-1.0], [1.0], [10.0], [10.5], [20.0]])
SIX_SCORES = np.array([0.5, 0.1, 0.1, 0.35, 0.35, 0.1])


def test_d2_graph_is_symmetric_so_a_hub_gets_every_message_and_is_picked_first():
    # Symmetric graph: H ~ {L, R}: s'_H = .5 + e^-1 (.1 + .1) = .574 > s'_P = .35 + e^-.5 .35 = .562.
    # H's own k-NN list alone ({L}) would give .5 + e^-1 .1 = .537 < .562, and P or Q would come first.
    order = d2(SIX_SCORES, SIX, 6, n_neighbors=1, normalize=False, precision="float32")
    assert order[0] == 0
    indptr, neighbours, _ = symmetric_graph(*knn_graph(SIX, 1, normalize=False, precision="float32"))
    assert sorted(neighbours[indptr[0] : indptr[1]].tolist()) == [1, 2]
    assert neighbours[indptr[4] : indptr[5]].tolist() == [3, 5]  # Q hears from P and from X


def test_d2_reverse_damping_reaches_the_neighbours_that_list_the_pick():
    # After H is picked, R (which lists H, but H does not list R) is damped as much as L:
    # both drop from .1 + e^-1 .5 = .284 to .284 - e^-1 .574 = .073 and come last (X keeps .1 + tiny).
    order = d2(SIX_SCORES, SIX, 6, n_neighbors=1, normalize=False, precision="float32")
    assert set(order[-2:].tolist()) == {1, 2}


def test_d2_hard_cut_removes_the_hardest_before_the_graph_and_shrinks_to_meet_k():
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.9, 1.0])
    features = np.random.default_rng(0).standard_normal((6, 3))
    kept = d2(scores, features, 3, n_neighbors=2, hard_cut=0.4)  # floor(0.4 * 6) = 2 hardest leave
    assert not {4, 5} & set(kept.tolist()) and len(kept) == 3
    assert sorted(d2(scores, features, 5, n_neighbors=2, hard_cut=0.4).tolist()) == [0, 1, 2, 3, 4]
    order = d2_order(scores, features, hard_cut=0.4, n_neighbors=2)
    assert order[-2:].tolist() == [4, 5]  # the cut examples last, least hard first
    for k in range(1, 5):
        assert order[:k].tolist() == d2(scores, features, k, n_neighbors=2, hard_cut=0.4).tolist()


def test_d2_per_group_keeps_each_groups_share():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((40, 4))
    scores = rng.uniform(size=40)
    groups = np.array([0] * 30 + [1] * 10)
    kept = d2(scores, features, 8, n_neighbors=3, groups=groups)
    assert np.bincount(groups[kept]).tolist() == [6, 2]
