"""Uniform random selection, the baseline every pruning paper compares against.

Why seeded: Du et al. (2025, ACL) draw random scores with an unseeded torch.rand,
which makes their random baseline irreproducible. Here the subset is the first k entries of a seeded
permutation, so a larger budget with the same seed always contains the smaller one.
"""

from __future__ import annotations

import numbers

import numpy as np

from prune_core.select._validate import check_count


def random_subset(n: int, k: int, *, seed: int = 0) -> np.ndarray:
    """k distinct indices out of range(n), drawn uniformly without replacement from a seeded permutation."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"random_subset: expected n to be a non-negative integer, found {n!r}")
    k = check_count(k, int(n), where="random_subset")
    return np.random.default_rng(seed).permutation(int(n))[:k].astype(np.int64)
