"""Input checks and cleaning shared by every selector: one place decides what a valid array is.

Why one module: every selector must accept float16 input, NaN scores, zero-norm rows and k at both
ends of its range in exactly the same way, and must complain in the same words when given something
else. Du et al. (ACL 2025) replace NaN scores by the minimum finite score before selecting; we do the
same here for every score-based rule.
"""

from __future__ import annotations

import numbers

import numpy as np

from prune_core.select._blocks import check_finite
from prune_core.select.budget import BudgetError


def check_count(k: object, n: int, *, where: str) -> int:
    """Return ``k`` as a Python int after checking it is an integer count with 0 <= k <= n."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise BudgetError(
            f"{where}: expected k to be an integer count of examples to keep, "
            f"found {k!r} of type {type(k).__name__}"
        )
    k = int(k)
    if not 0 <= k <= n:
        raise BudgetError(f"{where}: expected 0 <= k <= n = {n}, found k = {k}")
    return k


def as_scores(scores: object, *, where: str, name: str = "scores") -> np.ndarray:
    """Return a finite float64 copy of a 1-D score vector.

    NaN becomes the minimum finite score (Du et al. 2025, DataPruningMetric.select_data_from_score);
    +inf / -inf are clipped to the finite maximum / minimum so that quantiles stay defined. A vector
    with no finite value at all becomes 0 (NaN, -inf) and 1 (+inf).
    """
    arr = np.asarray(scores)
    if arr.ndim != 1:
        raise ValueError(
            f"{where}: expected {name} to be a 1-D array of per-example values, found shape {arr.shape}"
        )
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{where}: expected {name} to be numeric, found dtype {arr.dtype}")
    out = arr.astype(np.float64, copy=True)
    finite = np.isfinite(out)
    if finite.all():
        return out
    if not finite.any():
        return np.where(np.isposinf(out), 1.0, 0.0)
    lo, hi = out[finite].min(), out[finite].max()
    out[np.isnan(out)] = lo
    return np.clip(out, lo, hi)


def as_features(
    features: object, *, where: str, name: str = "features", dtype: type = np.float32
) -> np.ndarray:
    """Return a C-contiguous 2-D float array (float32 by default), refusing NaN or infinite entries."""
    arr = np.asarray(features)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{where}: expected {name} to be a 2-D array [n examples, d dims], found shape {arr.shape}"
        )
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{where}: expected {name} to be numeric, found dtype {arr.dtype}")
    out = np.ascontiguousarray(arr, dtype=dtype)  # no copy when already float32 rows (a memory map stays one)
    check_finite(out, where=where, name=name)
    return out


def as_labels(labels: object, n: int | None, *, where: str) -> np.ndarray:
    """Return labels as an int64 vector (of length n when n is given)."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        expected = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"{where}: expected labels of shape {expected}, found shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iub":
        as_int = arr.astype(np.int64)
        if not np.array_equal(as_int, arr):
            raise ValueError(
                f"{where}: expected integer labels, found dtype {arr.dtype} with non-integer values"
            )
        arr = as_int
    return arr.astype(np.int64, copy=False)


def row_norms(features: np.ndarray) -> np.ndarray:
    """L2 norm of every row, accumulated in float64 (einsum: no n x d temporary, unlike np.linalg.norm)."""
    return np.sqrt(np.einsum("ij,ij->i", features, features, dtype=np.float64))


def l2_normalize(features: np.ndarray) -> np.ndarray:
    """Divide each row by its L2 norm; a zero row keeps norm 1 (stays zero) instead of dividing by 0."""
    norms = row_norms(features)
    norms[norms == 0] = 1.0
    return (features / norms[:, None].astype(features.dtype)).astype(features.dtype, copy=False)


def tie_break_rank(n: int, seed: int) -> np.ndarray:
    """A seeded random rank per example, used to break exact ties in a reproducible way."""
    rank = np.empty(n, dtype=np.int64)
    rank[np.random.default_rng(seed).permutation(n)] = np.arange(n)
    return rank


def order_descending(values: np.ndarray, seed: int) -> np.ndarray:
    """Indices sorted by descending value; equal values in a seeded random (but fixed) order."""
    rank = tie_break_rank(values.shape[0], seed)
    return np.lexsort((rank, -values)).astype(np.int64)


def empty_indices() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)
