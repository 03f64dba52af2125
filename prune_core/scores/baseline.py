"""The random baseline score: what every method's correlations and subsets are compared against."""

from __future__ import annotations

import numpy as np


def random_scores(n: int, seed: int = 0) -> np.ndarray:
    """Uniform scores in [0, 1), one per example, from ``numpy.random.default_rng(seed)``.

    Du et al. (2025, method ``random``) draw torch.rand unseeded; a seed makes the baseline
    reproducible and lets the dashboard show several random draws as a null band.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"random_scores: expected a number of examples n >= 0, found {n!r}")
    return np.random.default_rng(seed).random(int(n))
