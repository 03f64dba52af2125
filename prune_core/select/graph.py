"""Graph and geometry selectors: the k-NN graph, D2 pruning and k-center greedy.

References:
- D2 Pruning: Maharana, Yadav & Bansal (2024), "D2 Pruning: Message Passing for Balancing Diversity
  and Difficulty in Data Pruning", ICLR 2024 (reference code adymaharana/d2pruning
  core/data/sampling.py GraphDensitySampler). The graph is the *symmetric* k-NN graph: i and j are
  joined when j is among i's k nearest neighbours or i among j's (the reference symmetrises its
  kneighbors_graph), so a hub that many examples list as a neighbour receives all their messages.
  Forward message passing spreads each example's difficulty over that graph,
  s'_i = s_i + sum_{j ~ i} exp(-gamma_f d_ij) s_j; selection is iterative reverse message passing:
  take i* = argmax s', then every graph neighbour j of i* loses exp(-gamma_r d_i*j) s'_i*
  ("weighted"), so its near-duplicates stop looking attractive. Before the graph is built the authors
  remove the hardest ``hard_cut`` fraction (CCS's mislabel mask; their README uses 0.4), and they can
  run per class or per stratum (``groups``).
- k-center greedy: Sener & Savarese (2018), "Active Learning for Convolutional Neural Networks: A
  Core-Set Approach", ICLR 2018: repeatedly add the point farthest from the chosen
  centres, a 2-approximation of the minimax radius.

Choices where the references are silent:
- Distances are Euclidean on L2-normalised features by default (the reference code uses Euclidean
  distances of raw embeddings). Neighbours exclude the point itself.
- Negative difficulty scores are shifted so that their minimum is 0 (the reference does this for AUM;
  message passing needs non-negative importance); non-negative scores are used as they are.
- Ties in s' go to a seeded random order. The hard cut removes min(floor(hard_cut * n), n - k)
  examples so the budget is always met (as ccs.py does); removed examples rank last in ``d2_order``,
  least hard first, so a budget's subset is a prefix of one order whenever ``groups`` is None.
- With ``groups``, each group's quota is its stratified share of k (largest remainders,
  balance.label_quota) and D2 runs inside each group on its own graph.
- k-center greedy starts from a seeded random point. It is the exact greedy algorithm, computed in
  batches: the distance rows of the current farthest candidates are computed together by one matrix
  product and used while the farthest point stays among them (the choices are identical to the
  one-at-a-time loop; only the work is batched). Distances are Euclidean (normalize=False default).
- knn_graph "auto" precision: exact float32 while n^2 d < 1e12, above that bfloat16 screening with a
  float32 re-rank when the CPU has AMX (see _knn.py for why the re-rank keeps it accurate). Above
  ``EXACT_MAX_N`` rows "auto" builds the graph approximately through faiss (_ann.py: PCA, an
  inverted-file index, an exact re-rank); pass ``report={}`` to get its recall measured on a sample.
- Memory: the graph is built on one private float32 copy of the (selected, normalised, centred) rows,
  filled block by block from the input (which may be a memory map); no second n x d array is made.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch

from prune_core.select._ann import RECALL_SAMPLE, approximate_neighbours, sample_recall
from prune_core.select._blocks import centre_in_place, private_copy
from prune_core.select._knn import nearest_neighbours, resolve_precision
from prune_core.select._linalg import squared_distances, squared_norms
from prune_core.select._validate import (
    as_features,
    as_labels,
    as_scores,
    check_count,
    empty_indices,
    tie_break_rank,
)

_KCENTER_MAX_BATCH = 1024  # candidate rows per batch: 1024 x n float32 (400 MB at n = 100 000)
_KCENTER_MAX_ELEMENTS = 2**28  # and at most 1 GB of distance rows, so large n keeps one n x d copy


# Above this many rows "auto" builds the k-NN graph approximately (faiss, _ann.py). The exact float32
# graph of 50 000 rows in d = 1024 takes about 30 s on 2 cores without AMX; it grows as n^2.
EXACT_MAX_N = 50_000


# What every kNN graph built inside ``recording_graphs()`` did: a diagnostics side channel, so selectors
# keep their signatures (arrays in, indices out) and the select stage can still say how approximate a
# selection's neighbour graph was. Graphs built in other processes (Ray tasks) are not seen.
_GRAPH_LOG: ContextVar[list | None] = ContextVar("knn_graph_log", default=None)


@contextmanager
def recording_graphs() -> Iterator[list[dict]]:
    """Collect one entry per kNN graph built inside the block: rows, neighbours, path and recall."""
    found: list[dict] = []
    token = _GRAPH_LOG.set(found)
    try:
        yield found
    finally:
        _GRAPH_LOG.reset(token)


def graphs_summary(graphs: list[dict]) -> str | None:
    """One line on the recorded graphs when any was approximate, e.g. "3 of 3 kNN graphs approximate
    (faiss), 40-62 rows each: recall min 0.962, mean 0.981 (exact search on up to 512 sampled rows)"."""
    approximate = [g for g in graphs if g["path"].startswith("approximate")]
    if not approximate:
        return None
    rows = sorted({g["n"] for g in approximate})
    size = f"{rows[0]} rows" if len(rows) == 1 else f"{rows[0]}-{rows[-1]} rows"
    recalls = [g["recall"] for g in approximate]
    return (
        f"{len(approximate)} of {len(graphs)} kNN graphs approximate (faiss), {size} each: recall min "
        f"{min(recalls):.3f}, mean {float(np.mean(recalls)):.3f} (exact search on up to {RECALL_SAMPLE} "
        "sampled rows)"
    )


def knn_graph(
    features: np.ndarray,
    n_neighbors: int,
    *,
    normalize: bool = True,
    precision: str = "auto",
    rows: np.ndarray | None = None,
    exact_max_n: int | None = None,
    seed: int = 0,
    report: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each example's nearest other examples: (indices [n, m] int64, Euclidean distances [n, m] float32).

    m = min(n_neighbors, n - 1); rows are sorted nearest first, ties to the lower index. Computed by
    blocks of 1 024 rows against all rows (never an n x n matrix). ``precision`` is "float32" (exact),
    "bfloat16" (screened, float32 distances for the returned neighbours), "approximate" (faiss, seeded
    by ``seed``) or "auto" (approximate above ``exact_max_n`` rows, ``EXACT_MAX_N`` by default). ``rows`` (sorted indices) builds
    the graph of those rows only, indices relative to them, without copying the rest. A ``report``
    dict receives the path taken and, for the approximate path, the recall measured against the exact
    graph on a sample of rows.
    """
    x = as_features(features, where="knn_graph")
    exact_max_n = EXACT_MAX_N if exact_max_n is None else exact_max_n  # read at call time
    if isinstance(n_neighbors, bool) or int(n_neighbors) < 1:
        raise ValueError(f"knn_graph: expected n_neighbors >= 1, found {n_neighbors!r}")
    n, d = (x.shape[0] if rows is None else len(rows)), x.shape[1]
    m = min(int(n_neighbors), max(n - 1, 0))
    if m == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
    log = _GRAPH_LOG.get()
    if report is None and log is not None:
        report = {}
    xc = private_copy(x, normalize=normalize, rows=rows)  # the one n x d copy
    centre_in_place(xc)
    sq = squared_norms(xc)
    if precision == "approximate" or (precision == "auto" and n > exact_max_n):
        indices, d2 = approximate_neighbours(xc, sq, m, seed=seed)
        if report is not None:
            report.update(path="approximate (faiss)", recall=sample_recall(xc, sq, indices, seed=seed))
    else:
        resolved = resolve_precision(precision, n, d)
        indices, d2 = nearest_neighbours(xc, sq, m, resolved)
        if report is not None:
            report.update(path=f"exact ({resolved} screening)", recall=1.0 if resolved == "float32" else None)
    if log is not None:
        log.append({**report, "n": n, "k": m})
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


def symmetric_graph(indices: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The undirected version of a k-NN graph as CSR arrays (indptr [n + 1], neighbours, distances).

    Edge i - j exists when j is in row i or i is in row j; each edge appears once per endpoint.
    """
    n, m = indices.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), m)
    cols = indices.ravel().astype(np.int64)
    dist = distances.ravel().astype(np.float64)
    both_rows, both_cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    _, first = np.unique(both_rows * n + both_cols, return_index=True)  # sorted by row, then column
    heads = both_rows[first]
    indptr = np.searchsorted(heads, np.arange(n + 1))
    return indptr, both_cols[first], np.concatenate([dist, dist])[first]


def _message_passing(
    s: np.ndarray,
    graph: tuple[np.ndarray, np.ndarray],
    k: int,
    *,
    gamma_forward: float,
    gamma_reverse: float,
    graph_mode: str,
    rank: np.ndarray,
) -> np.ndarray:
    """D2's forward then reverse message passing on the symmetric graph: k positions, first pick first."""
    n = s.shape[0]
    indptr, neighbours, distances = symmetric_graph(*graph)
    heads = np.repeat(np.arange(n), np.diff(indptr))
    messages = np.bincount(heads, weights=np.exp(-gamma_forward * distances) * s[neighbours], minlength=n)
    density = s + messages if graph_mode == "sum" else s * messages
    reverse_weights = np.exp(-gamma_reverse * distances)

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
        lo, hi = indptr[i], indptr[i + 1]
        for j, w in zip(neighbours[lo:hi].tolist(), reverse_weights[lo:hi].tolist()):
            if not chosen[j]:
                density[j] -= w * density[i]
                heapq.heappush(heap, (-float(density[j]), int(rank[j]), j))
    return np.asarray(order, dtype=np.int64)


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
    hard_cut: float = 0.0,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """D2 pruning: k indices by forward then reverse message passing on the symmetric k-NN graph.

    ``scores`` are difficulties (higher = more important to keep). ``graph`` may be a precomputed
    ``knn_graph`` result over all n rows (then ``features`` may be None; only without a hard cut or
    groups). graph_mode "sum" adds the neighbour messages to the own score, "product" multiplies them
    by it (both in the reference code). ``hard_cut`` drops that fraction of the hardest examples
    first; ``groups`` (labels or strata, one per row) runs D2 inside each group with its share of k.
    """
    s = as_scores(scores, where="d2")
    n = s.shape[0]
    k = check_count(k, n, where="d2")
    if graph_mode not in ("sum", "product"):
        raise ValueError(f"d2: expected graph_mode 'sum' or 'product', found {graph_mode!r}")
    if not 0.0 <= float(hard_cut) < 1.0:
        raise ValueError(f"d2: expected the hard-cut fraction in [0, 1), found {hard_cut!r}")
    if graph is not None and (hard_cut > 0 or groups is not None):
        raise ValueError("d2: a precomputed graph cannot be combined with a hard cut or groups")
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
    else:
        graph = _check_graph(graph, n)
        x = None
    rank = tie_break_rank(n, seed)
    n_cut = min(math.floor(float(hard_cut) * n), n - k)
    pool = np.sort(np.lexsort((rank, -s))[n_cut:])  # the hardest n_cut (ties by rank) leave

    def run(members: np.ndarray, count: int) -> np.ndarray:
        if count == 0:
            return empty_indices()
        local = (
            graph
            if graph is not None
            else knn_graph(x, n_neighbors, normalize=normalize, precision=precision, rows=members, seed=seed)
        )
        picked = _message_passing(
            s[members],
            local,
            count,
            gamma_forward=gamma_forward,
            gamma_reverse=gamma_reverse,
            graph_mode=graph_mode,
            rank=rank[members],
        )
        return members[picked]

    if groups is None:
        return run(pool, k)
    from prune_core.select.balance import label_quota

    labels = as_labels(groups, n, where="d2")
    quota = label_quota(labels[pool], k, mode="stratified", seed=seed)
    per_group = {c: run(pool[labels[pool] == c], q) for c, q in quota.items()}
    return _interleave(per_group)


def _interleave(orders: dict[int, np.ndarray]) -> np.ndarray:
    """Merge per-group pick orders by fractional position, so every prefix keeps each group's share."""
    keys = [(np.arange(len(o)) + 0.5) / len(o) for o in orders.values() if len(o)]
    items = [o for o in orders.values() if len(o)]
    if not items:
        return empty_indices()
    keys_all, items_all = np.concatenate(keys), np.concatenate(items)
    return items_all[np.lexsort((items_all, keys_all))].astype(np.int64)


def d2_order(scores: np.ndarray, features: np.ndarray, *, hard_cut: float = 0.0, seed: int = 0, **params):
    """The full D2 priority order with a hard cut: the kept pool's D2 order, then the cut examples from
    least to most hard. Every budget's ``d2(..., k, hard_cut=...)`` subset is a prefix of it."""
    s = as_scores(scores, where="d2")
    n = s.shape[0]
    rank = tie_break_rank(n, seed)
    n_cut = math.floor(float(hard_cut) * n)
    by_hardness = np.lexsort((rank, -s))
    head = (
        d2(s, features, n - n_cut, hard_cut=hard_cut, seed=seed, **params) if n > n_cut else empty_indices()
    )
    return np.concatenate([head, by_hardness[:n_cut][::-1]]).astype(np.int64)


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
    xc = private_copy(x, normalize=normalize)  # the one n x d copy, centred in place
    centre_in_place(xc)
    sq = squared_norms(xc)
    first = int(np.random.default_rng(seed).integers(n))
    min_d2 = squared_distances(xc[[first]], xc, sq[[first]], sq)[0]
    min_d2[first] = -np.inf  # chosen centres never win the argmax again
    order = [first]
    slot = np.full(n, -1, dtype=np.int64)
    max_batch = max(16, min(_KCENTER_MAX_BATCH, _KCENTER_MAX_ELEMENTS // n))
    size = max(1, min(int(batch), max_batch))
    rows = torch.empty((min(n, max_batch + 1), n), dtype=torch.float32)
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
        size = min(max_batch, size * 2) if steps * 2 >= size else max(16, size // 2)
    return np.asarray(order, dtype=np.int64)
