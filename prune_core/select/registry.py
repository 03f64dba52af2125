"""The selector table: every selection algorithm declared once, under its one name.

Why one table: Du et al. (2025, ACL) decompose a pruning method into a representation and a selection
algorithm. The method registry (prune_core/methods/registry.py: presets and the representation x selector
grid), the Gaussian-mixture lab (prune_core/simulate/selectors.py), the contract tests
(tests/test_select_contract.py) and the benchmark (bench/bench_selectors.py) all read this table, so a
selector added here appears everywhere and a selector cannot run one way in the tests and another in the
product. CONTRIBUTING.md walks through adding one.

Every entry is called as

    selector.run(n=n, k=k, seed=seed, **{name: array for name in selector.inputs}, **params)

which fills in the declared parameter defaults and returns int64 indices in selection order. A selector
whose work splits into independent pieces (``splits``: SemDeDup's clusters, distributed GTP's shards)
also takes ``execution=`` (select/execution.py), which says where those pieces run; the selection does
not depend on it. ``inputs``
names the arrays the algorithm reads (``INPUTS`` says what each one is); the callers build them from
whatever they hold (a run's stored representations, the lab's simulated points, synthetic benchmark
data). ``kind`` is "score" when every budget keeps the top of one per-example score (subsets nested
across budgets; ``selector.scores(n=, seed=, **inputs)`` returns it, higher = keep) and "set" when the
subset is chosen jointly for its budget; ``nested`` marks set selectors whose greedy order makes the
subset at budget j a prefix of the one at any larger budget, so the method registry runs them once.
Only "quantile" may return more than k indices (ties at its threshold); S2L's "du" variant, reachable
through params, may return fewer.

One name per algorithm. A selector is named after the published method that introduced it (``craig``
for facility location, ``gradmatch`` for non-negative OMP, ``gtp`` for CoSaMP + NNLS); the old names are
kept as ``aliases`` so stored method ids such as ``proto@hs`` still resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from prune_core.scores.baseline import random_scores
from prune_core.scores.gradients import less
from prune_core.select._validate import as_scores, check_count
from prune_core.select.annealing import group_annealing
from prune_core.select.ccs import ccs
from prune_core.select.clustering import prototypicality_scores, s2l, semdedup_scores
from prune_core.select.execution import LOCAL, Execution
from prune_core.select.graph import d2_order, k_center_greedy
from prune_core.select.pursuit import cosamp_nnls, distributed_cosamp, gradmatch, nn_omp
from prune_core.select.submodular import craig
from prune_core.select.topk import (
    moderate_band_scores,
    moderate_coreset,
    moderate_distances,
    top_k,
    top_quantile,
)

# What each input array is; callers build them, selectors only read them.
INPUTS = {
    "scores": "float [n], a per-example score, higher = keep",
    "difficulty": "float [n], a difficulty score, higher = harder (CCS and D2 take AUM in the product)",
    "features": "float [n, d], the representation of the candidates (a selector reading it joins the grid)",
    "labels": "int [n], the candidates' labels",
    "target": "float [d], the vector a weighted subset must match (a mean gradient)",
    "validation": "float [m, d], the same representation of the validation examples",
    "validation_labels": "int [m], the validation examples' labels",
    "influence": "float [n, p], one parameter-influence vector per candidate",
}
# Where a parameter's default value comes from (issue 12 audits every one against its source).
SOURCES = ("paper", "authors' code", "authors' README", "our choice")


@dataclass(frozen=True)
class Param:
    """A parameter's default value, where that value comes from, and why (shown by ``methods --json``)."""

    default: object
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"parameter source must be one of {SOURCES}, found {self.source!r}")

    def describe(self) -> dict:
        return {"default": self.default, "source": self.source, "note": self.note}


@dataclass(frozen=True, kw_only=True)
class Selector:
    """One selection algorithm: how to call it, what it reads, what it is, where it comes from.

    ``params`` are passed to ``function`` (and ``score_function``); ``input_params`` are not: they say
    how a caller builds the inputs (for example which split's mean ``target`` is) and are read there.
    """

    name: str
    function: Callable[..., np.ndarray]
    inputs: tuple[str, ...]
    kind: str  # "score" | "set"
    title: str
    citation: str
    description: str
    objective: str = ""  # difficulty | diversity | relevance | baseline; "" for generic rules
    nested: bool = False
    score_function: Callable[..., np.ndarray] | None = None
    params: Mapping[str, Param] = field(default_factory=dict)
    input_params: Mapping[str, Param] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    splits: bool = False  # its function takes ``execution``: independent pieces that may fan out

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(
                f"selector {self.name!r}: unknown inputs {sorted(unknown)}; inputs: {list(INPUTS)}"
            )
        if self.kind not in ("score", "set"):
            raise ValueError(f"selector {self.name!r}: kind must be 'score' or 'set', found {self.kind!r}")
        if self.kind == "score" and self.score_function is None:
            raise ValueError(f"selector {self.name!r}: a score selector needs a score_function")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "input_params", MappingProxyType(dict(self.input_params)))

    @property
    def takes_representation(self) -> bool:
        """Whether it reads a representation, so runs on every grid representation (and in the lab)."""
        return "features" in self.inputs

    @property
    def needs_validation(self) -> bool:
        return bool({"target", "validation", "validation_labels"} & set(self.inputs))

    def defaults(self) -> dict:
        return {name: p.default for name, p in self.params.items()}

    def run(
        self,
        *,
        n: int,
        k: int,
        seed: int = 0,
        execution: Execution | None = None,
        **inputs_and_params: object,
    ) -> np.ndarray:
        """Indices in selection order; declared parameter defaults fill what is not given."""
        where = self._where(execution)
        return self.function(n=n, k=k, seed=seed, **where, **{**self.defaults(), **inputs_and_params})

    def scores(
        self, *, n: int, seed: int = 0, execution: Execution | None = None, **inputs_and_params: object
    ) -> np.ndarray:
        """A score selector's per-example score (higher = keep) with the declared defaults."""
        if self.score_function is None:
            raise ValueError(f"selector {self.name!r} chooses sets; it has no per-example score")
        where = self._where(execution)
        return self.score_function(n=n, seed=seed, **where, **{**self.defaults(), **inputs_and_params})

    def _where(self, execution: Execution | None) -> dict:
        """``execution`` for a selector that splits; the others run where they are called."""
        return {"execution": execution} if self.splits and execution is not None else {}

    def describe(self) -> dict:
        return {
            "title": self.title,
            "objective": self.objective,
            "kind": self.kind,
            "nested": self.kind == "score" or self.nested,
            "inputs": list(self.inputs),
            "grid": self.takes_representation,
            "needs_validation": self.needs_validation,
            "citation": self.citation,
            "description": self.description,
            "params": {name: p.describe() for name, p in {**self.params, **self.input_params}.items()},
            "aliases": list(self.aliases),
        }


# ---------------------------------------------------------------------------------------------- adapters
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


def _ccs(*, n: int, k: int, difficulty: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return ccs(_rows(difficulty, n, "difficulty", "ccs"), k, seed=seed, **params)


def _prototypicality(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return top_k(_prototypicality_scores(n=n, features=features, seed=seed, **params), k, seed=seed)


def _prototypicality_scores(*, n: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return prototypicality_scores(_rows(features, n, "features", "prototypicality"), seed=seed, **params)


def _semdedup(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return top_k(_semdedup_scores(n=n, features=features, seed=seed, **params), k, seed=seed)


def _semdedup_scores(
    *, n: int, features: np.ndarray, seed: int = 0, execution: Execution = LOCAL, **params: object
) -> np.ndarray:
    features = _rows(features, n, "features", "semdedup")
    return semdedup_scores(features, seed=seed, map_clusters=execution.map_clusters, **params)


def _less(
    *,
    n: int,
    k: int,
    features: np.ndarray,
    validation: np.ndarray,
    validation_labels: np.ndarray,
    seed: int = 0,
    label_groups: bool = False,
) -> np.ndarray:
    scores = _less_scores(
        n=n,
        features=features,
        validation=validation,
        validation_labels=validation_labels,
        label_groups=label_groups,
    )
    return top_k(scores, k, seed=seed)


def _less_scores(
    *,
    n: int,
    features: np.ndarray,
    validation: np.ndarray,
    validation_labels: np.ndarray,
    seed: int = 0,
    label_groups: bool = False,
) -> np.ndarray:
    """LESS's rule on one representation: mean cosine to the validation rows (Du et al.), or with
    ``label_groups`` the cosine to each validation label's mean, max over labels (LESS's grouping)."""
    train = _rows(features, n, "features", "less")
    if n == 0:  # nothing to score (LESS refuses an empty matrix)
        return np.zeros(0, dtype=np.float64)
    return less([train], [validation], [1.0], val_groups=validation_labels if label_groups else None)


def _s2l(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return s2l(_rows(features, n, "features", "s2l"), k, seed=seed, **params)


def _d2(
    *, n: int, k: int, difficulty: np.ndarray, features: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    # a budget's D2 subset (hard cut included) is a prefix of d2_order, so the selector stays nested
    order = d2_order(
        _rows(difficulty, n, "difficulty", "d2"), _rows(features, n, "features", "d2"), seed=seed, **params
    )
    return order[: check_count(k, n, where="d2")]


def _kcenter(*, n: int, k: int, features: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return k_center_greedy(_rows(features, n, "features", "kcenter"), k, seed=seed, **params)


def _craig(
    *, n: int, k: int, features: np.ndarray, labels: np.ndarray, seed: int = 0, **params: object
) -> np.ndarray:
    return craig(_rows(features, n, "features", "craig"), labels, k, seed=seed, **params)


def _gradmatch(
    *,
    n: int,
    k: int,
    features: np.ndarray,
    labels: np.ndarray,
    target: np.ndarray,
    seed: int = 0,
    per_class: bool = False,
    ridge: float = 0.0,
    fill: str = "random",
) -> np.ndarray:
    atoms = _rows(features, n, "features", "gradmatch")
    if per_class:  # each class matches its own summed gradient (cords, DeepCore); ``target`` is unused
        return gradmatch(atoms, labels, k, ridge=ridge, per_class=True, seed=seed, fill=fill)
    # insertion order: OMP is greedy, so its first j atoms are what a budget-j run picks (nested)
    return nn_omp(atoms, target, k, seed=seed, order="insertion", ridge=ridge, fill=fill)[0]


def _gtp(
    *,
    n: int,
    k: int,
    features: np.ndarray,
    target: np.ndarray,
    seed: int = 0,
    distributed: bool = False,
    execution: Execution = LOCAL,
    **params: object,
) -> np.ndarray:
    atoms = _rows(features, n, "features", "gtp")
    if distributed:  # round one through the execution's map_shards (pursuit's own when it has none)
        return distributed_cosamp(atoms, target, k, seed=seed, map_shards=execution.map_shards, **params)[0]
    return cosamp_nnls(atoms, target, k, seed=seed, **params)[0]


def _group_annealing(*, n: int, k: int, influence: np.ndarray, seed: int = 0, **params: object) -> np.ndarray:
    return group_annealing(_rows(influence, n, "influence", "group_annealing"), k, seed=seed, **params)


def _random(*, n: int, k: int, seed: int = 0) -> np.ndarray:
    return top_k(_random_scores(n=n, seed=seed), k, seed=seed)


def _random_scores(*, n: int, seed: int = 0) -> np.ndarray:
    """Seeded uniform scores: their top k is a uniform random subset, nested across budgets."""
    return random_scores(n, seed=seed)


# ---------------------------------------------------------------------------------------------- citations
DU = (
    "Du, Song, Wong, Ignatev, Gatt & Nguyen (2025). Disentangling the Roles of Representation and "
    "Selection in Data Pruning. ACL 2025."
)
_CLUSTERS = Param(10, "authors' code", "Du et al.'s released CLI default (--num_clusters 10)")

# ---------------------------------------------------------------------------------------------- the table
_ENTRIES = (
    Selector(
        name="top_k",
        function=_top_k,
        inputs=("scores",),
        kind="score",
        title="Top-k by score",
        citation=DU,
        description="Keep exactly the k highest scores; ties in a seeded random order.",
        score_function=_given_scores,
    ),
    Selector(
        name="quantile",
        function=_quantile,
        inputs=("scores",),
        kind="score",
        title="Quantile rule (Du et al.)",
        citation=DU,
        description="Keep every score >= quantile(1 - k/n) with linear interpolation; ties can exceed k.",
        score_function=_given_scores,
    ),
    Selector(
        name="prototypicality",
        function=_prototypicality,
        inputs=("features",),
        kind="score",
        objective="difficulty",
        title="Prototypicality (k-means distance)",
        citation="Sorscher, Geirhos, Shekhar, Ganguli & Morcos (2022). Beyond neural scaling laws: beating "
        "power law scaling via data pruning. NeurIPS 2022.",
        description="Keep the examples farthest from their nearest k-means centroid (keep='easy' reverses).",
        score_function=_prototypicality_scores,
        params={
            "n_clusters": _CLUSTERS,
            "normalize": Param(
                False, "authors' code", "Du et al.'s --normalize_features is off by default: raw distances"
            ),
        },
        aliases=("proto",),
    ),
    Selector(
        name="semdedup",
        function=_semdedup,
        inputs=("features",),
        kind="score",
        objective="diversity",
        title="SemDeDup (budgeted)",
        citation="Abbas, Tirumala, Simig, Ganguli & Morcos (2023). SemDeDup: Data-efficient learning at "
        "web-scale through semantic deduplication. arXiv:2303.09540.",
        description="Within each k-means cluster penalise examples similar to a member farther from the "
        "centroid; keep the least duplicated.",
        score_function=_semdedup_scores,
        params={
            "n_clusters": _CLUSTERS,
            "normalize": Param(True, "paper", "SemDeDup compares examples by cosine similarity"),
        },
        splits=True,
    ),
    Selector(
        name="moderate",
        function=_moderate,
        inputs=("features", "labels"),
        kind="score",
        objective="difficulty",
        title="Moderate coreset",
        citation="Xia, Liu, Yu, Shen, Han & Liu (2023). Moderate Coreset: A Universal Method of Data "
        "Selection for Real-world Data-efficient Deep Learning. ICLR 2023.",
        description="Keep the examples whose distance to their class median is closest to the median distance.",
        score_function=_moderate_scores,
    ),
    Selector(
        name="less",
        function=_less,
        inputs=("features", "validation", "validation_labels"),
        kind="score",
        objective="relevance",
        title="LESS relevance rule",
        citation="Xia, Malladi, Gururangan, Arora & Chen (2024). LESS: Selecting Influential Data for "
        "Targeted Instruction Tuning. ICML 2024.",
        description="Keep the examples with the highest mean cosine to the validation rows (label_groups: "
        "to a validation label's mean, max over labels).",
        score_function=_less_scores,
        params={
            "label_groups": Param(
                False, "paper", "Du et al. average over every validation example (LESS groups per task)"
            )
        },
    ),
    Selector(
        name="s2l",
        function=_s2l,
        inputs=("features",),
        kind="set",
        objective="diversity",
        title="SmallToLarge (S2L)",
        citation="Yang, Mishra, Chiang & Mirzasoleiman (2024). SmallToLarge (S2L): Scalable Data Selection "
        "for Fine-tuning Large Language Models by Summarizing Training Trajectories of Small "
        "Models. NeurIPS 2024.",
        description="Cluster the representation (loss trajectories) and draw the budget equally across clusters.",
        params={
            "n_clusters": _CLUSTERS,
            "variant": Param(
                "official", "authors' code", "the official S2L visits clusters in ascending size, exact k"
            ),
        },
    ),
    Selector(
        name="kcenter",
        function=_kcenter,
        inputs=("features",),
        kind="set",
        objective="diversity",
        nested=True,
        title="k-center greedy (core-set)",
        citation="Sener & Savarese (2018). Active Learning for Convolutional Neural Networks: A Core-Set "
        "Approach. ICLR 2018.",
        description="Repeatedly add the example farthest from those already chosen (2-approximate minimax cover).",
    ),
    Selector(
        name="craig",
        function=_craig,
        inputs=("features", "labels"),
        kind="set",
        objective="diversity",
        nested=True,
        title="CRAIG (facility location)",
        citation="Mirzasoleiman, Bilmes & Leskovec (2020). Coresets for Data-efficient Training of Machine "
        "Learning Models. ICML 2020.",
        description="Lazy greedy maximisation of sum_i max_{j in S} sim(i, j) inside each class, budgets "
        "proportional to class size: a subset that represents everyone.",
        params={
            "per_class": Param(
                True,
                "authors' code",
                "baharanm/craig runs facility location per class with budgets proportional to class size",
            )
        },
        aliases=("facility_location",),
    ),
    Selector(
        name="d2",
        function=_d2,
        inputs=("difficulty", "features"),
        kind="set",
        objective="diversity",
        nested=True,
        title="D2 pruning",
        citation="Maharana, Yadav & Bansal (2024). D2 Pruning: Message Passing for Balancing Diversity "
        "and Difficulty in Data Pruning. ICLR 2024.",
        description="Spread difficulty over the k-NN graph, then pick the top node and damp its neighbours, "
        "repeatedly.",
        params={
            "n_neighbors": Param(10, "our choice", "the paper tunes the graph degree per dataset"),
            "gamma_forward": Param(1.0, "our choice", "the paper tunes it per budget"),
            "gamma_reverse": Param(1.0, "our choice", "the paper tunes it per budget"),
            "hard_cut": Param(
                0.4, "authors' README", "the hardest 40 % are removed before the graph is built"
            ),
        },
    ),
    Selector(
        name="gradmatch",
        function=_gradmatch,
        inputs=("features", "labels", "target"),
        kind="set",
        objective="relevance",
        nested=True,
        title="GradMatch (non-negative OMP)",
        citation="Killamsetty, Sivasubramanian, Ramakrishnan, De & Iyer (2021). GRAD-MATCH: Gradient "
        "Matching based Data Subset Selection for Efficient Deep Model Training. ICML 2021.",
        description="Add one example at a time so that a non-negative weighted sum of the chosen rows "
        "matches the target gradient (no support cap; the rest of the budget at random).",
        params={
            "per_class": Param(
                False,
                "our choice",
                "the grid cell matches the one target vector; the gradmatch preset matches per class "
                "as the references do",
            ),
            "ridge": Param(0.0, "our choice", "lambda; the gradmatch preset uses cords' 0.5"),
            "fill": Param("random", "authors' code", "cords fills what OMP leaves of the budget at random"),
        },
        input_params={
            "target": Param(
                "validation",
                "our choice",
                "the grid is targeted (Du et al.'s relevance column): match the mean validation "
                "representation; GRAD-MATCH itself matches the training mean (target='train')",
            )
        },
        aliases=("nn_omp",),
    ),
    Selector(
        name="gtp",
        function=_gtp,
        inputs=("features", "target"),
        kind="set",
        objective="relevance",
        title="Gradient trajectory pursuit (CoSaMP)",
        citation="Deng, Li & Li (2024). Influential Language Data Selection via Gradient Trajectory "
        "Pursuit. arXiv:2410.16710.",
        description="Sparse non-negative reconstruction of the target gradient (trajectory) by CoSaMP with NNLS.",
        params={"distributed": Param(False, "our choice", "the two-round sharded variant, for large n")},
        input_params={
            "target": Param("validation", "paper", "GTP matches the target domain's mean gradient"),
            "trajectory": Param(
                False,
                "our choice",
                "a grid cell reads its representation as it is; trajectory=True concatenates the "
                "per-checkpoint gradients instead of their lr-weighted sum (gradient representations only)",
            ),
        },
        aliases=("cosamp",),
        splits=True,
    ),
    Selector(
        name="ccs",
        function=_ccs,
        inputs=("difficulty",),
        kind="set",
        objective="diversity",
        title="Coverage-centric coreset selection",
        citation="Zheng, Liu, Lai & Prakash (2023). Coverage-centric Coreset Selection for High Pruning "
        "Rates. ICLR 2023.",
        description="Drop the hardest beta fraction, split the difficulty range into equal-width strata, "
        "share the budget equally across strata, sample at random inside each.",
        params={
            "beta": Param(
                "schedule",
                "paper",
                "the hard-cut fraction for the pruning rate (ccs.HARD_CUT_SCHEDULE): 0.1 below 70 %, 0.2, "
                "0.3 from 80 % (the README's example at 90 %), 0.4 from 95 %",
            ),
            "n_strata": Param(50, "paper", "K = 50 equal-width strata"),
        },
    ),
    Selector(
        name="group_annealing",
        function=_group_annealing,
        inputs=("influence",),
        kind="set",
        objective="difficulty",
        title="Dataset pruning with group effect",
        citation="Yang, Xie, Peng, Xu, Sun & Li (2023). Dataset Pruning: Reducing Training Data by Examining "
        "Generalization Influence. ICLR 2023.",
        description="Prune the n - k examples whose summed parameter influence is smallest, by simulated "
        "annealing.",
    ),
    Selector(
        name="random",
        function=_random,
        inputs=(),
        kind="score",
        objective="baseline",
        title="Random",
        citation=DU,
        description="Uniform random subset: the top k of seeded uniform scores (larger budgets contain "
        "smaller ones).",
        score_function=_random_scores,
    ),
)

SELECTORS: dict[str, Selector] = {}
ALIASES: dict[str, str] = {}


def register_selector(selector: Selector) -> Selector:
    """Add a selector to the table (and so to the grid, the lab, ``methods --json`` and the contract tests).

    Refuses a name or alias already taken: one name per algorithm.
    """
    taken = set(SELECTORS) | set(ALIASES)
    clash = {selector.name, *selector.aliases} & taken
    if clash:
        raise ValueError(f"selector names already registered: {sorted(clash)}")
    SELECTORS[selector.name] = selector
    ALIASES.update({alias: selector.name for alias in selector.aliases})
    return selector


def resolve_selector(name: str) -> str:
    """The one name of a selector given its name or an old alias (``proto`` -> ``prototypicality``)."""
    return ALIASES.get(name, name)


for _entry in _ENTRIES:
    register_selector(_entry)
