"""Selection algorithms as pure functions: arrays in, indices out, seeded, no I/O.

Du et al. (ACL 2025) decompose a pruning method into a representation and a selection algorithm; this
package is the second half. Every selector takes numpy arrays and an integer budget k and returns
distinct int64 indices in selection order; ``SELECTORS`` (registry.py) declares each algorithm once,
and the method registry, the grid, the lab, the contract tests and the benchmark derive from it.
"""

from __future__ import annotations

from prune_core.select.allocation import equal_split
from prune_core.select.annealing import group_annealing
from prune_core.select.balance import label_balanced, label_quota, on_subset
from prune_core.select.budget import BudgetError, budget_to_k
from prune_core.select.ccs import ccs, difficulty_strata
from prune_core.select.clustering import kmeans, prototypicality_scores, s2l, semdedup_scores
from prune_core.select.graph import d2, k_center_greedy, knn_graph
from prune_core.select.pursuit import cosamp_nnls, distributed_cosamp, nn_omp
from prune_core.select.random import random_subset
from prune_core.select.registry import (
    ALIASES,
    SELECTORS,
    Param,
    Selector,
    register_selector,
    resolve_selector,
)
from prune_core.select.submodular import craig_weights, facility_location
from prune_core.select.topk import (
    moderate_band,
    moderate_band_scores,
    moderate_coreset,
    moderate_distances,
    top_k,
    top_quantile,
)

__all__ = [
    "ALIASES",
    "SELECTORS",
    "BudgetError",
    "Param",
    "Selector",
    "budget_to_k",
    "ccs",
    "cosamp_nnls",
    "craig_weights",
    "d2",
    "difficulty_strata",
    "distributed_cosamp",
    "equal_split",
    "facility_location",
    "group_annealing",
    "k_center_greedy",
    "kmeans",
    "knn_graph",
    "label_balanced",
    "label_quota",
    "moderate_band",
    "moderate_band_scores",
    "moderate_coreset",
    "moderate_distances",
    "nn_omp",
    "on_subset",
    "prototypicality_scores",
    "random_subset",
    "register_selector",
    "resolve_selector",
    "s2l",
    "semdedup_scores",
    "top_k",
    "top_quantile",
]
