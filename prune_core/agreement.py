"""How much subsets and score orders agree, and how much they would agree by chance.

Pure maths shared by the grid analysis (``analysis_grid.py``), seed stability and cross-run comparison
(``stability.py``) and the budget sweeps (``sweeps.py``). Du et al. (2025, ACL) compare subsets by
Jaccard; a Jaccard is only readable next to what two *unrelated* subsets of the same sizes would share,
so every summary here carries the exact random-subset expectation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import hypergeom

from prune_core.analysis import jaccard_matrix


def expected_random_jaccard(k: int, n: int, k_other: int | None = None) -> float:
    """Exact E[|A & B| / |A | B|] for independent uniform random subsets A (size k), B (size k_other) of n.

    The intersection X of the two subsets is hypergeometric (population n, k marked, k_other drawn), and
    J = X / (k + k_other - X), so E[J] = sum_x P(X = x) x / (k + k_other - x). (The first-order
    k / (2n - k) of ``prune_core.simulate.lab.chance_jaccard`` is close but not exact at small n.)
    Two empty subsets have an undefined Jaccard: NaN.
    """
    k_other = k if k_other is None else k_other
    for name, value in (("k", k), ("k_other", k_other)):
        if isinstance(value, bool) or not 0 <= int(value) <= n:
            raise ValueError(f"expected_random_jaccard: expected 0 <= {name} <= n = {n}, found {value!r}")
    k, k_other, n = int(k), int(k_other), int(n)
    if k + k_other == 0:
        return float("nan")
    if max(k, k_other) == n:  # one subset is everything: the other is the intersection, exactly
        return min(k, k_other) / n
    low, high = max(0, k + k_other - n), min(k, k_other)
    x = np.arange(low, high + 1)
    pmf = hypergeom(n, k, k_other).pmf(x)
    return float(np.sum(pmf * x / (k + k_other - x)))


@dataclass(frozen=True)
class Spread:
    """Mean of some pairwise values with their spread: how many pairs, min, max, standard deviation."""

    mean: float
    low: float
    high: float
    std: float
    pairs: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
        if arr.size == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, 0)
        return cls(float(arr.mean()), float(arr.min()), float(arr.max()), float(arr.std()), int(arr.size))

    def to_dict(self) -> dict:
        return {
            "mean": finite(self.mean),
            "min": finite(self.low),
            "max": finite(self.high),
            "std": finite(self.std),
            "pairs": self.pairs,
        }


def pairwise_jaccards(subsets: Mapping[str, Iterable]) -> dict[tuple[str, str], float]:
    """Jaccard of every unordered pair of subsets, keyed (a, b) in the mapping's order."""
    names = list(subsets)
    if len(names) < 2:
        return {}
    matrix = jaccard_matrix(subsets)
    return {(a, b): float(matrix.loc[a, b]) for a, b in combinations(names, 2)}


def mean_pairwise_jaccard(subsets: Mapping[str, Iterable]) -> Spread:
    """Mean (and spread) of the Jaccard over every pair of the given subsets."""
    return Spread.of(pairwise_jaccards(subsets).values())


def excess_over_chance(value: float, chance: float) -> float:
    """(J - E[J]) / (1 - E[J]): 0 = as alike as random subsets, 1 = identical; NaN when undefined."""
    if not (np.isfinite(value) and np.isfinite(chance)) or chance >= 1:
        return float("nan")
    return float((value - chance) / (1 - chance))


def random_spearman_spread(n: int) -> float:
    """Standard deviation of Spearman's rho between two independent random orders of n items: 1 / sqrt(n-1).

    Its expectation is 0; this is the band a cross-seed correlation must clear to mean anything.
    """
    if n < 2:
        return float("nan")
    return float(1.0 / np.sqrt(n - 1))


def finite(value):
    """NaN or inf becomes None and numpy scalars become Python ones, so reports are strict JSON."""
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def strict_json(obj):
    """A nested structure of dicts, lists and numbers with every NaN / inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return finite(obj)
