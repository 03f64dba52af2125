"""The selector registry: every selection algorithm behind one keyword calling convention.

Why: the method registry (prune_core/methods.py) pairs a representation with a selector (Du et al.
2025, ACL: method = representation x selection algorithm). It should not need to know that CCS wants a
difficulty vector, S2L a feature matrix and GTP a target gradient, so every entry here is called as

    info.function(n=n, k=k, seed=seed, **{name: array for name in info.inputs}, **params)

and returns int64 indices in selection order. ``inputs`` names the arrays it needs: "scores" (float
[n], higher = keep; for "ccs" and "d2" a difficulty, higher = harder, which is the stored orientation of
difficulty scores), "features" (float [n, d]), "labels" (int [n]), "target" (float [d]) and
"influence" (float [n, p]). ``kind`` is "score" when every budget keeps the top of one per-example score
(subsets are nested across budgets; ``score_function(n=, seed=, **inputs)`` returns that score, higher =
keep) and "set" when the subset is chosen jointly for its budget. Only "quantile" may return more than
k indices (ties at its threshold); S2L's "du" variant, reachable through params, may return fewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from prune_core.select._validate import as_scores, check_count
from prune_core.select.annealing import group_annealing
from prune_core.select.ccs import ccs
from prune_core.select.clustering import prototypicality_scores, s2l, semdedup_scores
from prune_core.select.graph import d2, k_center_greedy
from prune_core.select.pursuit import cosamp_nnls, nn_omp
from prune_core.select.random import random_subset
from prune_core.select.submodular import facility_location
from prune_core.select.topk import (
    moderate_band_scores,
    moderate_coreset,
    moderate_distances,
    top_k,
    top_quantile,
)


@dataclass(frozen=True)
class SelectorInfo:
    """One selection algorithm: how to call it, what it needs, where it comes from."""

    name: str
    function: Callable[..., np.ndarray]
    inputs: tuple[str, ...]
    kind: str
    title: str
    citation: str
    description: str
    score_function: Callable[..., np.ndarray] | None = None


def _rows(array: np.ndarray, n: int, name: str, selector: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.shape[0] != n:
        raise ValueError(f"selector {selector!r}: expected {name} with n = {n} rows, found shape {arr.shape}")
    return arr


def _top_k(*, n: int, k: int, scores: np.ndarray, seed: int = 0) -> np.ndarray:
    return top_k(_rows(scores, n, "scores", "top_k"), k, seed=seed)


def _quantile(*, n: int, k: int, scores: np.ndarray, seed: int = 0) -> np.ndarray:
    k = check_count(k, n, where="quantile")
    return top_quantile(_rows(scores, n, "scores", "quantile"), k / n if n else 0.0, seed=seed)


def _given_scores(*, n: int, scores: np.ndarray, seed: int = 0) -> np.ndarray:
    return as_scores(_rows(scores, n, "scores", "top_k"), where="score_function")


def _moderate(*, n: int, k: int, features: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    return moderate_coreset(_rows(features, n, "features", "moderate"), labels, k, seed=seed)


def _moderate_scores(*, n: int, features: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    distances = moderate_distances(_rows(features, n, "features", "moderate"), labels)
    return moderate_band_scores(distances, seed=seed)


def _ccs(*, n: int, k: int, scores: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return ccs(_rows(scores, n, "scores", "ccs"), k, seed=seed, **params)


def _prototypicality(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return top_k(_prototypicality_scores(n=n, features=features, seed=seed, **params), k, seed=seed)


def _prototypicality_scores(*, n: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return prototypicality_scores(_rows(features, n, "features", "prototypicality"), seed=seed, **params)


def _semdedup(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return top_k(_semdedup_scores(n=n, features=features, seed=seed, **params), k, seed=seed)


def _semdedup_scores(*, n: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return semdedup_scores(_rows(features, n, "features", "semdedup"), seed=seed, **params)


def _s2l(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return s2l(_rows(features, n, "features", "s2l"), k, seed=seed, **params)


def _d2(
    *, n: int, k: int, scores: np.ndarray, features: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    return d2(_rows(scores, n, "scores", "d2"), _rows(features, n, "features", "d2"), k, seed=seed, **params)


def _kcenter(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return k_center_greedy(_rows(features, n, "features", "kcenter"), k, seed=seed, **params)


def _facility_location(
    *, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    return facility_location(_rows(features, n, "features", "facility_location"), k, seed=seed, **params)


def _nn_omp(
    *, n: int, k: int, features: np.ndarray, target: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    return nn_omp(_rows(features, n, "features", "nn_omp"), target, k, seed=seed, **params)[0]


def _cosamp(
    *, n: int, k: int, features: np.ndarray, target: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    return cosamp_nnls(_rows(features, n, "features", "cosamp"), target, k, seed=seed, **params)[0]


def _group_annealing(*, n: int, k: int, influence: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return group_annealing(_rows(influence, n, "influence", "group_annealing"), k, seed=seed, **params)


def _random(*, n: int, k: int, seed: int = 0) -> np.ndarray:
    return random_subset(n, k, seed=seed)


def _random_scores(*, n: int, seed: int = 0) -> np.ndarray:
    """1 - position / n in the seeded permutation: top_k of these equals random_subset."""
    scores = np.empty(n, dtype=np.float64)
    scores[random_subset(n, n, seed=seed)] = 1.0 - np.arange(n) / max(n, 1)
    return scores


_DU = (
    "Du, Song, Wong, Ignatev, Gatt & Nguyen (2025). Disentangling the Roles of Representation and "
    "Selection in Data Pruning. ACL 2025."
)

_ENTRIES = (
    SelectorInfo(
        "top_k",
        _top_k,
        ("scores",),
        "score",
        "Top-k by score",
        _DU,
        "Keep exactly the k highest scores; ties in a seeded random order.",
        _given_scores,
    ),
    SelectorInfo(
        "quantile",
        _quantile,
        ("scores",),
        "score",
        "Quantile rule (Du et al.)",
        _DU,
        "Keep every score >= quantile(1 - k/n) with linear interpolation; ties can exceed k.",
        _given_scores,
    ),
    SelectorInfo(
        "moderate",
        _moderate,
        ("features", "labels"),
        "score",
        "Moderate coreset",
        "Xia, Liu, Yu, Shen, Han & Liu (2023). Moderate Coreset: A Universal Method of Data "
        "Selection for Real-world Data-efficient Deep Learning. ICLR 2023.",
        "Keep the examples whose distance to their class median is closest to the median distance.",
        _moderate_scores,
    ),
    SelectorInfo(
        "ccs",
        _ccs,
        ("scores",),
        "set",
        "Coverage-centric coreset selection",
        "Zheng, Liu, Lai & Prakash (2023). Coverage-centric Coreset Selection for High Pruning "
        "Rates. ICLR 2023.",
        "Drop the hardest beta fraction, split the difficulty range into equal-width strata, "
        "share the budget equally across strata, sample at random inside each.",
    ),
    SelectorInfo(
        "prototypicality",
        _prototypicality,
        ("features",),
        "score",
        "Prototypicality (k-means distance)",
        "Sorscher, Geirhos, Shekhar, Ganguli & Morcos (2022). Beyond neural scaling laws: beating "
        "power law scaling via data pruning. NeurIPS 2022.",
        "Keep the examples farthest from their nearest k-means centroid (keep='easy' reverses).",
        _prototypicality_scores,
    ),
    SelectorInfo(
        "semdedup",
        _semdedup,
        ("features",),
        "score",
        "SemDeDup (budgeted)",
        "Abbas, Tirumala, Simig, Ganguli & Morcos (2023). SemDeDup: Data-efficient learning at "
        "web-scale through semantic deduplication. arXiv:2303.09540.",
        "Within each k-means cluster penalise examples similar to a member farther from the "
        "centroid; keep the least duplicated.",
        _semdedup_scores,
    ),
    SelectorInfo(
        "s2l",
        _s2l,
        ("features",),
        "set",
        "SmallToLarge (S2L)",
        "Yang, Mishra, Chiang & Mirzasoleiman (2024). SmallToLarge (S2L): Scalable Data Selection "
        "for Fine-tuning Large Language Models by Summarizing Training Trajectories of Small "
        "Models. NeurIPS 2024.",
        "Cluster the representation (loss trajectories) and draw the budget equally across clusters.",
    ),
    SelectorInfo(
        "d2",
        _d2,
        ("scores", "features"),
        "set",
        "D2 pruning",
        "Maharana, Yadav & Bansal (2024). D2 Pruning: Message Passing for Balancing Diversity "
        "and Difficulty in Data Pruning. ICLR 2024.",
        "Spread difficulty over the k-NN graph, then pick the top node and damp its neighbours, repeatedly.",
    ),
    SelectorInfo(
        "kcenter",
        _kcenter,
        ("features",),
        "set",
        "k-center greedy (core-set)",
        "Sener & Savarese (2018). Active Learning for Convolutional Neural Networks: A Core-Set "
        "Approach. ICLR 2018.",
        "Repeatedly add the example farthest from those already chosen (2-approximate minimax cover).",
    ),
    SelectorInfo(
        "facility_location",
        _facility_location,
        ("features",),
        "set",
        "Facility location (CRAIG)",
        "Mirzasoleiman, Bilmes & Leskovec (2020). Coresets for Data-efficient Training of Machine "
        "Learning Models. ICML 2020.",
        "Lazy greedy maximisation of sum_i max_{j in S} sim(i, j): a subset that represents everyone.",
    ),
    SelectorInfo(
        "nn_omp",
        _nn_omp,
        ("features", "target"),
        "set",
        "GradMatch (non-negative OMP)",
        "Killamsetty, Sivasubramanian, Ramakrishnan, De & Iyer (2021). GRAD-MATCH: Gradient "
        "Matching based Data Subset Selection for Efficient Deep Model Training. ICML 2021.",
        "Add one example at a time so that a non-negative weighted sum of the chosen rows "
        "matches the target gradient.",
    ),
    SelectorInfo(
        "cosamp",
        _cosamp,
        ("features", "target"),
        "set",
        "Gradient trajectory pursuit (CoSaMP)",
        "Deng, Li & Li (2024). Influential Language Data Selection via Gradient Trajectory "
        "Pursuit. arXiv:2410.16710.",
        "Sparse non-negative reconstruction of the target gradient (trajectory) by CoSaMP with NNLS.",
    ),
    SelectorInfo(
        "group_annealing",
        _group_annealing,
        ("influence",),
        "set",
        "Dataset pruning with group effect",
        "Yang, Xie, Peng, Xu, Sun & Li (2023). Dataset Pruning: Reducing Training Data by Examining "
        "Generalization Influence. ICLR 2023.",
        "Prune the n - k examples whose summed parameter influence is smallest, by simulated annealing.",
    ),
    SelectorInfo(
        "random",
        _random,
        (),
        "score",
        "Random",
        _DU,
        "Uniform random subset from a seeded permutation (larger budgets contain smaller ones).",
        _random_scores,
    ),
)

SELECTORS: dict[str, SelectorInfo] = {info.name: info for info in _ENTRIES}
