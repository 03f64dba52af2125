"""Facility location by lazy greedy (CRAIG) and the CRAIG weights of a selected set.

Mirzasoleiman, Bilmes & Leskovec (2020), "Coresets for Data-efficient Training of Machine Learning
Models", ICML 2020 (reference code baharanm/craig lazy_greedy.py). Why: a subset
whose members are each close to many examples approximates the full (gradient) sum; maximising the
monotone submodular facility-location function F(S) = sum_i max_{j in S} sim(i, j) greedily is within
(1 - 1/e) of the best subset, and lazy evaluation of the gains makes the greedy cheap.

Similarity: sim(i, j) = C - d(i, j) with d the Euclidean distance and C the largest distance
considered (CRAIG's util.py: max distance minus distance), so sim >= 0 and F is monotone.
metric="cosine" uses the same Euclidean distance on L2-normalised rows (monotone in cosine).

Scale (our choice; the paper works per class with dense matrices): an n x n matrix is impossible at
n = 100 000, so above ``dense_max_n`` examples F is computed on the k-NN graph: example i can only be
represented by itself (sim C) or by one of its ``n_neighbors`` nearest neighbours (sim C - d_ij, C = the
largest k-NN distance); every other pair has similarity 0. The greedy then only touches graph edges.
Ties between equal gains go to a seeded random order. If every gain is 0 (all examples covered, e.g.
identical rows) the greedy keeps picking in that order, so exactly k indices always come back.
"""

from __future__ import annotations

import heapq

import numpy as np
import torch

from prune_core.select._blocks import centre_in_place, private_copy
from prune_core.select._linalg import centred, squared_distances, squared_norms
from prune_core.select._validate import (
    as_features,
    as_labels,
    check_count,
    empty_indices,
    l2_normalize,
    tie_break_rank,
)
from prune_core.select.graph import knn_graph


def _check_metric(metric: str, where: str) -> None:
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"{where}: expected metric 'euclidean' or 'cosine', found {metric!r}")


def _lazy_greedy(initial_gains: np.ndarray, gain_of, take, k: int, rank: np.ndarray) -> np.ndarray:
    """Lazy greedy (Minoux 1978): re-evaluate the best stale upper bound until it stays on top."""
    heap = list(zip((-initial_gains).tolist(), rank.tolist(), range(initial_gains.shape[0])))
    heapq.heapify(heap)
    order = []
    while len(order) < k:
        _, tie, j = heapq.heappop(heap)
        key = (-gain_of(j), tie)
        if heap and key > heap[0][:2]:
            heapq.heappush(heap, (*key, j))
            continue
        take(j)
        order.append(j)
    return np.asarray(order, dtype=np.int64)


def _dense_facility_location(x: np.ndarray, k: int, rank: np.ndarray) -> np.ndarray:
    xc = centred(x)
    sq = squared_norms(xc)
    dist = np.sqrt(squared_distances(xc, xc, sq, sq)).astype(np.float64)
    sim = dist.max() - dist
    cover = np.zeros(x.shape[0], dtype=np.float64)

    def gain_of(j: int) -> float:
        return float(np.maximum(sim[j] - cover, 0.0).sum())

    def take(j: int) -> None:
        np.maximum(cover, sim[j], out=cover)

    return _lazy_greedy(sim.sum(axis=0), gain_of, take, k, rank)


def _sparse_facility_location(
    indices: np.ndarray, distances: np.ndarray, k: int, rank: np.ndarray
) -> np.ndarray:
    n, m = indices.shape
    distances = distances.astype(np.float64)
    top = float(distances.max()) if distances.size else 0.0
    edge_sim = (top - distances).ravel()
    by_target = np.argsort(indices.ravel(), kind="stable")
    sources = np.repeat(np.arange(n), m)[by_target]
    sims = edge_sim[by_target]
    start = np.searchsorted(indices.ravel()[by_target], np.arange(n + 1))
    cover = np.zeros(n, dtype=np.float64)

    def gain_of(j: int) -> float:
        members = slice(start[j], start[j + 1])
        others = float(np.maximum(sims[members] - cover[sources[members]], 0.0).sum())
        return max(top - cover[j], 0.0) + others

    def take(j: int) -> None:
        members = slice(start[j], start[j + 1])
        cover[j] = max(cover[j], top)
        np.maximum.at(cover, sources[members], sims[members])

    initial = top + np.bincount(indices.ravel(), weights=edge_sim, minlength=n)
    return _lazy_greedy(initial, gain_of, take, k, rank)


def facility_location(
    features: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    metric: str = "euclidean",
    n_neighbors: int = 10,
    dense_max_n: int = 4096,
    precision: str = "auto",
    graph: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """k indices maximising facility location by lazy greedy, in the order chosen.

    Dense similarities up to ``dense_max_n`` examples, the k-NN-sparsified objective above (or
    whenever a precomputed ``knn_graph`` result is passed as ``graph``).
    """
    x = as_features(features, where="facility_location")
    _check_metric(metric, "facility_location")
    n = x.shape[0]
    k = check_count(k, n, where="facility_location")
    if k == 0:
        return empty_indices()
    rank = tie_break_rank(n, seed)
    if graph is None and n <= dense_max_n:
        return _dense_facility_location(l2_normalize(x) if metric == "cosine" else x, k, rank)
    if graph is None:  # the graph normalises its own private copy: no second n x d array here
        graph = knn_graph(x, n_neighbors, normalize=metric == "cosine", precision=precision, seed=seed)
    indices, distances = (np.asarray(a) for a in graph)
    if indices.shape != distances.shape or indices.shape[0] != n:
        raise ValueError(
            f"facility_location: expected a graph of shapes [n={n}, m], "
            f"found {indices.shape} and {distances.shape}"
        )
    return _sparse_facility_location(indices.astype(np.int64), distances, k, rank)


def craig(
    features: np.ndarray,
    labels: np.ndarray | None,
    k: int,
    *,
    per_class: bool = True,
    seed: int = 0,
    metric: str = "euclidean",
    **params,
) -> np.ndarray:
    """CRAIG's subset: facility location inside each class (the reference's default), k indices in all.

    baharanm/craig util.py selects per class with a budget proportional to the class size and a
    similarity matrix of that class only; here each class's whole greedy order is merged with the others'
    by fractional position and the first k are kept, so each class gets its share of k within one
    example and a smaller budget's subset is a prefix of a larger one's (greedy orders are nested). ``per_class=False`` runs one facility
    location over all examples (one global similarity).
    """
    x = as_features(features, where="craig")
    n = x.shape[0]
    k = check_count(k, n, where="craig")
    if not per_class or labels is None or k == 0:
        return facility_location(x, k, seed=seed, metric=metric, **params)

    y = as_labels(labels, n, where="craig")
    keys, items = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        picked = members[facility_location(x[members], len(members), seed=seed, metric=metric, **params)]
        keys.append((np.arange(len(members)) + 0.5) / len(members))
        items.append(picked)
    keys_all, items_all = np.concatenate(keys), np.concatenate(items)
    return items_all[np.lexsort((items_all, keys_all))][:k].astype(np.int64)


def craig_weights(features: np.ndarray, selected: np.ndarray, *, metric: str = "euclidean") -> np.ndarray:
    """CRAIG weight gamma_j of each selected example: how many examples have it as nearest selected one.

    Returned in the order of ``selected`` (int64, summing to n); each selected example counts itself.
    Ties go to the earlier entry of ``selected``.
    """
    x = as_features(features, where="craig_weights")
    _check_metric(metric, "craig_weights")
    chosen = np.asarray(selected, dtype=np.int64).ravel()
    n = x.shape[0]
    if chosen.size == 0:
        if n == 0:
            return empty_indices()
        raise ValueError("craig_weights: expected at least one selected index, found none")
    if chosen.min() < 0 or chosen.max() >= n or np.unique(chosen).size != chosen.size:
        raise ValueError(
            f"craig_weights: selected must be distinct indices in 0..{n - 1}, "
            f"found {chosen.size} entries in {chosen.min()}..{chosen.max()}"
        )
    xc = private_copy(x, normalize=metric == "cosine")  # the one n x d copy, centred in place
    centre_in_place(xc)
    xc_t, centres = torch.from_numpy(xc), torch.from_numpy(xc[chosen])
    sq = torch.from_numpy(squared_norms(xc))
    nearest = np.empty(n, dtype=np.int64)
    rows = max(1, 2**24 // chosen.size)
    for begin in range(0, n, rows):
        block = torch.addmm(sq[chosen][None, :], xc_t[begin : begin + rows], centres.T, alpha=-2.0)
        nearest[begin : begin + rows] = torch.argmin(block, dim=1).numpy()
    nearest[chosen] = np.arange(chosen.size)  # a selected example is its own nearest
    return np.bincount(nearest, minlength=chosen.size).astype(np.int64)
