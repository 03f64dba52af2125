"""Graph and geometry selectors: the k-NN graph, D2 pruning and k-center greedy.

References:
- D2 Pruning: Maharana, Yadav & Bansal (2024), "D2 Pruning: Message Passing for Balancing Diversity
  and Difficulty in Data Pruning", ICLR 2024 (reference code adymaharana/d2pruning
  core/data/sampling.py GraphDensitySampler). Forward message passing spreads each example's
  difficulty to its k-NN neighbours, s'_i = s_i + sum_{j in N(i)} exp(-gamma_f d_ij) s_j; selection is
  iterative reverse message passing: take i* = argmax s', then every neighbour j of i* loses
  exp(-gamma_r d_i*j) s'_i* ("weighted"), so its near-duplicates stop looking attractive.
- k-center greedy: Sener & Savarese (2018), "Active Learning for Convolutional Neural Networks: A
  Core-Set Approach", ICLR 2018: repeatedly add the point farthest from the chosen
  centres, a 2-approximation of the minimax radius.

Choices where the references are silent:
- Distances are Euclidean on L2-normalised features by default (the reference code uses Euclidean
  distances of raw embeddings). Neighbours exclude the point itself.
- Negative difficulty scores are shifted so that their minimum is 0 (the reference does this for AUM;
  message passing needs non-negative importance); non-negative scores are used as they are.
- Neighbours updated in reverse passing are the selected node's own k-NN list, as in the reference.
  Ties in s' go to a seeded random order.
- k-center greedy starts from a seeded random point. It is the exact greedy algorithm, computed in
  batches: the distance rows of the current farthest candidates are computed together by one matrix
  product and used while the farthest point stays among them (the choices are identical to the
  one-at-a-time loop; only the work is batched). Distances are Euclidean (normalize=False default).
- knn_graph "auto" precision: exact float32 while n^2 d < 1e12, above that bfloat16 screening with a
  float32 re-rank when the CPU has AMX (see _knn.py for why the re-rank keeps it accurate).
"""

from __future__ import annotations

import heapq

import numpy as np
import torch

from prune_core.select._knn import nearest_neighbours, resolve_precision
from prune_core.select._linalg import centred, squared_distances, squared_norms
from prune_core.select._validate import (
    as_features,
    as_scores,
    check_count,
    empty_indices,
    l2_normalize,
    tie_break_rank,
)

_KCENTER_MAX_BATCH = 1024  # candidate rows per batch: 1024 x n float32 (400 MB at n = 100 000)


def knn_graph(
    features: np.ndarray, n_neighbors: int, *, normalize: bool = True, precision: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Each example's nearest other examples: (indices [n, m] int64, Euclidean distances [n, m] float32).

    m = min(n_neighbors, n - 1); rows are sorted nearest first, ties to the lower index. Computed by
    blocks of 1 024 rows against all rows (never an n x n matrix). ``precision`` is "float32" (exact),
    "bfloat16" (screened, float32 distances for the returned neighbours) or "auto".
    """
    x = as_features(features, where="knn_graph")
    if isinstance(n_neighbors, bool) or int(n_neighbors) < 1:
        raise ValueError(f"knn_graph: expected n_neighbors >= 1, found {n_neighbors!r}")
    n, d = x.shape
    m = min(int(n_neighbors), max(n - 1, 0))
    if m == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
    if normalize:
        x = l2_normalize(x)
    xc = centred(x)
    indices, d2 = nearest_neighbours(xc, squared_norms(xc), m, resolve_precision(precision, n, d))
    return indices, np.sqrt(d2)


def _check_graph(graph: tuple[np.ndarray, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    indices, distances = (np.asarray(a) for a in graph)
    if indices.shape != distances.shape or indices.ndim != 2 or indices.shape[0] != n:
        raise ValueError(
            f"d2: expected a graph (indices, distances) of equal shapes [n={n}, m], "
            f"found {indices.shape} and {distances.shape}"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"d2: graph indices must lie in 0..{n - 1}, found {indices.min()}..{indices.max()}")
    return indices.astype(np.int64), distances.astype(np.float64)


def d2(
    scores: np.ndarray,
    features: np.ndarray | None,
    k: int,
    *,
    n_neighbors: int = 10,
    gamma_forward: float = 1.0,
    gamma_reverse: float = 1.0,
    seed: int = 0,
    graph_mode: str = "sum",
    normalize: bool = True,
    precision: str = "auto",
    graph: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """D2 pruning: k indices by forward then reverse message passing on the k-NN graph, first pick first.

    ``scores`` are difficulties (higher = more important to keep). ``graph`` may be a precomputed
    ``knn_graph`` result (then ``features`` may be None). graph_mode "sum" adds the neighbour messages
    to the own score, "product" multiplies them by it (both in the reference code).
    """
    s = as_scores(scores, where="d2")
    n = s.shape[0]
    k = check_count(k, n, where="d2")
    if graph_mode not in ("sum", "product"):
        raise ValueError(f"d2: expected graph_mode 'sum' or 'product', found {graph_mode!r}")
    if k == 0:
        return empty_indices()
    if s.min() < 0:
        s = s - s.min()
    if graph is None:
        if features is None:
            raise ValueError("d2: expected features or a precomputed graph, found neither")
        x = as_features(features, where="d2")
        if x.shape[0] != n:
            raise ValueError(f"d2: scores has {n} rows but features has {x.shape[0]}")
        indices, distances = knn_graph(x, n_neighbors, normalize=normalize, precision=precision)
    else:
        indices, distances = _check_graph(graph, n)
    distances = distances.astype(np.float64)
    messages = (np.exp(-gamma_forward * distances) * s[indices]).sum(axis=1)
    density = s + messages if graph_mode == "sum" else s * messages
    reverse_weights = np.exp(-gamma_reverse * distances)

    rank = tie_break_rank(n, seed)
    heap = list(zip((-density).tolist(), rank.tolist(), range(n)))
    heapq.heapify(heap)
    chosen = np.zeros(n, dtype=bool)
    order = []
    while len(order) < k:
        value, _, i = heapq.heappop(heap)
        if chosen[i] or -value != density[i]:
            continue  # already taken, or a stale entry from before a neighbour update
        chosen[i] = True
        order.append(i)
        for j, w in zip(indices[i].tolist(), reverse_weights[i].tolist()):
            if not chosen[j]:
                density[j] -= w * density[i]
                heapq.heappush(heap, (-float(density[j]), int(rank[j]), j))
    return np.asarray(order, dtype=np.int64)


def k_center_greedy(
    features: np.ndarray, k: int, *, seed: int = 0, normalize: bool = False, batch: int = 256
) -> np.ndarray:
    """Sener & Savarese's greedy k-center: a seeded random start, then always the farthest point.

    Returns k indices in the order chosen. The minimax radius of the result is at most twice the
    optimum. Cost O(n k d) in matrix products of ``batch`` candidate rows; ties go to the lower index.
    """
    x = as_features(features, where="k_center_greedy")
    n = x.shape[0]
    k = check_count(k, n, where="k_center_greedy")
    if k == 0:
        return empty_indices()
    if normalize:
        x = l2_normalize(x)
    xc = centred(x)
    sq = squared_norms(xc)
    first = int(np.random.default_rng(seed).integers(n))
    min_d2 = squared_distances(xc[[first]], xc, sq[[first]], sq)[0]
    min_d2[first] = -np.inf  # chosen centres never win the argmax again
    order = [first]
    slot = np.full(n, -1, dtype=np.int64)
    size = max(1, min(int(batch), _KCENTER_MAX_BATCH))
    rows = torch.empty((min(n, _KCENTER_MAX_BATCH + 1), n), dtype=torch.float32)
    xc_t, sq_t = torch.from_numpy(xc), torch.from_numpy(sq)
    while len(order) < k:
        size = min(size, n - len(order))
        farthest = int(np.argmax(min_d2))
        candidates = np.argpartition(-min_d2, size - 1)[:size]
        candidates = np.unique(np.concatenate(([farthest], candidates)))
        block = rows[: candidates.shape[0]]
        picked = torch.from_numpy(candidates)
        torch.addmm(sq_t[None, :], xc_t[picked], xc_t.T, alpha=-2.0, out=block)
        block.add_(sq_t[picked, None]).clamp_(min=0.0)
        block_np = block.numpy()
        slot[candidates] = np.arange(candidates.shape[0])
        steps = 0
        while len(order) < k:
            j = int(np.argmax(min_d2))
            if slot[j] < 0:
                break  # the farthest point is not among the batch: compute a new batch
            order.append(j)
            steps += 1
            np.minimum(min_d2, block_np[slot[j]], out=min_d2)
            min_d2[j] = -np.inf
        slot[candidates] = -1
        size = min(_KCENTER_MAX_BATCH, size * 2) if steps * 2 >= size else max(16, size // 2)
    return np.asarray(order, dtype=np.int64)
