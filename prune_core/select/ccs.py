"""Coverage-centric coreset selection (CCS): stratified sampling over the difficulty range.

Zheng, Liu, Lai & Prakash (2023), "Coverage-centric Coreset Selection for High Pruning Rates",
ICLR 2023 (reference code Coreset.py stratified_sampling / bin_allocate /
mislabel_mask). Why: keeping only the hardest examples fails at high pruning rates because whole
regions of the data distribution lose coverage; CCS keeps a spread of difficulties instead.

Rule: (1) drop the beta fraction of hardest examples (likely mislabelled); (2) cut the remaining
score range into ``n_strata`` equal-width strata; (3) visit strata in ascending population, each gets
min(population, floor(remaining budget / strata left)); (4) draw uniformly at random inside a stratum.

Input orientation: ``scores`` is a difficulty, higher = harder (EL2N, forgetting, -AUM: the stored
"higher = keep" orientation of a difficulty score).

beta per pruning rate (``beta="schedule"``, the preset's default): the authors never run CCS with
beta = 0; their README's example removes 0.3 of the data at a 90 % pruning rate and the paper's
hard-cutoff table uses beta from 0.1 to 0.4, larger for higher pruning rates. ``HARD_CUT_SCHEDULE``
encodes that reading: 0.1 below a 70 % pruning rate, 0.2 from 70 %, 0.3 from 80 % (the README's 90 %
example) and 0.4 from 95 %.

Choices where the reference is silent or differs (our choices, named as such):
- beta removes floor(beta * n) examples (ties among the hardest in a seeded random order). If that
  leaves fewer than k examples, the removal shrinks to n - k so the budget is still met exactly.
- Strata are equal-width on [min, max] of the remaining scores with the maximum in the last stratum
  (the reference stretches the top by max * 1.0001 to the same effect); all-equal scores form one stratum.
- Selection order: strata in their visiting order (ascending population), inside a stratum the random
  draw order.
"""

from __future__ import annotations

import math

import numpy as np

from prune_core.select._validate import as_scores, check_count, empty_indices, order_descending
from prune_core.select.allocation import equal_split


def difficulty_strata(scores: np.ndarray, n_strata: int) -> np.ndarray:
    """Stratum id (0 = easiest) of each score among ``n_strata`` equal-width strata over [min, max]."""
    s = np.asarray(scores, dtype=np.float64)
    if n_strata < 1:
        raise ValueError(f"difficulty_strata: expected n_strata >= 1, found {n_strata}")
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = float(s.min()), float(s.max())
    if hi == lo:
        return np.zeros(s.shape[0], dtype=np.int64)
    width = (hi - lo) / n_strata
    return np.clip(np.floor((s - lo) / width), 0, n_strata - 1).astype(np.int64)


# (smallest pruning rate, beta) steps, highest first: the authors' beta grows with the pruning rate.
HARD_CUT_SCHEDULE = ((0.95, 0.4), (0.8, 0.3), (0.7, 0.2), (0.0, 0.1))


def scheduled_beta(k: int, n: int) -> float:
    """The hard-cut fraction CCS's authors use at the pruning rate 1 - k / n (``HARD_CUT_SCHEDULE``)."""
    rate = 1.0 - k / n if n else 0.0
    return next(beta for floor, beta in HARD_CUT_SCHEDULE if rate >= floor)


def resolve_beta(beta: float | str, k: int, n: int, where: str) -> float:
    """A numeric hard-cut fraction: ``beta`` itself, or the schedule's value for ``beta="schedule"``."""
    if isinstance(beta, str):
        if beta != "schedule":
            raise ValueError(f"{where}: expected beta in [0, 1) or 'schedule', found {beta!r}")
        return scheduled_beta(k, n)
    if not 0.0 <= float(beta) < 1.0:
        raise ValueError(f"{where}: expected the hard-removal fraction beta in [0, 1), found {beta!r}")
    return float(beta)


def ccs(
    scores: np.ndarray, k: int, *, beta: float | str = 0.0, n_strata: int = 50, seed: int = 0
) -> np.ndarray:
    """CCS subset of exactly k indices from difficulty ``scores`` (higher = harder).

    ``beta`` is the fraction of hardest examples removed first, or "schedule" for the authors' value at
    this pruning rate (``scheduled_beta``).
    """
    s = as_scores(scores, where="ccs")
    n = s.shape[0]
    k = check_count(k, n, where="ccs")
    beta = resolve_beta(beta, k, n, "ccs")
    if k == 0:
        return empty_indices()
    n_drop = min(math.floor(float(beta) * n), n - k)
    pool = order_descending(s, seed)[n_drop:]

    stratum = difficulty_strata(s[pool], n_strata)
    populations = np.bincount(stratum, minlength=n_strata)
    quota = equal_split(populations, k, order="ascending")

    rng = np.random.default_rng(seed)
    chosen = []
    for group in np.argsort(populations, kind="stable"):
        if quota[group] == 0:
            continue
        members = pool[stratum == group]
        chosen.append(rng.choice(members, size=int(quota[group]), replace=False))
    return np.concatenate(chosen).astype(np.int64)
