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
Library rules are not written here: every selector of the selector table (prune_core/select/registry.py)
that reads a representation, plus the random baseline, runs in the lab with the table's own function and
declared parameters, so the lab runs exactly what the method registry's grid runs. The lab supplies the
inputs: ``features`` = the representation, ``difficulty`` = the h2l score (the toy has no logits, so no
AUM), ``target`` = the mean validation representation, ``n_clusters`` and ``seed`` from the lab's settings.

Contract: ``selector.function(inputs, k)`` returns int64 positions into ``inputs.train``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from prune_core.select import label_balanced
from prune_core.select.registry import SELECTORS as TABLE
from prune_core.select.registry import Selector, resolve_selector
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


_LIBRARY = "library"
# How the lab supplies each input of the selector table (prune_core/select/registry.py INPUTS).
_LAB_INPUTS: dict[str, Callable[[SelectionInput], np.ndarray]] = {
    "features": lambda i: i.train,
    "labels": lambda i: i.labels,
    "difficulty": lambda i: i.difficulty,
    "target": lambda i: i.validation.mean(axis=0),
    "validation": lambda i: i.validation,
    "validation_labels": lambda i: i.validation_labels,
}


def runs_in_lab(info: Selector) -> bool:
    """A table selector runs in the lab when it reads a representation (or nothing: the random baseline)."""
    return (info.takes_representation or not info.inputs) and set(info.inputs) <= set(_LAB_INPUTS)


def _library_rule(info: Selector) -> Callable[[SelectionInput, int], np.ndarray]:
    def rule(i: SelectionInput, k: int) -> np.ndarray:
        params = {"n_clusters": i.n_clusters} if "n_clusters" in info.params else {}
        arrays = {name: _LAB_INPUTS[name](i) for name in info.inputs}
        return info.run(n=i.train.shape[0], k=k, seed=i.seed, **arrays, **params)

    return rule


def _library_selector(info: Selector) -> LabSelector:
    return LabSelector(
        info.name,
        info.name,
        (info.objective or "baseline").capitalize(),
        _LIBRARY,
        _library_rule(info),
        f"{info.title} ({info.citation.split('. ')[0]}): {info.description}",
    )


_PAPER_RULES: dict[str, LabSelector] = {
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
    ]
}


class _LabTable(Mapping[str, LabSelector]):
    """The lab's rules: the paper's four, then the selector table's library rules, read live from the table
    (a selector registered there appears here too)."""

    def _library(self) -> dict[str, LabSelector]:
        return {name: _library_selector(info) for name, info in TABLE.items() if runs_in_lab(info)}

    def __getitem__(self, name: str) -> LabSelector:
        if name in _PAPER_RULES:
            return _PAPER_RULES[name]
        info = TABLE.get(resolve_selector(name))
        if info is None or not runs_in_lab(info):
            raise KeyError(name)
        return _library_selector(info)

    def __iter__(self):
        return iter([*_PAPER_RULES, *self._library()])

    def __len__(self) -> int:
        return len(_PAPER_RULES) + len(self._library())


class _LibraryNames(Sequence[str]):
    """Names of the library rules, live like ``SELECTORS``."""

    def _names(self) -> list[str]:
        return [name for name, s in SELECTORS.items() if s.source == _LIBRARY]

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())


SELECTORS: Mapping[str, LabSelector] = _LabTable()

PAPER_SELECTORS = ("h2l", "proto-paper", "s2l-paper", "less-paper")
LIBRARY_SELECTORS: Sequence[str] = _LibraryNames()

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
    """A lab rule by name; old selector names (``proto``, ``facility_location``, ...) resolve too."""
    try:
        return SELECTORS[name]
    except KeyError:
        raise ValueError(f"unknown lab selector {name!r}; expected one of {', '.join(SELECTORS)}") from None


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
