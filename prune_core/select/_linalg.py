"""Chunked distance helpers: squared Euclidean distances by matrix products, never an n x n matrix.

Why: at n = 100 000 and d = 1024 a full distance matrix is 40 GB, while a block of 1 024 rows is
400 MB and runs as one BLAS call. Features are centred first (distances do not change under a shift),
which keeps the expansion ||x||^2 + ||y||^2 - 2 x.y accurate in float32.
"""

from __future__ import annotations

import numpy as np

ROW_BLOCK = 1024


def centred(features: np.ndarray) -> np.ndarray:
    """Features minus their mean row (float32): same distances, smaller norms, less cancellation."""
    x = np.asarray(features, dtype=np.float32)
    if x.shape[0] == 0:
        return x.copy()
    return (x - x.mean(axis=0, dtype=np.float64).astype(np.float32)).astype(np.float32, copy=False)


def squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x, dtype=np.float64).astype(np.float32)


def squared_distances(
    x_rows: np.ndarray,
    x_cols: np.ndarray,
    rows_sq: np.ndarray | None = None,
    cols_sq: np.ndarray | None = None,
) -> np.ndarray:
    """Squared distances between every row of x_rows and every row of x_cols, clipped at 0 (float32)."""
    rows_sq = squared_norms(x_rows) if rows_sq is None else rows_sq
    cols_sq = squared_norms(x_cols) if cols_sq is None else cols_sq
    d2 = x_rows @ x_cols.T
    d2 *= -2.0
    d2 += rows_sq[:, None]
    d2 += cols_sq[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def squared_distance_to_rows(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """||x_i - anchors_i||^2 computed by direct differences in row blocks (exact, float64 result)."""
    out = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], ROW_BLOCK * 8):
        stop = start + ROW_BLOCK * 8
        diff = x[start:stop] - anchors[start:stop]
        out[start:stop] = np.einsum("ij,ij->i", diff, diff, dtype=np.float64)
    return out
