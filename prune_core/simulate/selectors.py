"""Selection rules of the lab: the seed paper's four toy rules, and every library selector that takes a
representation, all under one calling convention so any rule runs on any representation.

Why two families: the six-panel figure of Du et al. (2025, ACL; sampling_toy.ipynb)
must reproduce, so its rules are kept exactly as the notebook writes them (sklearn KMeans with
``random_state=seed``, ``np.argsort(score)[-k:]``); the grid then runs the library's own selectors
(``prune_core.select``, ``prune_core.scores``) so a user sees how the published methods behave on data
whose structure is known. The paper's rules, with k = int(r n):
- Difficulty_h2l on loss trajectories: score 1 + mean_e exp(loss_e); keep the k highest.
- Difficulty_proto: distance to the nearest of K k-means centroids; keep the k farthest.
- Diversity_s2l (the notebook's simple S2L): int(k / K) random members of each k-means cluster, the
  whole cluster if smaller, leftovers not redistributed, so it may return fewer than k.
- Relevance_less: dot product with the mean validation representation; keep the k highest.
Library choices: LESS is ``scores.less`` (cosine, max over validation label groups, as the method
registry's grid cell); D2's difficulty is the h2l score (the toy has no logits, so no AUM);
GradMatch and GTP match the mean validation representation; k-center, CRAIG and S2L run on the raw
representation (no normalisation), SemDeDup on normalised rows (cosines), as the registry does.

Contract: ``selector.function(inputs, k)`` returns int64 positions into ``inputs.train``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from prune_core.scores import less
from prune_core.select import (
    cosamp_nnls,
    d2,
    facility_location,
    k_center_greedy,
    label_balanced,
    moderate_coreset,
    nn_omp,
    prototypicality_scores,
    random_subset,
    s2l,
    semdedup_scores,
    top_k,
)
from prune_core.simulate.model import REPRESENTATIONS, hard_to_learn_scores


@dataclass(frozen=True)
class SelectionInput:
    """What a rule may read: the candidates' representation, labels and difficulty, and the validation set."""

    train: np.ndarray  # [n, d] representation of the candidates
    validation: np.ndarray  # [m, d] the same representation of the validation examples
    labels: np.ndarray  # [n] in {-1, +1}
    validation_labels: np.ndarray  # [m]
    difficulty: np.ndarray  # [n] the h2l score (for D2)
    n_clusters: int = 2
    seed: int = 42

    def rows(self, index: np.ndarray) -> SelectionInput:
        """The same input restricted to the candidates ``index`` (the validation side is unchanged)."""
        return replace(
            self, train=self.train[index], labels=self.labels[index], difficulty=self.difficulty[index]
        )


@dataclass(frozen=True)
class LabSelector:
    name: str
    short: str  # subscript in the paper's panel titles: h2l, proto, s2l, less, ...
    objective: str  # Difficulty, Diversity, Relevance, Baseline
    source: str  # "paper" (the notebook's rule) or "library" (prune_core.select)
    function: Callable[[SelectionInput, int], np.ndarray]
    description: str
    representations: tuple[str, ...] = REPRESENTATIONS
    exact_budget: bool = True


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _notebook_top(scores: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(scores)[-k:]`` as the notebook writes it (k = 0 keeps nothing, not everything)."""
    return np.argsort(scores)[len(scores) - k :].astype(np.int64) if k > 0 else _empty()


def _kmeans(inputs: SelectionInput, fit: str) -> np.ndarray:
    """The notebook's ``KMeans(n_clusters=K, random_state=seed).<fit>(representation)``."""
    model = KMeans(n_clusters=min(inputs.n_clusters, inputs.train.shape[0]), random_state=inputs.seed)
    return getattr(model, fit)(inputs.train)


def paper_h2l(inputs: SelectionInput, k: int) -> np.ndarray:
    return _notebook_top(hard_to_learn_scores(inputs.train), k)


def paper_proto(inputs: SelectionInput, k: int) -> np.ndarray:
    if k == 0:
        return _empty()
    return _notebook_top(_kmeans(inputs, "fit_transform").min(axis=1), k)


def paper_s2l(inputs: SelectionInput, k: int) -> np.ndarray:
    if k == 0:
        return _empty()
    clusters = _kmeans(inputs, "fit_predict")
    per_cluster = k // inputs.n_clusters  # int(r n / K) in the notebook, with k = int(r n)
    rng = np.random.default_rng(inputs.seed)  # the notebook shuffles with numpy's global seed 42
    kept = []
    for cluster in np.unique(clusters):
        members = np.flatnonzero(clusters == cluster)
        rng.shuffle(members)
        kept.append(members[:per_cluster])
    return np.concatenate(kept).astype(np.int64)


def paper_less(inputs: SelectionInput, k: int) -> np.ndarray:
    return _notebook_top(inputs.train @ inputs.validation.mean(axis=0), k)


def _proto(i: SelectionInput, k: int) -> np.ndarray:
    scores = prototypicality_scores(i.train, n_clusters=i.n_clusters, seed=i.seed, normalize=False)
    return top_k(scores, k, seed=i.seed)


def _semdedup(i: SelectionInput, k: int) -> np.ndarray:
    scores = semdedup_scores(i.train, n_clusters=i.n_clusters, seed=i.seed, normalize=True)
    return top_k(scores, k, seed=i.seed)


def _less(i: SelectionInput, k: int) -> np.ndarray:
    return top_k(less([i.train], [i.validation], [1.0], val_groups=i.validation_labels), k, seed=i.seed)


def _moderate(i: SelectionInput, k: int) -> np.ndarray:
    return moderate_coreset(i.train, i.labels, k, seed=i.seed)


def _s2l(i: SelectionInput, k: int) -> np.ndarray:
    return s2l(i.train, k, n_clusters=i.n_clusters, seed=i.seed, variant="official")


def _kcenter(i: SelectionInput, k: int) -> np.ndarray:
    return k_center_greedy(i.train, k, seed=i.seed)


def _craig(i: SelectionInput, k: int) -> np.ndarray:
    return facility_location(i.train, k, seed=i.seed)


def _d2(i: SelectionInput, k: int) -> np.ndarray:
    return d2(i.difficulty, i.train, k, seed=i.seed)


def _gradmatch(i: SelectionInput, k: int) -> np.ndarray:
    return nn_omp(i.train, i.validation.mean(axis=0), k)[0]


def _gtp(i: SelectionInput, k: int) -> np.ndarray:
    return cosamp_nnls(i.train, i.validation.mean(axis=0), k, seed=i.seed)[0]


def _random(i: SelectionInput, k: int) -> np.ndarray:
    return random_subset(i.train.shape[0], k, seed=i.seed)


_LIBRARY = "library"
SELECTORS: dict[str, LabSelector] = {
    s.name: s
    for s in [
        LabSelector(
            "h2l",
            "h2l",
            "Difficulty",
            "paper",
            paper_h2l,
            "Hard-to-learn: keep the highest 1 + mean exp(loss) over epochs (loss trajectories only).",
            representations=("loss",),
        ),
        LabSelector(
            "proto-paper",
            "proto",
            "Difficulty",
            "paper",
            paper_proto,
            "The notebook's prototypicality: keep the points farthest from the nearest KMeans centroid.",
        ),
        LabSelector(
            "s2l-paper",
            "s2l",
            "Diversity",
            "paper",
            paper_s2l,
            "The notebook's S2L: int(k / K) random points per KMeans cluster (may return fewer than k).",
            exact_budget=False,
        ),
        LabSelector(
            "less-paper",
            "less",
            "Relevance",
            "paper",
            paper_less,
            "The notebook's relevance: the highest dot product with the mean validation representation.",
        ),
        LabSelector(
            "proto",
            "proto",
            "Difficulty",
            _LIBRARY,
            _proto,
            "Prototypicality (Sorscher et al. 2022): squared distance to the nearest centroid.",
        ),
        LabSelector(
            "semdedup",
            "semdedup",
            "Diversity",
            _LIBRARY,
            _semdedup,
            "SemDeDup (Abbas et al. 2023), budgeted: keep the least duplicated inside each cluster.",
        ),
        LabSelector(
            "moderate",
            "moderate",
            "Difficulty",
            _LIBRARY,
            _moderate,
            "Moderate coreset (Xia et al. 2023): distance to the class median nearest its median.",
        ),
        LabSelector(
            "less",
            "less",
            "Relevance",
            _LIBRARY,
            _less,
            "LESS (Xia et al. 2024) rule: cosine to each validation label's mean, max over labels.",
        ),
        LabSelector(
            "s2l",
            "s2l",
            "Diversity",
            _LIBRARY,
            _s2l,
            "S2L (Yang et al. 2024), official variant: equal split across clusters, exactly k.",
        ),
        LabSelector(
            "kcenter",
            "kcenter",
            "Diversity",
            _LIBRARY,
            _kcenter,
            "k-center greedy (Sener & Savarese 2018): add the point farthest from those chosen.",
        ),
        LabSelector(
            "craig",
            "craig",
            "Diversity",
            _LIBRARY,
            _craig,
            "CRAIG (Mirzasoleiman et al. 2020): facility location by lazy greedy.",
        ),
        LabSelector(
            "d2",
            "d2",
            "Diversity",
            _LIBRARY,
            _d2,
            "D2 pruning (Maharana et al. 2024): h2l difficulty spread over the k-NN graph.",
        ),
        LabSelector(
            "gradmatch",
            "gradmatch",
            "Relevance",
            _LIBRARY,
            _gradmatch,
            "GradMatch (Killamsetty et al. 2021): non-negative OMP matching the mean validation vector.",
        ),
        LabSelector(
            "gtp",
            "gtp",
            "Relevance",
            _LIBRARY,
            _gtp,
            "GTP (Deng et al. 2024): CoSaMP + NNLS matching the mean validation representation.",
        ),
        LabSelector(
            "random",
            "random",
            "Baseline",
            _LIBRARY,
            _random,
            "Uniform random subset (ignores the representation: identical in every column).",
        ),
    ]
}

PAPER_SELECTORS = ("h2l", "proto-paper", "s2l-paper", "less-paper")
LIBRARY_SELECTORS = tuple(name for name, s in SELECTORS.items() if s.source == "library")

# Du et al.'s main figure (3 columns x 2 rows) and its appendix row, as (representation, selector).
# The notebook titles the third panel "Diversity_s2l" although it plots prototypicality on gradients.
PAPER_FIGURE = (
    ("loss", "proto-paper"),
    ("hidden", "proto-paper"),
    ("gradient", "proto-paper"),
    ("loss", "h2l"),
    ("hidden", "s2l-paper"),
    ("gradient", "s2l-paper"),
)
PAPER_APPENDIX = (
    ("loss", "s2l-paper"),
    ("loss", "less-paper"),
    ("hidden", "less-paper"),
    ("gradient", "less-paper"),
)
REPRESENTATION_SYMBOLS = {"loss": "ℓ", "hidden": "h", "gradient": "∇ℓ"}


def get_selector(name: str) -> LabSelector:
    if name not in SELECTORS:
        raise ValueError(f"unknown lab selector {name!r}; expected one of {', '.join(SELECTORS)}")
    return SELECTORS[name]


def panel_title(representation: str, selector: str) -> str:
    """The paper's panel name for its rules ("ℓ-Difficulty_proto"), "<symbol> · <name>" for library ones."""
    s = get_selector(selector)
    symbol = REPRESENTATION_SYMBOLS[representation]
    return f"{symbol}-{s.objective}_{s.short}" if s.source == "paper" else f"{symbol} · {s.name}"


def run_selector(selector: str, inputs: SelectionInput, k: int, *, balanced: bool = False) -> np.ndarray:
    """Positions of the kept candidates; ``balanced`` keeps each label's share (Du et al.'s --balance_label).

    Runs with one BLAS / OpenMP thread: at the lab's sizes the default pools spin on a busy 2-core
    machine (measured: sklearn KMeans on 600 points 0.5 s instead of 10 ms, k-center 0.5 s instead of
    0.04 s); the selections are the same.
    """
    rule = get_selector(selector)
    n = inputs.train.shape[0]
    if isinstance(k, bool) or not 0 <= int(k) <= n:
        raise ValueError(f"run_selector({selector!r}): expected 0 <= k <= {n} candidates, found k = {k!r}")
    with threadpool_limits(limits=1):
        if not balanced:
            return np.asarray(rule.function(inputs, int(k)), dtype=np.int64)
        return label_balanced(
            lambda sub, quota: rule.function(inputs.rows(sub), quota),
            inputs.labels,
            int(k),
            mode="stratified",
            seed=inputs.seed,
        )
