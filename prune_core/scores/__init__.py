"""Per-example scores of the published pruning methods, oriented higher = keep.

Pure functions: stored arrays in, one float64 score per example out, no file I/O. Modules follow the
representation a score is computed from: ``dynamics`` (training dynamics and predictions), ``gradients``
(projected per-example gradients and other per-checkpoint features), ``influence`` (last-layer
influence functions) and ``baseline`` (random). Every score passes through ``nan_to_min``.
"""

from __future__ import annotations

from prune_core.scores.arrays import nan_to_min
from prune_core.scores.baseline import random_scores
from prune_core.scores.dynamics import (
    accumulated_probability_margin,
    aum,
    datamap,
    el2n,
    forgetting_counts,
)
from prune_core.scores.gradients import grand, less, memorization, relevance_dot, reverse_less, tracin
from prune_core.scores.influence import influence_vectors, last_layer_influence

__all__ = [
    "accumulated_probability_margin",
    "aum",
    "datamap",
    "el2n",
    "forgetting_counts",
    "grand",
    "influence_vectors",
    "last_layer_influence",
    "less",
    "memorization",
    "nan_to_min",
    "random_scores",
    "relevance_dot",
    "reverse_less",
    "tracin",
]
