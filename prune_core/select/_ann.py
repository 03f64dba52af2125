"""Approximate k-nearest-neighbour graph through faiss, with its recall measured against the exact graph.

Why: the exact graph costs n^2 d multiply-adds; on this project's CPUs without AMX it took 128 s at
n = 100 000, d = 1024 (``../shared`` measurements, reproduced by bench/bench_selectors.py), so at n = 10^6
it would take hours. Above ``graph.EXACT_MAX_N`` examples the graph is built in three steps:

1. PCA to ``REDUCED_DIMS`` dimensions (faiss ``PCAMatrix`` trained on a seeded sample of at most
   ``PCA_SAMPLE`` rows): embeddings of text models have most of their variance in far fewer directions
   than d, so neighbours in the reduced space are good candidates.
2. An inverted-file index with about ``CELL_SIZE`` rows per cell, searched in the ``N_PROBE`` cells
   nearest to each query for a pool of 3m candidates. The rows in the cells are stored as 4-bit product
   codes, two dimensions per code (faiss ``IndexIVFPQFastScan``; Jégou, Douze & Schmid 2011, "Product
   quantization for nearest neighbor search", IEEE TPAMI; André, Kermarrec & Le Scouarnec 2015, "Cache
   locality is not enough", VLDB), scanned with SIMD lookups in registers. Why: the scan of the probed
   cells was most of the graph's time; float32 rows (``IndexIVFFlat``) took 0.7 ms a query on this
   project's 2-core CPU without AVX-512, and the codes scan 7.5x faster (bench/bench_ann.py). Their
   distances are approximate, but they only choose the pool: on planted clusters the pool still held
   99.7 % of the exact neighbours in the PCA space (100 % with float32 rows). Dimensions that do not
   split into pairs, or fewer than ``MIN_CODE_DIMS``, keep float32 rows (cheap to scan anyway).
3. The pool is re-ranked by exact float32 distances in the full space (the same expansion as the exact
   path), so returned distances are exact and only a neighbour missing from the pool is an error.

Recall (the fraction of the exact m nearest neighbours found) is measured on a seeded sample of
``RECALL_SAMPLE`` rows by an exact blocked search against all rows (``sample_recall``) and reported with
the graph (graph.knn_graph's ``report``). It depends on the data: near 1 for clustered embeddings
(tests/test_select_blocks.py asserts >= 0.95 on planted clusters), low for isotropic noise, where
nearest neighbours are barely nearer than any other point.
"""

from __future__ import annotations

import numpy as np

REDUCED_DIMS = 128
PCA_SAMPLE = 20_000
CELL_SIZE = 256
N_PROBE = 32
MIN_CODE_DIMS = 32
RECALL_SAMPLE = 512
QUERY_BLOCK = 65_536


def _faiss():
    import faiss  # imported late: only the approximate path needs it

    return faiss


def _reduced(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    faiss = _faiss()
    n, d = x.shape
    if d <= REDUCED_DIMS:
        return x
    size = min(n, PCA_SAMPLE, max(n // 4, 8 * REDUCED_DIMS))  # a sample, never a second full copy
    sample = np.sort(rng.choice(n, size, replace=False))
    pca = faiss.PCAMatrix(d, REDUCED_DIMS)
    pca.train(np.ascontiguousarray(x[sample]))
    out = np.empty((n, REDUCED_DIMS), dtype=np.float32)
    for start in range(0, n, QUERY_BLOCK):
        out[start : start + QUERY_BLOCK] = pca.apply(x[start : start + QUERY_BLOCK])
    return out


def _candidate_pool(
    y: np.ndarray, pool: int, seed: int, *, codes: bool = True, queries: int | None = None
) -> np.ndarray:
    """[n, pool] candidate indices from an IVF search of every row (itself excluded; -1 where short).

    For bench/bench_ann.py: ``codes=False`` stores float32 rows instead of product codes (the baseline),
    and ``queries`` searches the first rows only."""
    faiss = _faiss()
    n, dims = y.shape
    cells = max(1, n // CELL_SIZE)
    quantizer = faiss.IndexFlatL2(dims)
    if codes and dims >= MIN_CODE_DIMS and dims % 2 == 0:
        index = faiss.IndexIVFPQFastScan(quantizer, dims, cells, dims // 2, 4)
        index.pq.cp.seed = seed
    else:
        index = faiss.IndexIVFFlat(quantizer, dims, cells)
    index.cp.seed = seed
    index.cp.max_points_per_centroid = 64  # train the coarse k-means on a sample, not on every row
    index.train(y)
    index.add(y)
    index.nprobe = min(N_PROBE, cells)
    searched = n if queries is None else min(n, queries)
    out = np.empty((searched, pool), dtype=np.int64)
    for start in range(0, searched, QUERY_BLOCK):
        stop = min(searched, start + QUERY_BLOCK)
        _, found = index.search(y[start:stop], pool + 1)
        own = found == np.arange(start, stop)[:, None]
        # drop each row's own index (or the last candidate when the search did not return it)
        own[~own.any(axis=1), -1] = True
        out[start:stop] = found[~own].reshape(stop - start, pool)
    return out


def approximate_neighbours(
    xc: np.ndarray, sq: np.ndarray, n_neighbors: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(indices [n, m], squared distances [n, m]) like ``_knn.nearest_neighbours``, from a faiss pool.

    ``xc`` are centred float32 features and ``sq`` their squared norms; the pool is re-ranked with exact
    float32 products, ties to the lower index, nearest first.
    """
    from prune_core.select._knn import _candidate_dots

    n = xc.shape[0]
    m = n_neighbors
    pool = min(n - 1, 3 * m)
    candidates = _candidate_pool(_reduced(xc, np.random.default_rng(seed)), pool, seed)
    out_idx = np.empty((n, m), dtype=np.int64)
    out_d2 = np.empty((n, m), dtype=np.float32)
    for start in range(0, n, 4096):
        stop = min(n, start + 4096)
        block = candidates[start:stop]
        missing = block < 0
        safe = np.where(missing, 0, block)
        dots = _candidate_dots(xc, start, safe)
        d2 = np.maximum(sq[start:stop, None] + sq[safe] - 2.0 * dots, 0.0)
        d2[missing] = np.inf
        order = np.lexsort((safe, d2), axis=1)[:, :m]
        out_idx[start:stop] = np.take_along_axis(block, order, axis=1)
        out_d2[start:stop] = np.take_along_axis(d2, order, axis=1)
    return out_idx, out_d2


def sample_recall(xc: np.ndarray, sq: np.ndarray, indices: np.ndarray, *, seed: int = 0) -> float:
    """Mean fraction of each sampled row's exact m nearest neighbours that ``indices`` holds.

    The exact neighbours of ``RECALL_SAMPLE`` seeded rows come from blocked float32 distances to every
    row (sample x n x d work, never an n x n matrix).
    """
    n, m = indices.shape
    if n == 0 or m == 0:
        return 1.0
    rows = np.sort(np.random.default_rng(seed + 1).choice(n, min(n, RECALL_SAMPLE), replace=False))
    best_d2 = np.full((rows.size, m), np.inf, dtype=np.float32)
    best_idx = np.zeros((rows.size, m), dtype=np.int64)
    for start in range(0, n, QUERY_BLOCK):
        stop = min(n, start + QUERY_BLOCK)
        d2 = sq[rows, None] + sq[None, start:stop] - 2.0 * (xc[rows] @ xc[start:stop].T)
        inside = (rows >= start) & (rows < stop)
        d2[np.flatnonzero(inside), rows[inside] - start] = np.inf
        keep = min(m, stop - start)
        near = np.argpartition(d2, keep - 1, axis=1)[:, :keep]
        both_d2 = np.concatenate([best_d2, np.take_along_axis(d2, near, axis=1)], axis=1)
        both_idx = np.concatenate([best_idx, near + start], axis=1)
        order = np.lexsort((both_idx, both_d2), axis=1)[:, :m]
        best_d2 = np.take_along_axis(both_d2, order, axis=1)
        best_idx = np.take_along_axis(both_idx, order, axis=1)
    found = [np.intersect1d(best_idx[i], indices[r]).size for i, r in enumerate(rows)]
    return float(np.sum(found) / (rows.size * m))
