"""Facility location (lazy greedy = plain greedy), its k-NN sparsified form, and CRAIG weights."""

from __future__ import annotations

import numpy as np

from prune_core.select import craig_weights, facility_location, knn_graph
from prune_core.select._validate import tie_break_rank
from prune_core.select.submodular import craig


def plain_greedy(points, k, seed):
    dist = np.linalg.norm(points[:, None] - points[None, :], axis=2)
    sim = dist.max() - dist
    rank = tie_break_rank(len(points), seed)
    cover, chosen = np.zeros(len(points)), []
    for _ in range(k):
        gains = np.array(
            [np.maximum(sim[j] - cover, 0).sum() if j not in chosen else -np.inf for j in range(len(points))]
        )
        best = np.lexsort((rank, -gains))[0]
        chosen.append(int(best))
        cover = np.maximum(cover, sim[best])
    return chosen


def test_lazy_greedy_picks_the_same_sequence_as_plain_greedy():
    points = np.random.default_rng(0).standard_normal((40, 3))
    assert facility_location(points, 12, seed=0).tolist() == plain_greedy(points, 12, 0)


def test_facility_location_starts_from_the_most_central_point():
    points = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    assert facility_location(points, 1).tolist() == [2]


def test_sparse_objective_on_a_complete_graph_equals_the_dense_one():
    points = np.random.default_rng(1).standard_normal((30, 4))
    graph = knn_graph(points, 29, normalize=False, precision="float32")
    assert facility_location(points, 10, graph=graph).tolist() == facility_location(points, 10).tolist()


def test_sparse_path_returns_exactly_k_even_when_every_gain_is_zero():
    points = np.ones((50, 3))
    chosen = facility_location(points, 20, dense_max_n=10, n_neighbors=3)
    assert len(set(chosen.tolist())) == 20


def test_craig_weights_count_the_points_each_selected_example_represents():
    points = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    assert craig_weights(points, np.array([1, 3])).tolist() == [3, 2]
    assert craig_weights(points, np.array([3, 1])).tolist() == [2, 3]
    assert craig_weights(points, np.arange(5)).tolist() == [1, 1, 1, 1, 1]


def test_craig_runs_facility_location_per_class_with_proportional_budgets():
    # 1-D: class 0 in two tight groups around 0 and 10 (8 points), class 1 two points at 0.05 and 10.05,
    # inside class 0's groups. One global similarity never spends a pick on class 1 (each class-1
    # point is covered by its class-0 neighbours); per class, class 1 keeps its share 5 * 2 / 10 = 1,
    # chosen by facility location on class 1's own similarity.
    x = np.array([[0.0], [0.1], [0.2], [0.3], [10.0], [10.1], [10.2], [10.3], [0.05], [10.05]])
    y = np.array([0] * 8 + [1] * 2)
    kept = craig(x, y, 5)
    assert np.bincount(y[kept], minlength=2).tolist() == [4, 1]
    assert sorted(kept[y[kept] == 0].tolist()) == sorted(facility_location(x[:8], 4).tolist())
    assert np.bincount(y[craig(x, y, 5, per_class=False)], minlength=2).tolist() == [5, 0]
