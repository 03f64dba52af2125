"""Label-balanced selection: run any selector inside each label with a fixed quota per label.

Why: LESS on an imbalanced dataset concentrated on one class and stratifying by label restored its
performance (Du et al. 2025, ACL, --balance_label). Du et al. apply the
quantile rule separately inside each label, so each label keeps its share of the data ("stratified");
giving every label the same count ("equal") is a different method, offered too.

Contract of ``select``: ``select(sub_idx, k_c)`` receives the absolute indices of one label's examples
and a quota, and returns **positions into sub_idx** (0 .. len(sub_idx) - 1). That way any selector
written for a whole dataset runs unchanged on the label's slice: ``on_subset(top_k, scores)`` builds
such a function from ``top_k(scores, k)``.

Quotas (our exact-k versions of the two rules):
- "stratified": label c gets floor(k n_c / n) plus one for the labels with the largest remainders
  (Hamilton's largest-remainder method, computed in integers), so the total is exactly k and each
  count is within one of k n_c / n.
- "equal": the ascending equal split of allocation.equal_split: labels visited from smallest to
  largest each get min(n_c, remaining // labels left), so small labels are capped at their size and
  their overflow goes to the larger ones; uncapped labels differ by at most one.
Ties (equal remainders, equal sizes) are ordered by a seeded random permutation of the labels.

Merged order: a prefix of the result stays balanced: the j-th pick of a label with q picks sits at
fractional position (j + 0.5) / q, and picks are merged by that position, then by label value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from prune_core.select._validate import as_labels, check_count, empty_indices, tie_break_rank
from prune_core.select.allocation import equal_split


def label_quota(labels: np.ndarray, k: int, mode: str = "stratified", *, seed: int = 0) -> dict[int, int]:
    """How many of the k kept examples each label receives (every label present appears, maybe with 0)."""
    y = as_labels(labels, None, where="label_quota")
    n = y.shape[0]
    k = check_count(k, n, where="label_quota")
    values, sizes = np.unique(y, return_counts=True)
    tie = tie_break_rank(values.shape[0], seed)
    if mode == "stratified":
        base = (k * sizes) // n
        remainder = (k * sizes) % n
        extra = k - int(base.sum())
        winners = np.lexsort((tie, -remainder))[:extra]
        base[winners] += 1
        quota = base
    elif mode == "equal":
        visit = np.argsort(tie)
        quota = np.zeros(values.shape[0], dtype=np.int64)
        quota[visit] = equal_split(sizes[visit], k, order="ascending")
    else:
        raise ValueError(f"label_quota: expected mode 'stratified' or 'equal', found {mode!r}")
    return {int(v): int(q) for v, q in zip(values, quota)}


def on_subset(
    function: Callable[..., object], *arrays: np.ndarray, **params: object
) -> Callable[[np.ndarray, int], np.ndarray]:
    """Adapt ``function(*arrays, k, **params)`` to the ``select(sub_idx, k_c)`` contract of label_balanced.

    Each array is sliced to the label's rows; a function returning (indices, weights) (the pursuits)
    contributes its indices.
    """

    def select(sub_idx: np.ndarray, k_c: int) -> np.ndarray:
        result = function(*(np.asarray(a)[sub_idx] for a in arrays), k_c, **params)
        return result[0] if isinstance(result, tuple) else result

    return select


def _checked_positions(positions: object, size: int, quota: int, label: int) -> np.ndarray:
    pos = np.asarray(positions, dtype=np.int64).ravel()
    if pos.size > quota:
        raise ValueError(
            f"label_balanced: the selector returned {pos.size} examples for label {label}, "
            f"more than its quota of {quota}"
        )
    if pos.size and (pos.min() < 0 or pos.max() >= size or np.unique(pos).size != pos.size):
        raise ValueError(
            f"label_balanced: expected distinct positions in 0..{size - 1} for label {label}, "
            f"found values {pos.min()}..{pos.max()} "
            f"({np.unique(pos).size} distinct of {pos.size})"
        )
    return pos


def label_balanced(
    select: Callable[[np.ndarray, int], np.ndarray],
    labels: np.ndarray,
    k: int,
    *,
    mode: str = "stratified",
    seed: int = 0,
) -> np.ndarray:
    """Run ``select`` inside every label with ``label_quota`` quotas and merge in interleaved order.

    Returns exactly k indices when ``select`` always returns its quota (a selector that returns fewer,
    such as S2L's "du" variant, gives a smaller total; one that returns more is an error).
    """
    y = as_labels(labels, None, where="label_balanced")
    quota = label_quota(y, k, mode, seed=seed)
    picks, keys, owners = [], [], []
    for order, (label, q) in enumerate(sorted(quota.items())):
        if q == 0:
            continue
        members = np.flatnonzero(y == label)
        chosen = members[_checked_positions(select(members, q), members.size, q, label)]
        picks.append(chosen)
        keys.append((np.arange(chosen.size) + 0.5) / max(chosen.size, 1))
        owners.append(np.full(chosen.size, order))
    if not picks:
        return empty_indices()
    merged = np.lexsort((np.concatenate(owners), np.concatenate(keys)))
    return np.concatenate(picks)[merged].astype(np.int64)
