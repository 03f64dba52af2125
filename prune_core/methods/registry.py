"""The method registry: every published pruning method as (representation x selection algorithm).

Following Du et al. (ACL 2025), a method is one cell of a grid whose rows are representations
(``inputs.py``) and whose columns are selection algorithms (the selector table, prune_core/select/
registry.py). Published methods are named presets; every other cell is reachable as
``<selector>@<representation>`` (for example ``kcenter@grad`` or ``s2l@hs-pre``). Scores are oriented
**higher = keep**; ``direction`` records how the raw quantity was turned around.

A preset either names a selector and lets the selector table compute it (then the preset and the grid
cell of the same selector and representation compute the same thing, except where the preset's own
``settings`` override a declared parameter, such as GradMatch's ``target="train"``), or brings its own
per-example ``score`` (a score method: EL2N, AUM, TracIn, ...) kept by top-k.

Two kinds of method:
- ``score``: one number per example; the subset at a budget is the top-k (exact k, or Du et al.'s
  quantile rule) — nested across budgets.
- ``set``: an algorithm that picks a set for each budget (S2L, CCS, k-center, CRAIG, GradMatch, GTP, D2,
  group annealing). ``nested`` ones (greedy orders) are run once and cut at each budget.

Choices where the papers are silent (shown in the app's method descriptions):
- GraNd uses the exact gradient norm at the *earliest* checkpoint with gradient features.
- EL2N uses the eval-mode probabilities at the first epoch checkpoint ("early in training").
- D2 and CCS take CCS's accumulated probability margin (p(gold) minus the largest other probability,
  summed over epochs) as their difficulty score, as both authors' code does.
- CRAIG runs facility location per class (the reference's default) on plain projected gradients.
- Forgetting counts take a handful of values; ties go to the less confident example (1 - mean p(gold)
  over epochs, the same training dynamics) before the seeded order.
- GradMatch's target is the mean training gradient (in-domain), GTP's the mean validation gradient over
  the gradient trajectory (its target-domain setting); their grid cells match the validation mean of
  the representation itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from prune_core import scores as S
from prune_core.methods.inputs import INPUTS, REPRESENTATIONS, Representations
from prune_core.select.execution import Execution
from prune_core.select.registry import SELECTORS, Param, Selector, resolve_selector
from prune_core.store import keys

ScoreFn = Callable[[Representations, dict], np.ndarray]
# A set selector picks k examples among the positions ``subset`` (absolute indices into the train split).
SetFn = Callable[[Representations, dict, np.ndarray, int], np.ndarray]

OBJECTIVES = ("difficulty", "diversity", "relevance", "baseline")
SEED = Param(0, "our choice", "every method is seeded so that its subsets are reproducible")


class UnknownMethod(ValueError):
    """A method id that is neither a preset nor a valid ``<selector>@<representation>`` cell."""


@dataclass(frozen=True, kw_only=True)
class Method:
    """One method: what it reads (``representation``), how it selects (``selector``), and its parameters.

    Without ``score`` the selector table computes it from the representation (a derived method); with
    ``score`` it is a score method whose own per-example score is kept by top-k. ``settings`` are the
    method's own parameters: for a derived method they may only override the selector's declared ones.
    """

    id: str
    title: str
    objective: str
    representation: str
    selector: str
    citation: str
    direction: str
    description: str
    score: ScoreFn | None = None
    settings: Mapping[str, Param] = field(default_factory=dict)
    preset: bool = True
    select: SetFn | None = field(default=None, init=False)
    kind: str = field(default="", init=False)  # "score" | "set"
    nested: bool = field(default=False, init=False)
    own_score: bool = field(default=False, init=False)  # a score method (its score is not the selector's)
    tie_break: ScoreFn | None = None  # secondary score deciding ties of ``score`` (higher = keep first)
    tie_break_note: str = ""
    validation: Mapping | None = None  # a measured check against a ground truth (shown by methods --json)
    # Why the method needs class logits (a margin, a correct/incorrect prediction, class probabilities),
    # which a generation run has none of; derived from the representation and selector when empty.
    class_only: str = ""

    def __post_init__(self) -> None:
        where = f"method {self.id!r}"
        if self.objective not in OBJECTIVES:
            raise ValueError(f"{where}: objective must be one of {OBJECTIVES}, found {self.objective!r}")
        if self.representation not in INPUTS:
            raise ValueError(
                f"{where}: representation {self.representation!r} is not a declared input; "
                f"inputs: {', '.join(INPUTS)}"
            )
        if self.selector not in SELECTORS:
            raise ValueError(f"{where}: selector {self.selector!r} is not in the selector table")
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "own_score", self.score is not None)
        info = SELECTORS[self.selector]
        if self.score is None:
            unknown = set(self.settings) - set(info.params) - set(info.input_params)
            if unknown:
                raise ValueError(
                    f"{where}: {sorted(unknown)} are not parameters of selector {info.name!r} "
                    f"({', '.join([*info.params, *info.input_params]) or 'none'})"
                )
            if info.kind == "score":
                object.__setattr__(self, "score", _derived_score(info, self.representation))
            else:
                object.__setattr__(self, "select", _derived_select(info, self.representation))
        kind = "score" if self.score is not None else "set"
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "nested", kind == "set" and info.nested)

    @property
    def selector_info(self) -> Selector:
        return SELECTORS[self.selector]

    def not_applicable(self, task: str) -> str | None:
        """Why this method cannot run on a ``task`` run (prune_core/tasks), or None when it can."""
        if task != "generation":
            return None
        if self.class_only:
            return self.class_only
        if self.representation in _CLASS_INPUTS:
            return _CLASS_INPUTS[self.representation]
        for name in self.selector_info.inputs:
            if name in _CLASS_SELECTOR_INPUTS:
                return _CLASS_SELECTOR_INPUTS[name]
        return None

    def applies_to(self, task: str) -> bool:
        return self.not_applicable(task) is None

    @property
    def family(self) -> str:
        return INPUTS[self.representation].family

    @property
    def parameters(self) -> dict[str, Param]:
        """Every parameter with its default and the source of that default (paper, code, our choice)."""
        info = self.selector_info
        inherited = {} if self.own_score else {**info.params, **info.input_params}
        return {"seed": SEED, **inherited, **self.settings}

    @property
    def params(self) -> dict:
        return {name: p.default for name, p in self.parameters.items()}

    def describe(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "objective": self.objective,
            "family": self.family,
            "representation": self.representation,
            "selector": self.selector,
            "kind": self.kind,
            "citation": self.citation,
            "direction": self.direction,
            "description": self.description,
            "params": self.params,
            "param_sources": {name: p.describe() for name, p in self.parameters.items()},
            "preset": self.preset,
            "nested": self.nested,
            **({"tie_break": self.tie_break_note} if self.tie_break_note else {}),
            **({"validation": dict(self.validation)} if self.validation else {}),
            **task_applicability(self),
        }


TASK_KINDS = ("classification", "generation")
# Inputs that exist only for class logits; generation runs store no class probabilities, margins,
# correctness or classification-head inputs (a token-level stand-in would be a different method).
_NO_LOGITS = "generation runs have no class logits"
_CLASS_INPUTS = {
    "outputs": f"needs class probabilities; {_NO_LOGITS}",
    "head": f"needs the classifier head's inputs and class probabilities; {_NO_LOGITS}",
}
_CLASS_SELECTOR_INPUTS = {
    "difficulty": f"its difficulty is CCS's probability margin (gold minus the largest other class); {_NO_LOGITS}",
    "influence": f"needs last-layer influence from class probabilities; {_NO_LOGITS}",
}


def task_applicability(method: Method) -> dict:
    """``tasks``: the task kinds the method runs on; ``not_applicable``: the reason for each other kind."""
    reasons = {task: method.not_applicable(task) for task in TASK_KINDS}
    return {
        "tasks": [task for task, why in reasons.items() if why is None],
        "not_applicable": {task: why for task, why in reasons.items() if why is not None},
    }


# ---------------------------------------------------------------------------------------------- citations
PAUL = "Paul, Ganguli & Dziugaite 2021, Deep Learning on a Data Diet, NeurIPS"
TONEVA = "Toneva et al. 2019, An Empirical Study of Example Forgetting, ICLR"
PLEISS = "Pleiss et al. 2020, Identifying Mislabeled Data using the Area Under the Margin Ranking, NeurIPS"
SWAYAMDIPTA = "Swayamdipta et al. 2020, Dataset Cartography, EMNLP"
S2L_CITE = "Yang et al. 2024, SmallToLarge (S2L), NeurIPS"
SORSCHER = "Sorscher et al. 2022, Beyond neural scaling laws, NeurIPS"
DU = "Du et al. 2025, Disentangling the Roles of Representation and Selection in Data Pruning, ACL"
SEMDEDUP = "Abbas et al. 2023, SemDeDup, arXiv:2303.09540"
PRUTHI = (
    "Pruthi et al. 2020, Estimating Training Data Influence by Tracing Gradient Descent (TracIn), NeurIPS"
)
FELDMAN = "Feldman & Zhang 2020 (memorisation), estimated by TracIn self-influence as in Du et al. 2025"
XIA = "Xia et al. 2024, LESS: Selecting Influential Data for Targeted Instruction Tuning, ICML"
GTP_CITE = "Deng, Li & Li 2024, Influential Language Data Selection via Gradient Trajectory Pursuit, arXiv:2410.16710"
GRADMATCH = "Killamsetty et al. 2021, GRAD-MATCH, ICML"
CRAIG = "Mirzasoleiman, Bilmes & Leskovec 2020, Coresets for Data-efficient Training (CRAIG), ICML"
SENER = "Sener & Savarese 2018, Active Learning for CNNs: A Core-Set Approach, ICLR"
MODERATE = "Xia et al. 2023, Moderate Coreset, ICLR"
CCS_CITE = "Zheng et al. 2023, Coverage-centric Coreset Selection for High Pruning Rates, ICLR"
D2_CITE = "Maharana, Yadav & Bansal 2024, D2 Pruning, ICLR"
KOH = "Koh & Liang 2017, Understanding Black-box Predictions via Influence Functions, ICML"
YANG = "Yang et al. 2023, Dataset Pruning: Reducing Training Data by Examining Generalization Influence, ICLR"


# ---------------------------------------------------------------------------------------------- derived methods
# How a run supplies each input of the selector table (prune_core/select/registry.py INPUTS) for a method
# on ``rep``: ``idx`` restricts to candidate positions (None: every training example), ``p`` are the
# method's parameter values (``target`` and ``trajectory`` are read here, not by the selector).
def _features(r: Representations, rep: str, split: str, p: dict) -> np.ndarray:
    return r.trajectory(rep, split) if p.get("trajectory") else r.features(rep, split)


def _rows(array: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    return array if idx is None else array[idx]


def _aum_difficulty(r: Representations) -> np.ndarray:
    """CCS's and D2's difficulty: minus the accumulated probability margin (higher = harder)."""
    return S.accumulated_probability_margin(r.prob_margin())


def _forgetting_tie_break(r: Representations, p: dict) -> np.ndarray:
    """1 - mean p(gold) over epochs: among equal forgetting counts the less confident example first."""
    return S.datamap(r.dynamics("p_gold"), _correct_or_none(r))["datamap_hard"]


def _influence_vectors(r: Representations) -> np.ndarray:
    c = r.final_checkpoint
    return r.memo(
        "influence_vectors",
        lambda: S.influence_vectors(r.head_input("train", c), r.probs("train", c), r.labels),
    )


def _no_scores(r: Representations, rep: str, idx, p: dict) -> np.ndarray:
    raise ValueError("a method on a 'scores' selector brings its own score (Method(score=...))")


_READERS: dict[str, Callable[[Representations, str, np.ndarray | None, dict], np.ndarray]] = {
    "scores": _no_scores,
    "difficulty": lambda r, rep, idx, p: _rows(_aum_difficulty(r), idx),
    "features": lambda r, rep, idx, p: _rows(_features(r, rep, "train", p), idx),
    "labels": lambda r, rep, idx, p: _rows(r.labels, idx),
    "target": lambda r, rep, idx, p: _features(r, rep, p.get("target", "validation"), p).mean(axis=0),
    "validation": lambda r, rep, idx, p: _features(r, rep, "validation", p),
    "validation_labels": lambda r, rep, idx, p: r.val_labels,
    "influence": lambda r, rep, idx, p: _rows(_influence_vectors(r), idx),
}


def _call_args(info: Selector, rep: str, r: Representations, idx, p: dict) -> dict:
    arrays = {name: _READERS[name](r, rep, idx, p) for name in info.inputs}
    return {**arrays, **{name: p[name] for name in info.params if name in p}}


# ``execution`` (prune_core/select/execution.py) says where a splitting selector's pieces run; it is
# not a parameter of the method: the selection is the same wherever they run.
def _derived_score(info: Selector, rep: str) -> ScoreFn:
    def score(r: Representations, p: dict, execution: Execution | None = None) -> np.ndarray:
        return info.scores(n=r.n, seed=p["seed"], execution=execution, **_call_args(info, rep, r, None, p))

    return score


def _derived_select(info: Selector, rep: str) -> SetFn:
    def select(
        r: Representations, p: dict, idx: np.ndarray, k: int, execution: Execution | None = None
    ) -> np.ndarray:
        chosen = info.run(
            n=len(idx), k=k, seed=p["seed"], execution=execution, **_call_args(info, rep, r, idx, p)
        )
        return idx[chosen]

    return select


# ---------------------------------------------------------------------------------------------- own scores
def _datamap(field_name: str) -> ScoreFn:
    """Data-map regions from p_gold; for generation p_gold = exp(-mean response-token loss)
    (prune_core/tasks/generation.py) and there is no recorded correctness (regions do not use it)."""
    return lambda r, p: S.datamap(r.dynamics("p_gold"), _correct_or_none(r))[field_name]


def _correct_or_none(r: Representations) -> np.ndarray | None:
    return r.dynamics("correct") if r.run.has(keys.dynamics("correct")) else None


def _less(r: Representations, p: dict) -> np.ndarray:
    """LESS as its authors compute it: a cosine per gradient checkpoint, then the lr-weighted sum."""
    scores = S.less(
        r.grads("train", "adam"),
        r.grads("validation", "sgd"),
        r.grad_lrs(),
        val_groups=r.val_labels if p.get("label_groups") else None,
    )
    return -scores if p.get("negate") else scores


def _relevance_dot(rep: str) -> ScoreFn:
    return lambda r, p: S.relevance_dot(
        [r.features(rep)], [r.features(rep, "validation")], normalize=p["normalize"]
    )


def _influence(r: Representations, p: dict) -> np.ndarray:
    c = r.final_checkpoint
    return S.last_layer_influence(
        r.head_input("train", c),
        r.probs("train", c),
        r.labels,
        r.head_input("validation", c),
        r.probs("validation", c),
        r.val_labels,
        damping=p["damping"],
    )


# Chosen against exact leave-one-out retraining of the L2-regularised last layer (scores/loo.py,
# bench/bench_influence_loo.py) on the 300-example SST-2 MiniLM run, LOO on 100 examples:
# relative damping 1e-3 / 0.1 / 1 / 10 -> Spearman 0.12 / 0.41 / 0.67 / 0.81. At 1 the refit head has the
# lowest validation loss (0.507 vs 0.647 at 0.1 and 0.576 at 10); beyond it the agreement rises only
# because the head is regularised past what the data supports.
INFLUENCE_DAMPING = 1.0
INFLUENCE_CHECK = {
    "ground_truth": "exact leave-one-out retraining of the L2-regularised last layer (lambda = damping x "
    "mean diag H)",
    "spearman": 0.67,
    "examples": 100,
    "run": "SST-2, 300 training / 100 validation examples, MiniLM-L6, 2 epochs",
    "command": "python bench/bench_influence_loo.py RUN_DIR --sample 100 --dampings 1e-3,1e-1,1,10",
    "by_damping": {"0.001": 0.12, "0.1": 0.41, "1": 0.67, "10": 0.81},
    "text": "Spearman 0.67 with exact leave-one-out retraining of the last layer (100 examples of a "
    "300-example SST-2 run; 0.12 at the old damping 1e-3)",
}
_MEAN_OVER_VALIDATION = Param(
    False,
    "paper",
    "Du et al. average over every validation example; label_groups=True takes LESS's per-task grouping "
    "(validation labels as tasks) and the max over groups",
)


_PER_CHECKPOINT = Param(
    True,
    "paper",
    "LESS takes a cosine at each gradient checkpoint and sums them lr-weighted; the grid cell less@grad "
    "takes one cosine of the lr-weighted sum of the checkpoints' gradients",
)
_SUMMED = Param(
    False,
    "authors' code",
    "Du et al.'s code scores against the sum of the validation rows; the grid cell less@<rep> takes the "
    "max over validation labels of the cosine to each label's mean",
)
_GRID_SET = "set selection (greedy order)"

# ---------------------------------------------------------------------------------------------- presets
PRESETS: dict[str, Method] = {}


def register_preset(method: Method) -> Method:
    """Add a preset (a named published method); it then appears in ``methods --json`` and every view."""
    if method.id in PRESETS:
        raise ValueError(f"preset {method.id!r} is already registered")
    if "@" in method.id:
        raise ValueError(f"preset ids may not contain '@' (grid cells use it): {method.id!r}")
    PRESETS[method.id] = method
    return method


for _preset in (
    Method(
        id="el2n",
        title="EL2N",
        objective="difficulty",
        representation="outputs",
        selector="top_k",
        citation=PAUL,
        direction="higher error norm = harder; kept as is",
        description="||softmax - onehot|| at the first epoch checkpoint (eval mode); keeps the hardest.",
        score=lambda r, p: S.el2n(r.probs("train", r.first_checkpoint), r.labels),
    ),
    Method(
        id="grand",
        title="GraNd",
        objective="difficulty",
        representation="grad-sgd",
        selector="top_k",
        citation=PAUL,
        direction="higher gradient norm = harder; kept as is",
        description="Exact norm of the per-example gradient (parameter subset) at the earliest gradient "
        "checkpoint.",
        score=lambda r, p: S.grand(r.grad_norms("train")[:1]),
    ),
    Method(
        id="forgetting",
        title="Forgetting events",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation=TONEVA,
        direction="more forgetting events = harder; never-learned examples rank above all; kept as is",
        description="Counts correct -> incorrect transitions across epochs. With few epochs most counts tie at 0.",
        score=lambda r, p: S.forgetting_counts(r.dynamics("correct")),
        class_only="counts flips of a correct class prediction; generation runs have no class prediction",
        tie_break=_forgetting_tie_break,
        tie_break_note="equal counts: the less confident example first (1 - mean p(gold) over epochs)",
    ),
    Method(
        id="aum",
        title="AUM (difficulty)",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation=PLEISS,
        direction="low margin = hard; score = -AUM",
        description="Mean over epochs of gold logit minus the largest other logit; keeps the lowest margins.",
        score=lambda r, p: S.aum(r.dynamics("margin")),
        class_only="needs the logit margin (gold minus the largest other class); generation runs have no "
        "class logits",
    ),
    Method(
        id="datamap-hard",
        title="Data map: hard-to-learn",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation=SWAYAMDIPTA,
        direction="low confidence = hard; score = 1 - confidence",
        description="Keeps the least confident examples across epochs.",
        score=_datamap("datamap_hard"),
    ),
    Method(
        id="datamap-ambiguous",
        title="Data map: ambiguous",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation=SWAYAMDIPTA,
        direction="high variability = ambiguous; kept as is",
        description="Keeps the examples whose gold probability varies most across epochs (Du et al.'s "
        "released setting).",
        score=_datamap("datamap_ambiguous"),
    ),
    Method(
        id="datamap-easy",
        title="Data map: easy-to-learn",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation=SWAYAMDIPTA,
        direction="high confidence = easy; kept as is",
        description="Keeps the most confident examples.",
        score=_datamap("datamap_easy"),
    ),
    Method(
        id="s2l",
        title="S2L (loss trajectories)",
        objective="diversity",
        representation="dyn",
        selector="s2l",
        citation=S2L_CITE,
        direction="set selection (no score)",
        description="k-means on loss trajectories; the budget is split equally across clusters (official "
        "ascending order).",
    ),
    Method(
        id="s2l-hs",
        title="S2L on hidden states",
        objective="diversity",
        representation="hs",
        selector="s2l",
        citation=DU,
        direction="set selection (no score)",
        description="S2L's cluster-balanced sampling on fine-tuned hidden states (a new cell of Du et al.'s grid).",
    ),
    Method(
        id="s2l-grad",
        title="S2L on gradients",
        objective="diversity",
        representation="grad",
        selector="s2l",
        citation=DU,
        direction="set selection (no score)",
        description="S2L's cluster-balanced sampling on lr-weighted, normalised Adam gradients.",
    ),
    Method(
        id="prototypicality",
        title="Prototypicality",
        objective="difficulty",
        representation="hs",
        selector="prototypicality",
        citation=SORSCHER,
        direction="far from the nearest k-means centroid = hard; squared distance kept as is",
        description="k-means on fine-tuned hidden states; keeps the least prototypical examples.",
    ),
    Method(
        id="proto-tl",
        title="Prototypicality on losses",
        objective="difficulty",
        representation="tl",
        selector="prototypicality",
        citation=DU,
        direction="far from centroid = hard",
        description="Prototypicality on eval-mode loss vectors across checkpoints.",
    ),
    Method(
        id="proto-grad",
        title="Prototypicality on gradients",
        objective="difficulty",
        representation="grad",
        selector="prototypicality",
        citation=DU,
        direction="far from centroid = hard",
        description="Prototypicality on lr-weighted, normalised Adam gradients.",
    ),
    Method(
        id="semdedup",
        title="SemDeDup",
        objective="diversity",
        representation="hs",
        selector="semdedup",
        citation=SEMDEDUP,
        direction="duplicated = drop; score = -max similarity",
        description="Within k-means clusters, penalises examples with a near-duplicate farther from the centroid.",
    ),
    Method(
        id="memorization",
        title="Memorisation (self-influence)",
        objective="difficulty",
        representation="grad-sgd",
        selector="top_k",
        citation=FELDMAN,
        direction="higher self-influence = more memorised; kept as is",
        description="TracIn self-influence: lr-weighted squared norm of projected gradients (a proxy, not "
        "Feldman & Zhang).",
        score=lambda r, p: S.memorization(r.grads("train", "sgd"), r.grad_lrs()),
    ),
    Method(
        id="tracin",
        title="TracIn to validation",
        objective="relevance",
        representation="grad-sgd",
        selector="top_k",
        citation=PRUTHI,
        direction="positive influence on validation loss = helpful; kept as is",
        description="lr-weighted dot product of each training gradient with the summed validation gradient.",
        score=lambda r, p: S.tracin(r.grads("train", "sgd"), r.grads("validation", "sgd"), r.grad_lrs()),
    ),
    Method(
        id="less",
        title="LESS",
        objective="relevance",
        representation="grad",
        selector="less",
        citation=XIA,
        direction="more similar to validation gradients = keep",
        description="lr-weighted cosine of Adam training gradients to SGD validation gradients, mean over "
        "all validation examples (Du et al.'s form).",
        score=_less,
        settings={"per_checkpoint": _PER_CHECKPOINT, "label_groups": _MEAN_OVER_VALIDATION},
    ),
    Method(
        id="less-grouped",
        title="LESS (label-grouped)",
        objective="relevance",
        representation="grad",
        selector="less",
        citation=XIA,
        direction="more similar to validation gradients of some label = keep",
        description="LESS's own per-task grouping with the validation labels as tasks: mean cosine per "
        "label, max over labels.",
        score=_less,
        settings={
            "per_checkpoint": _PER_CHECKPOINT,
            "label_groups": Param(True, "authors' code", "LESS groups validation examples by task"),
        },
    ),
    Method(
        id="less-tl",
        title="LESS rule on losses",
        objective="relevance",
        representation="tl",
        selector="less",
        citation=DU,
        direction="larger dot product = keep",
        description="Dot product of eval loss vectors with the summed validation loss vectors.",
        score=_relevance_dot("tl"),
        settings={
            "normalize": Param(False, "authors' code", "loss trajectories are never normalised (Du et al.)"),
            "label_groups": _SUMMED,
        },
    ),
    Method(
        id="less-hs",
        title="LESS rule on hidden states",
        objective="relevance",
        representation="hs",
        selector="less",
        citation=DU,
        direction="more similar = keep",
        description="Sum of cosines of fine-tuned hidden states to the validation set's.",
        score=_relevance_dot("hs"),
        settings={
            "normalize": Param(
                True,
                "our choice",
                "cosines: Du et al. normalise hidden states only with --normalize_features",
            ),
            "label_groups": _SUMMED,
        },
    ),
    Method(
        id="reverse-less",
        title="Reverse LESS",
        objective="relevance",
        representation="grad",
        selector="less",
        citation=DU,
        direction="least similar = keep; score = -LESS",
        description="LESS negated: the least relevant examples (a sanity baseline).",
        score=_less,
        settings={
            "per_checkpoint": _PER_CHECKPOINT,
            "label_groups": _MEAN_OVER_VALIDATION,
            "negate": Param(
                True, "authors' code", "Du et al.'s reverse-less baseline keeps the least relevant"
            ),
        },
    ),
    Method(
        id="gtp",
        title="GTP",
        objective="relevance",
        representation="grad-sgd",
        selector="gtp",
        citation=GTP_CITE,
        direction="set selection (no score)",
        description="CoSaMP + NNLS: a sparse non-negative combination of gradient trajectories matching the "
        "mean validation trajectory; distributed two-round variant with params distributed=True.",
        settings={
            "trajectory": Param(
                True,
                "paper",
                "GTP matches gradient trajectories: the per-checkpoint gradients concatenated, not their "
                "lr-weighted sum that the grid cell gtp@grad-sgd reads",
            )
        },
    ),
    Method(
        id="gtp-sharded",
        title="GTP (two-round)",
        objective="relevance",
        representation="grad-sgd",
        selector="gtp",
        citation=GTP_CITE,
        direction="set selection (no score)",
        description="GTP's distributed variant for large n: CoSaMP + NNLS on each of 4 random shards, then "
        "on the union of their picks; the shards run as Ray tasks under select --engine ray.",
        settings={
            "trajectory": Param(True, "paper", "as the gtp preset: per-checkpoint gradients concatenated"),
            "distributed": Param(
                True,
                "paper",
                "Deng, Li & Li 2024 propose the two-round sharded solve for data that does not fit one "
                "machine; expect a larger residual than one-round GTP",
            ),
        },
    ),
    Method(
        id="gradmatch",
        title="GradMatch",
        objective="relevance",
        representation="grad-sgd",
        selector="gradmatch",
        citation=GRADMATCH,
        direction="set selection (no score)",
        description="Non-negative OMP per class matching the class's summed training gradient (lambda 0.5, "
        "no support cap, the rest of the budget at random, as cords); nested greedy order per class.",
        settings={
            "target": Param(
                "train",
                "paper",
                "GRAD-MATCH matches the full training gradient; the grid cell gradmatch@grad-sgd matches "
                "the validation mean",
            ),
            "per_class": Param(
                True, "authors' code", "cords and DeepCore match each class's own gradient sum"
            ),
            "ridge": Param(0.5, "authors' code", "cords' GradMatch lambda"),
        },
    ),
    Method(
        id="craig",
        title="CRAIG",
        objective="diversity",
        representation="grad-sgd",
        selector="craig",
        citation=CRAIG,
        direction=_GRID_SET,
        description="Facility location per class on projected gradients (lazy greedy), budgets proportional "
        "to class size as the reference; nested greedy order.",
    ),
    Method(
        id="kcenter",
        title="k-center greedy",
        objective="diversity",
        representation="hs",
        selector="kcenter",
        citation=SENER,
        direction=_GRID_SET,
        description="Greedy 2-approximation of the minimax cover of hidden states; nested greedy order.",
    ),
    Method(
        id="moderate",
        title="Moderate coreset",
        objective="difficulty",
        representation="hs",
        selector="moderate",
        citation=MODERATE,
        direction="distance to class median closest to the median distance = keep; score = -|rank - median rank|",
        description="Keeps the central band of distances to each class's median hidden state.",
    ),
    Method(
        id="ccs",
        title="CCS",
        objective="diversity",
        representation="dyn",
        selector="ccs",
        citation=CCS_CITE,
        direction="set selection (no score)",
        description="Stratified sampling over 50 equal-width strata of the accumulated probability margin "
        "after removing the hardest beta (the authors' beta for the pruning rate: 0.1 up to 70 %, 0.2, "
        "0.3 from 80 %, 0.4 from 95 %).",
    ),
    Method(
        id="d2",
        title="D2 pruning",
        objective="diversity",
        representation="hs",
        selector="d2",
        citation=D2_CITE,
        direction=_GRID_SET,
        description="Message passing over the symmetric kNN graph of hidden states with the accumulated "
        "probability margin as difficulty, after removing the hardest 40 % (the authors' README); nested "
        "greedy order.",
    ),
    Method(
        id="influence",
        title="Influence (last layer)",
        objective="relevance",
        representation="head",
        selector="top_k",
        citation=KOH,
        direction="removing it would raise validation loss = helpful; score = -I_up,loss",
        description="Influence of each example on the mean validation loss through the final linear layer "
        "(damped Hessian).",
        score=_influence,
        settings={
            "damping": Param(
                INFLUENCE_DAMPING,
                "our choice",
                "relative damping chosen against exact leave-one-out retraining of the last layer",
            )
        },
        validation=INFLUENCE_CHECK,
    ),
    Method(
        id="group-annealing",
        title="Group-effect pruning",
        objective="difficulty",
        representation="head",
        selector="group_annealing",
        citation=YANG,
        direction="set selection (no score)",
        description="Simulated annealing choosing the pruned set whose summed last-layer influence vectors "
        "are smallest.",
    ),
    Method(
        id="random",
        title="Random",
        objective="baseline",
        representation="none",
        selector="random",
        citation="uniform baseline",
        direction="uniform random score",
        description="Uniform random scores (seeded): the reference every method should beat.",
    ),
):
    register_preset(_preset)


# ---------------------------------------------------------------------------------------------- the grid
def grid_selectors() -> dict[str, Selector]:
    """The grid's columns: every selector of the table that reads a representation."""
    return {name: info for name, info in SELECTORS.items() if info.takes_representation}


def grid_cell(selector: str, representation: str) -> Method:
    """The method ``<selector>@<representation>`` (an empty cell of Du et al.'s grid, computed on demand).

    An old selector name (``proto``, ``facility_location``, ``nn_omp``, ``cosamp``) resolves to its one
    name, so the cell's id is ``prototypicality@hs`` whichever was asked for.
    """
    given = f"{selector}@{representation}"
    selector = resolve_selector(selector)
    columns = grid_selectors()
    if selector not in columns:
        raise UnknownMethod(f"unknown selector {selector!r} in '{given}'; selectors: {', '.join(columns)}")
    if representation not in REPRESENTATIONS:
        raise UnknownMethod(
            f"unknown representation {representation!r} in '{given}'; "
            f"representations: {', '.join(REPRESENTATIONS)}"
        )
    info, rep = columns[selector], REPRESENTATIONS[representation]
    if info.needs_validation and not rep.has_validation:
        raise UnknownMethod(
            f"'{given}': {selector} needs validation features, which {representation!r} does not have"
        )
    return Method(
        id=f"{selector}@{representation}",
        title=f"{selector} on {rep.title}",
        objective=info.objective,
        representation=representation,
        selector=selector,
        citation=DU,
        direction="higher = keep" if info.kind == "score" else "set selection",
        description=f"The {selector} selection algorithm applied to {rep.title} ({rep.family}).",
        preset=False,
    )


def get_method(method_id: str) -> Method:
    """A preset by id, or a grid cell ``<selector>@<representation>``."""
    if method_id in PRESETS:
        return PRESETS[method_id]
    if "@" in method_id:
        return grid_cell(*method_id.split("@", 1))
    raise UnknownMethod(
        f"unknown method {method_id!r}; presets: {', '.join(PRESETS)}; or a grid cell "
        f"'<selector>@<representation>' with selectors {', '.join(grid_selectors())} and "
        f"representations {', '.join(REPRESENTATIONS)}"
    )


def all_grid_cells() -> list[str]:
    cells = []
    for selector, info in grid_selectors().items():
        for rep, rep_info in REPRESENTATIONS.items():
            if not info.needs_validation or rep_info.has_validation:
                cells.append(f"{selector}@{rep}")
    return cells
