"""Score rules: keep the top of a score, Du et al.'s quantile rule, and the Moderate-DS central band.

Why: most published pruning methods are "compute a per-example score, keep the top r". Du, Song,
Wong, Ignatev, Gatt & Nguyen (2025), "Disentangling the Roles of Representation and Selection in Data
Pruning", ACL 2025 keep every example whose score is >= quantile(scores, 1 - r)
with linear interpolation, so ties can push the subset slightly above r * n; ``top_k`` is the exact-k
alternative users ask for. Moderate-DS (Xia, Liu, Yu, Shen, Han & Liu 2023,
"Moderate Coreset: A Universal Method of Data Selection for Real-world Data-efficient Deep Learning",
ICLR 2023) keeps the examples whose distance to their class median is closest to
the median distance.

Choices where the references are silent:
- NaN scores become the minimum finite score (Du et al.); +-inf are clipped to the finite range.
- Exact ties in ``top_k`` are broken first by an optional documented ``secondary`` score from the same
  representation (forgetting counts take a handful of values, so a coin would otherwise decide up to
  two fifths of a subset), then by a seeded random permutation (seed=0 by default), so the same seed
  always gives the same subset while no example wins ties merely by its position. ``boundary_tie``
  says whether a budget's cut falls inside a block of equal primary scores and how large it is.
- ``top_quantile`` lists its result by descending score with the same seeded tie order; budget 0
  returns nothing (Du et al.: "r = 0 returns none").
- ``moderate_band``: ranks are taken in ascending score with seeded tie order; among two ranks equally
  far from the middle, the lower one comes first. Moderate-DS's official code ranks the distances of
  all classes together (not per class); so do we.
"""

from __future__ import annotations

import numpy as np

from prune_core.select._validate import (
    as_features,
    as_labels,
    as_scores,
    check_count,
    empty_indices,
    order_descending,
    row_norms,
    tie_break_rank,
)
from prune_core.select.budget import BudgetError


def top_k(scores: np.ndarray, k: int, *, seed: int = 0, secondary: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k highest scores, highest first (exact k).

    Ties go to the higher ``secondary`` score when one is given, then to a seeded random order.
    """
    s = as_scores(scores, where="top_k")
    k = check_count(k, s.shape[0], where="top_k")
    if k == 0:
        return empty_indices()
    if secondary is None:
        return order_descending(s, seed)[:k]
    tie = as_scores(secondary, where="top_k", name="secondary")
    if tie.shape != s.shape:
        raise ValueError(f"top_k: secondary has {tie.shape[0]} entries but scores has {s.shape[0]}")
    rank = tie_break_rank(s.shape[0], seed)
    return np.lexsort((rank, -tie, -s))[:k].astype(np.int64)


def boundary_tie(scores: np.ndarray, k: int) -> dict[str, int]:
    """The block of equal scores that a top-k cut splits: its size, and how many of it are kept.

    ``{"block": 0, "kept": 0}`` when the k-th and (k+1)-th highest scores differ (the cut is decided by
    the score alone); otherwise ``block`` examples share the boundary score and ``kept`` of them are in
    the subset, chosen by the tie-break.
    """
    s = as_scores(scores, where="boundary_tie")
    k = check_count(k, s.shape[0], where="boundary_tie")
    if k == 0 or k == s.shape[0]:
        return {"block": 0, "kept": 0}
    ordered = np.sort(s)[::-1]
    if ordered[k - 1] != ordered[k]:
        return {"block": 0, "kept": 0}
    value = ordered[k - 1]
    return {"block": int(np.sum(s == value)), "kept": int(k - np.sum(s > value))}


def top_quantile(scores: np.ndarray, budget: float, *, seed: int = 0) -> np.ndarray:
    """Du et al.'s rule: every index with score >= quantile(scores, 1 - budget), highest score first.

    The quantile uses linear interpolation (numpy's and torch.quantile's default), so ties at the
    threshold can return more than floor(budget * n) examples. budget 1 returns every example,
    budget 0 none.
    """
    s = as_scores(scores, where="top_quantile")
    frac = float(budget)
    if isinstance(budget, bool) or not 0.0 <= frac <= 1.0:
        raise BudgetError(f"top_quantile: expected a budget fraction in [0, 1], found {budget!r}")
    if frac == 0.0 or s.shape[0] == 0:
        return empty_indices()
    threshold = np.quantile(s, 1.0 - frac)
    order = order_descending(s, seed)
    return order[s[order] >= threshold]


def moderate_band_scores(scores: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Per-example "closeness to the median rank" (higher = nearer the middle), all values distinct.

    score_i = -|rank_i - (n - 1) / 2|, minus 0.25 for ranks above the middle so that of two ranks
    equally far from it the lower one wins (|rank - middle| moves in steps of 1, so 0.25 never
    reorders anything else). ``top_k`` of these scores is ``moderate_band``.
    """
    s = as_scores(scores, where="moderate_band_scores")
    n = s.shape[0]
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((tie_break_rank(n, seed), s))] = np.arange(n)
    middle = (n - 1) / 2.0
    return -np.abs(rank - middle) - 0.25 * (rank > middle)


def moderate_band(scores: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """The k examples whose score rank is closest to the median rank, closest first (Moderate-DS band).

    With r = k / n this is the central band of ranks [0.5 - r/2, 0.5 + r/2] of Xia et al. (2023).
    """
    band = moderate_band_scores(scores, seed=seed)
    k = check_count(k, band.shape[0], where="moderate_band")
    return top_k(band, k, seed=seed)


def moderate_distances(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance of each example to the coordinate-wise median of its class (Xia et al. 2023, get_distance).

    The median is robust to outliers and label noise, which is the point of Moderate-DS: examples
    far from it are hard or mislabelled, examples very near it are redundant.
    """
    x = as_features(features, where="moderate_distances")
    y = as_labels(labels, x.shape[0], where="moderate_distances")
    dist = np.zeros(x.shape[0], dtype=np.float64)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        median = np.median(x[members], axis=0)
        dist[members] = row_norms(x[members] - median)
    return dist


def moderate_coreset(features: np.ndarray, labels: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Moderate-DS selection: ``moderate_band(moderate_distances(features, labels), k)``."""
    return moderate_band(moderate_distances(features, labels), k, seed=seed)
