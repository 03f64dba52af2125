"""The approximate k-NN graph's candidate search: product codes (fast scan) against float32 rows.

Usage: python bench/bench_ann.py [--n 200000 --queries 50000 --m 30]

Planted data in the PCA space the graph searches (128 dimensions: 2 000 Gaussian clusters, noise half
the centres' scale). Both indexes are built by ``select/_ann._candidate_pool`` with the same cells and
probes, once with 4-bit product codes (``IndexIVFPQFastScan``, what the graph uses) and once with float32
rows (``IndexIVFFlat``, what it used before). Prints the seconds of each search over the first
``--queries`` rows, their ratio, and the pool recall: the share of each of 300 sampled rows' exact m
nearest neighbours that is in its 3m candidates (the exact re-rank can only return those). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from prune_core.select import _ann


def planted(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, d)).astype(np.float32)
    return (centres[rng.integers(0, 2000, n)] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)


def exact_neighbours(y: np.ndarray, rows: np.ndarray, m: int) -> np.ndarray:
    sq = (y * y).sum(axis=1)
    d2 = sq[rows, None] + sq[None, :] - 2.0 * (y[rows] @ y.T)
    d2[np.arange(rows.size), rows] = np.inf
    return np.argpartition(d2, m - 1, axis=1)[:, :m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--m", type=int, default=30)
    args = parser.parse_args()
    y = planted(args.n, _ann.REDUCED_DIMS, seed=0)
    rows = np.sort(np.random.default_rng(1).choice(args.queries, 300, replace=False))
    exact = exact_neighbours(y, rows, args.m)
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; n = {args.n}, queries = {args.queries}, "
        f"cells = {args.n // _ann.CELL_SIZE}, probes = {_ann.N_PROBE}, pool = {3 * args.m}"
    )
    seconds = {}
    for name, codes in (("float32 rows (IndexIVFFlat)", False), ("4-bit codes (IndexIVFPQFastScan)", True)):
        # the index is built over every row and searched for the first --queries rows only
        start = time.perf_counter()
        pool = _ann._candidate_pool(y, 3 * args.m, seed=0, codes=codes, queries=args.queries)
        seconds[name] = time.perf_counter() - start
        recall = np.mean([np.intersect1d(exact[i], pool[r]).size / args.m for i, r in enumerate(rows)])
        print(f"{name:36s} {seconds[name]:7.1f} s   pool recall {recall:.3f}")
    flat, fast = seconds.values()
    print(f"ratio (float32 rows / codes): {flat / fast:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
