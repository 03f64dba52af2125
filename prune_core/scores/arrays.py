"""Input checks and clean-up shared by every per-example score.

The backend hands the score functions stored arrays (often float16, sometimes memory-mapped); these
helpers turn them into checked float64 views, walk big matrices in row blocks so a float64 copy of an
[n x d] gradient matrix is never made, and replace NaN scores the way Du et al. (2025) do before a
score reaches a selector.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# Rows of a probability matrix must sum to 1 within this (float16 softmax outputs drift by ~1e-3 * C).
PROB_SUM_TOLERANCE = 1e-2

# A float64 row block holds at most this many numbers (16 MiB): gradients of 100 000 x 8 192 in float16
# are 1.6 GB on disk, so converting them whole to float64 would need 6.5 GB.
BLOCK_ELEMENTS = 1 << 21


def nan_to_min(scores: np.ndarray) -> np.ndarray:
    """Replace NaN scores by the smallest finite score (all NaN -> zeros), as float64.

    Du et al. (2025, DataPruningMetric.select_data_from_score) set NaN scores to the minimum so that a
    broken example is pruned first rather than crashing the quantile rule. Infinite values are kept:
    they are orderable, and "min finite" ignores them.
    """
    out = np.array(scores, dtype=np.float64, copy=True)
    if out.ndim != 1:
        raise ValueError(f"nan_to_min: expected a 1-D score vector, found shape {out.shape}")
    missing = np.isnan(out)
    if missing.any():
        finite = out[np.isfinite(out)]
        out[missing] = finite.min() if finite.size else 0.0
    return out


def as_matrix(values, name: str, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Check that ``values`` is a 2-D numeric array (optionally of a given shape); no copy is made."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array [n, d], found shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name}: expected numbers, found dtype {arr.dtype}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows, found {arr.shape[0]} (shape {arr.shape})")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{name}: expected {cols} columns, found {arr.shape[1]} (shape {arr.shape})")
    return arr


def as_probabilities(values, name: str, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Check an [n, C] matrix of class probabilities (rows sum to 1, so logits are caught), as float64."""
    p = as_matrix(values, name, rows=rows, cols=cols).astype(np.float64)
    sums = p.sum(axis=1)
    off = np.isfinite(sums) & (np.abs(sums - 1.0) > PROB_SUM_TOLERANCE)
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(
            f"{name}: expected rows of probabilities summing to 1 (softmax, not logits), "
            f"found a row sum of {sums[i]:.4g} at row {i}"
        )
    return p


def as_labels(labels, name: str, *, n: int, n_classes: int | None = None) -> np.ndarray:
    """Check integer class labels of length ``n`` (and below ``n_classes`` when given), as int64."""
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} labels (shape ({n},)), found shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise TypeError(f"{name}: expected integer class ids, found dtype {arr.dtype} with fractions")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: expected class ids >= 0, found {arr.min()} at row {int(arr.argmin())}")
    if n_classes is not None and arr.size and arr.max() >= n_classes:
        raise ValueError(
            f"{name}: expected class ids < {n_classes} (number of columns), found {arr.max()} "
            f"at row {int(arr.argmax())}"
        )
    return arr


def as_checkpoints(values, name: str) -> list[np.ndarray]:
    """One [n, d] matrix, a stacked [c, n, d] array or a list of [n, d] matrices -> a list per checkpoint."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        mats = [values]
    elif isinstance(values, np.ndarray) and values.ndim == 3:
        mats = list(values)
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        mats = list(values)
    else:
        raise TypeError(
            f"{name}: expected a list of [n, d] arrays (one per checkpoint), found "
            f"{type(values).__name__} with shape {getattr(values, 'shape', None)}"
        )
    if not mats:
        raise ValueError(f"{name}: expected at least one checkpoint, found an empty list")
    mats = [as_matrix(m, f"{name}[{c}]") for c, m in enumerate(mats)]
    n = mats[0].shape[0]
    for c, m in enumerate(mats):
        if m.shape[0] != n:
            raise ValueError(f"{name}[{c}]: expected {n} rows like {name}[0], found {m.shape[0]}")
    return mats


def as_weights(weights, name: str, *, count: int) -> np.ndarray:
    """Check one finite, non-negative weight (learning rate) per checkpoint, as float64."""
    arr = np.asarray(weights, dtype=np.float64).reshape(-1)
    if arr.shape != (count,):
        raise ValueError(f"{name}: expected {count} values (one per checkpoint), found {arr.size}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: expected finite values >= 0, found {arr.tolist()}")
    return arr


def row_blocks(n: int, width: int) -> Iterator[slice]:
    """Row slices of an [n, width] matrix small enough to convert to float64 without a big copy."""
    step = max(1, BLOCK_ELEMENTS // max(1, width))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def block_f64(matrix: np.ndarray, rows: slice) -> np.ndarray:
    """A float64 copy of some rows (float16 gradients lose too much precision in dot products)."""
    return np.asarray(matrix[rows], dtype=np.float64)
