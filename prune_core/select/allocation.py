"""Split a budget as equally as possible across groups (strata, clusters, labels) of limited size.

Why one function: CCS (Zheng et al. 2023, ICLR; Coreset.py bin_allocate), the official S2L (Yang et
al. 2024, NeurIPS; s2l.py faiss_kmeans_selection), Du et al.'s S2L reimplementation (ACL 2025) and the
"equal" label balancing all use the same rule: visit the groups in order of size and give each
min(size, floor(remaining budget / groups still to visit)). Visiting the smallest first lets what a
small group cannot absorb flow to the larger ones, so the total is exactly min(k, sum of sizes);
visiting the largest first (Du et al.) can leave budget unspent.
"""

from __future__ import annotations

import numpy as np


def equal_split(sizes: np.ndarray, k: int, *, order: str = "ascending") -> np.ndarray:
    """Quota per group: groups visited by size, each gets min(size, remaining // groups left).

    ``order="ascending"`` (CCS, official S2L) always spends min(k, sizes.sum()); ``"descending"``
    (Du et al.'s S2L) may spend less. Empty groups get 0 and are not counted as groups left. Groups of
    equal size are visited in their given order.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if order not in ("ascending", "descending"):
        raise ValueError(f"equal_split: expected order 'ascending' or 'descending', found {order!r}")
    if (sizes < 0).any():
        raise ValueError(f"equal_split: group sizes must be >= 0, found {sizes[sizes < 0][:5].tolist()}")
    if k < 0:
        raise ValueError(f"equal_split: expected a budget k >= 0, found {k}")
    key = sizes if order == "ascending" else -sizes
    visit = [g for g in np.argsort(key, kind="stable") if sizes[g] > 0]
    quota = np.zeros(sizes.shape[0], dtype=np.int64)
    remaining = int(k)
    for position, group in enumerate(visit):
        share = remaining // (len(visit) - position)
        quota[group] = min(int(sizes[group]), share)
        remaining -= int(quota[group])
    return quota
