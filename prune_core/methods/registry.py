"""The registry: every published pruning method as (representation x selection algorithm).

Following Du et al. (ACL 2025), a method is one cell of a grid whose rows are representations
(``representations.py``) and whose columns are selection algorithms (``prune_core.select``). Published
methods are named presets; every other cell is reachable as ``<selector>@<representation>`` (for example
``kcenter@grad`` or ``s2l@hs-pre``). Scores are oriented **higher = keep**; ``direction`` records how the
raw quantity was turned around.

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
  the gradient trajectory (its target-domain setting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from prune_core import scores as S
from prune_core.methods.representations import REPRESENTATIONS, Representations
from prune_core.select import (
    ccs,
    cosamp_nnls,
    distributed_cosamp,
    group_annealing,
    k_center_greedy,
    moderate_band_scores,
    moderate_distances,
    nn_omp,
    prototypicality_scores,
    s2l,
    semdedup_scores,
)
from prune_core.select.graph import d2_order
from prune_core.select.pursuit import gradmatch
from prune_core.select.submodular import craig

ScoreFn = Callable[[Representations, dict], np.ndarray]
# A set selector picks k examples among the positions ``subset`` (absolute indices into the train split).
SetFn = Callable[[Representations, dict, np.ndarray, int], np.ndarray]

OBJECTIVES = ("difficulty", "diversity", "relevance", "baseline")
CLUSTER_DEFAULTS = {"n_clusters": 10, "seed": 0}


class UnknownMethod(ValueError):
    """A method id that is neither a preset nor a valid ``<selector>@<representation>`` cell."""


@dataclass(frozen=True)
class Method:
    id: str
    title: str
    objective: str
    representation: str
    selector: str
    kind: str  # "score" | "set"
    citation: str
    direction: str
    description: str
    score: ScoreFn | None = None
    select: SetFn | None = None
    nested: bool = False
    params: dict = field(default_factory=dict)
    preset: bool = True
    tie_break: ScoreFn | None = None  # secondary score deciding ties of ``score`` (higher = keep first)
    tie_break_note: str = ""
    validation: dict | None = None  # a measured check against a ground truth (shown by methods --json)

    @property
    def family(self) -> str:
        info = REPRESENTATIONS.get(self.representation)
        return (
            info.family
            if info
            else {"outputs": "training dynamics", "head": "gradients", "none": "baseline"}.get(
                self.representation, self.representation
            )
        )

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
            "preset": self.preset,
            "nested": self.nested,
            **({"tie_break": self.tie_break_note} if self.tie_break_note else {}),
            **({"validation": self.validation} if self.validation else {}),
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


# ---------------------------------------------------------------------------------------------- building blocks
def _datamap(field_name: str) -> ScoreFn:
    return lambda r, p: S.datamap(r.dynamics("p_gold"), r.dynamics("correct"))[field_name]


def _final(r: Representations) -> str:
    return r.final_checkpoint


def _less(r: Representations, p: dict) -> np.ndarray:
    """Du et al.'s form by default: the mean over every validation example; ``label_groups`` takes LESS's
    own per-task grouping (here the validation labels) and the max over groups."""
    return S.less(
        r.grads("train", "adam"),
        r.grads("validation", "sgd"),
        r.grad_lrs(),
        val_groups=r.val_labels if p.get("label_groups") else None,
    )


def _influence(r: Representations, p: dict) -> np.ndarray:
    c = _final(r)
    return S.last_layer_influence(
        r.head_input("train", c),
        r.probs("train", c),
        r.labels,
        r.head_input("validation", c),
        r.probs("validation", c),
        r.val_labels,
        damping=p.get("damping", INFLUENCE_DAMPING),
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


def _aum_difficulty(r: Representations) -> np.ndarray:
    """CCS's and D2's difficulty: minus the accumulated probability margin (higher = harder)."""
    return S.accumulated_probability_margin(r.prob_margin())


def _forgetting_tie_break(r: Representations, p: dict) -> np.ndarray:
    """1 - mean p(gold) over epochs: among equal forgetting counts the less confident example first."""
    return S.datamap(r.dynamics("p_gold"), r.dynamics("correct"))["datamap_hard"]


def proto_score(rep: str) -> ScoreFn:
    return lambda r, p: prototypicality_scores(
        r.features(rep), n_clusters=p["n_clusters"], seed=p["seed"], normalize=False
    )


def semdedup_score(rep: str) -> ScoreFn:
    return lambda r, p: semdedup_scores(
        r.features(rep), n_clusters=p["n_clusters"], seed=p["seed"], normalize=True
    )


def moderate_score(rep: str) -> ScoreFn:
    return lambda r, p: moderate_band_scores(moderate_distances(r.features(rep), r.labels), seed=p["seed"])


def relevance_score(rep: str) -> ScoreFn:
    """LESS's rule on any representation: mean cosine to the validation set (Du et al.'s form)."""
    return lambda r, p: S.less(
        [r.features(rep, "train")], [r.features(rep, "validation")], [1.0], val_groups=None
    )


def s2l_set(rep: str) -> SetFn:
    return lambda r, p, idx, k: idx[
        s2l(
            r.features(rep)[idx],
            k,
            n_clusters=p["n_clusters"],
            seed=p["seed"],
            variant=p.get("variant", "official"),
        )
    ]


def kcenter_set(rep: str) -> SetFn:
    return lambda r, p, idx, k: idx[k_center_greedy(r.features(rep)[idx], k, seed=p["seed"])]


def craig_set(rep: str) -> SetFn:
    return lambda r, p, idx, k: idx[
        craig(r.features(rep)[idx], r.labels[idx], k, per_class=p.get("per_class", True), seed=p["seed"])
    ]


def d2_set(rep: str) -> SetFn:
    """D2 with the authors' hard cut; a budget's subset is a prefix of one order (d2_order), so nested."""
    return lambda r, p, idx, k: idx[
        d2_order(
            _aum_difficulty(r)[idx], r.features(rep)[idx], hard_cut=p.get("hard_cut", 0.4), seed=p["seed"]
        )[:k]
    ]


def gradmatch_set(rep: str, target: str) -> SetFn:
    def select(r: Representations, p: dict, idx: np.ndarray, k: int) -> np.ndarray:
        atoms = r.features(rep)[idx]
        if target == "train":  # GradMatch itself: each class matches its own summed gradient (cords)
            return idx[
                gradmatch(
                    atoms,
                    r.labels[idx],
                    k,
                    ridge=p.get("ridge", 0.5),
                    per_class=p.get("per_class", True),
                    seed=p["seed"],
                )
            ]
        goal = r.features(rep, "validation").mean(axis=0)
        return idx[nn_omp(atoms, goal, k, order="insertion", ridge=p.get("ridge", 0.0), seed=p["seed"])[0]]

    return select


def gtp_set(rep: str | None) -> SetFn:
    """GTP: CoSaMP + NNLS matching the mean validation gradient trajectory (or a representation's mean)."""

    def select(r: Representations, p: dict, idx: np.ndarray, k: int) -> np.ndarray:
        if rep is None:
            atoms, goal = r.trajectory("train", "sgd"), r.trajectory("validation", "sgd").mean(axis=0)
        else:
            atoms, goal = r.features(rep), r.features(rep, "validation").mean(axis=0)
        solve = distributed_cosamp if p.get("distributed") else cosamp_nnls
        return idx[solve(atoms[idx], goal, k, seed=p["seed"])[0]]

    return select


def _group_annealing(r: Representations, p: dict, idx: np.ndarray, k: int) -> np.ndarray:
    c = _final(r)
    vectors = r.memo(
        "influence_vectors",
        lambda: S.influence_vectors(r.head_input("train", c), r.probs("train", c), r.labels),
    )
    return idx[group_annealing(vectors[idx], k, seed=p["seed"])]


def _ccs(r: Representations, p: dict, idx: np.ndarray, k: int) -> np.ndarray:
    return idx[
        ccs(
            _aum_difficulty(r)[idx],
            k,
            beta=p.get("beta", "schedule"),
            n_strata=p.get("n_strata", 50),
            seed=p["seed"],
        )
    ]


# ---------------------------------------------------------------------------------------------- presets
def _m(
    id_,
    title,
    objective,
    rep,
    selector,
    citation,
    direction,
    description,
    *,
    score=None,
    select=None,
    nested=False,
    tie_break=None,
    tie_break_note="",
    validation=None,
    **params,
) -> Method:
    kind = "score" if score is not None else "set"
    return Method(
        id_,
        title,
        objective,
        rep,
        selector,
        kind,
        citation,
        direction,
        description,
        score=score,
        select=select,
        nested=nested,
        params={"seed": 0, **params},
        tie_break=tie_break,
        tie_break_note=tie_break_note,
        validation=validation,
    )


PRESETS: dict[str, Method] = {
    m.id: m
    for m in [
        _m(
            "el2n",
            "EL2N",
            "difficulty",
            "outputs",
            "top_k",
            PAUL,
            "higher error norm = harder; kept as is",
            "||softmax - onehot|| at the first epoch checkpoint (eval mode); keeps the hardest.",
            score=lambda r, p: S.el2n(r.probs("train", r.first_checkpoint), r.labels),
        ),
        _m(
            "grand",
            "GraNd",
            "difficulty",
            "grad-sgd",
            "top_k",
            PAUL,
            "higher gradient norm = harder; kept as is",
            "Exact norm of the per-example gradient (parameter subset) at the earliest gradient checkpoint.",
            score=lambda r, p: S.grand(r.grad_norms("train")[:1]),
        ),
        _m(
            "forgetting",
            "Forgetting events",
            "difficulty",
            "dyn",
            "top_k",
            TONEVA,
            "more forgetting events = harder; never-learned examples rank above all; kept as is",
            "Counts correct -> incorrect transitions across epochs. With few epochs most counts tie at 0.",
            score=lambda r, p: S.forgetting_counts(r.dynamics("correct")),
            tie_break=_forgetting_tie_break,
            tie_break_note="equal counts: the less confident example first (1 - mean p(gold) over epochs)",
        ),
        _m(
            "aum",
            "AUM (difficulty)",
            "difficulty",
            "dyn",
            "top_k",
            PLEISS,
            "low margin = hard; score = -AUM",
            "Mean over epochs of gold logit minus the largest other logit; keeps the lowest margins.",
            score=lambda r, p: S.aum(r.dynamics("margin")),
        ),
        _m(
            "datamap-hard",
            "Data map: hard-to-learn",
            "difficulty",
            "dyn",
            "top_k",
            SWAYAMDIPTA,
            "low confidence = hard; score = 1 - confidence",
            "Keeps the least confident examples across epochs.",
            score=_datamap("datamap_hard"),
        ),
        _m(
            "datamap-ambiguous",
            "Data map: ambiguous",
            "difficulty",
            "dyn",
            "top_k",
            SWAYAMDIPTA,
            "high variability = ambiguous; kept as is",
            "Keeps the examples whose gold probability varies most across epochs (Du et al.'s released setting).",
            score=_datamap("datamap_ambiguous"),
        ),
        _m(
            "datamap-easy",
            "Data map: easy-to-learn",
            "difficulty",
            "dyn",
            "top_k",
            SWAYAMDIPTA,
            "high confidence = easy; kept as is",
            "Keeps the most confident examples.",
            score=_datamap("datamap_easy"),
        ),
        _m(
            "s2l",
            "S2L (loss trajectories)",
            "diversity",
            "dyn",
            "s2l",
            S2L_CITE,
            "set selection (no score)",
            "k-means on loss trajectories; the budget is split equally across clusters (official ascending order).",
            select=s2l_set("dyn"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "s2l-hs",
            "S2L on hidden states",
            "diversity",
            "hs",
            "s2l",
            DU,
            "set selection (no score)",
            "S2L's cluster-balanced sampling on fine-tuned hidden states (a new cell of Du et al.'s grid).",
            select=s2l_set("hs"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "s2l-grad",
            "S2L on gradients",
            "diversity",
            "grad",
            "s2l",
            DU,
            "set selection (no score)",
            "S2L's cluster-balanced sampling on lr-weighted, normalised Adam gradients.",
            select=s2l_set("grad"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "prototypicality",
            "Prototypicality",
            "difficulty",
            "hs",
            "prototypicality",
            SORSCHER,
            "far from the nearest k-means centroid = hard; squared distance kept as is",
            "k-means on fine-tuned hidden states; keeps the least prototypical examples.",
            score=proto_score("hs"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "proto-tl",
            "Prototypicality on losses",
            "difficulty",
            "tl",
            "prototypicality",
            DU,
            "far from centroid = hard",
            "Prototypicality on eval-mode loss vectors across checkpoints.",
            score=proto_score("tl"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "proto-grad",
            "Prototypicality on gradients",
            "difficulty",
            "grad",
            "prototypicality",
            DU,
            "far from centroid = hard",
            "Prototypicality on lr-weighted, normalised Adam gradients.",
            score=proto_score("grad"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "semdedup",
            "SemDeDup",
            "diversity",
            "hs",
            "semdedup",
            SEMDEDUP,
            "duplicated = drop; score = -max similarity",
            "Within k-means clusters, penalises examples with a near-duplicate farther from the centroid.",
            score=semdedup_score("hs"),
            **CLUSTER_DEFAULTS,
        ),
        _m(
            "memorization",
            "Memorisation (self-influence)",
            "difficulty",
            "grad-sgd",
            "top_k",
            FELDMAN,
            "higher self-influence = more memorised; kept as is",
            "TracIn self-influence: lr-weighted squared norm of projected gradients (a proxy, not Feldman & Zhang).",
            score=lambda r, p: S.memorization(r.grads("train", "sgd"), r.grad_lrs()),
        ),
        _m(
            "tracin",
            "TracIn to validation",
            "relevance",
            "grad-sgd",
            "top_k",
            PRUTHI,
            "positive influence on validation loss = helpful; kept as is",
            "lr-weighted dot product of each training gradient with the summed validation gradient.",
            score=lambda r, p: S.tracin(r.grads("train", "sgd"), r.grads("validation", "sgd"), r.grad_lrs()),
        ),
        _m(
            "less",
            "LESS",
            "relevance",
            "grad",
            "less",
            XIA,
            "more similar to validation gradients = keep",
            "lr-weighted cosine of Adam training gradients to SGD validation gradients, mean over all "
            "validation examples (Du et al.'s form).",
            score=_less,
        ),
        _m(
            "less-grouped",
            "LESS (label-grouped)",
            "relevance",
            "grad",
            "less",
            XIA,
            "more similar to validation gradients of some label = keep",
            "LESS's own per-task grouping with the validation labels as tasks: mean cosine per label, max "
            "over labels.",
            score=_less,
            label_groups=True,
        ),
        _m(
            "less-tl",
            "LESS rule on losses",
            "relevance",
            "tl",
            "less",
            DU,
            "larger dot product = keep",
            "Dot product of eval loss vectors with the summed validation loss vectors.",
            score=lambda r, p: S.relevance_dot([r.features("tl")], [r.features("tl", "validation")]),
        ),
        _m(
            "less-hs",
            "LESS rule on hidden states",
            "relevance",
            "hs",
            "less",
            DU,
            "more similar = keep",
            "Sum of cosines of fine-tuned hidden states to the validation set's.",
            score=lambda r, p: S.relevance_dot(
                [r.features("hs")], [r.features("hs", "validation")], normalize=True
            ),
        ),
        _m(
            "reverse-less",
            "Reverse LESS",
            "relevance",
            "grad",
            "less",
            DU,
            "least similar = keep; score = -LESS",
            "LESS negated: the least relevant examples (a sanity baseline).",
            score=lambda r, p: -_less(r, p),
        ),
        _m(
            "gtp",
            "GTP",
            "relevance",
            "grad-sgd",
            "cosamp",
            GTP_CITE,
            "set selection (no score)",
            "CoSaMP + NNLS: a sparse non-negative combination of gradient trajectories matching the mean "
            "validation trajectory; distributed two-round variant with params distributed=True.",
            select=gtp_set(None),
        ),
        _m(
            "gradmatch",
            "GradMatch",
            "relevance",
            "grad-sgd",
            "nn_omp",
            GRADMATCH,
            "set selection (no score)",
            "Non-negative OMP per class matching the class's summed training gradient (lambda 0.5, no support "
            "cap, the rest of the budget at random, as cords); nested greedy order per class.",
            select=gradmatch_set("grad-sgd", "train"),
            nested=True,
            ridge=0.5,
            per_class=True,
        ),
        _m(
            "craig",
            "CRAIG",
            "diversity",
            "grad-sgd",
            "facility_location",
            CRAIG,
            "set selection (greedy order)",
            "Facility location per class on projected gradients (lazy greedy), budgets proportional to class "
            "size as the reference; nested greedy order.",
            select=craig_set("grad-sgd"),
            nested=True,
            per_class=True,
        ),
        _m(
            "kcenter",
            "k-center greedy",
            "diversity",
            "hs",
            "kcenter",
            SENER,
            "set selection (greedy order)",
            "Greedy 2-approximation of the minimax cover of hidden states; nested greedy order.",
            select=kcenter_set("hs"),
            nested=True,
        ),
        _m(
            "moderate",
            "Moderate coreset",
            "difficulty",
            "hs",
            "moderate",
            MODERATE,
            "distance to class median closest to the median distance = keep; score = -|rank - median rank|",
            "Keeps the central band of distances to each class's median hidden state.",
            score=moderate_score("hs"),
        ),
        _m(
            "ccs",
            "CCS",
            "diversity",
            "dyn",
            "ccs",
            CCS_CITE,
            "set selection (no score)",
            "Stratified sampling over 50 equal-width strata of the accumulated probability margin after "
            "removing the hardest beta (the authors' beta for the pruning rate: 0.1 up to 70 %, 0.2, 0.3 "
            "from 80 %, 0.4 from 95 %).",
            select=_ccs,
            beta="schedule",
            n_strata=50,
        ),
        _m(
            "d2",
            "D2 pruning",
            "diversity",
            "hs",
            "d2",
            D2_CITE,
            "set selection (greedy order)",
            "Message passing over the symmetric kNN graph of hidden states with the accumulated probability "
            "margin as difficulty, after removing the hardest 40 % (the authors' README); nested order.",
            select=d2_set("hs"),
            nested=True,
            hard_cut=0.4,
        ),
        _m(
            "influence",
            "Influence (last layer)",
            "relevance",
            "head",
            "top_k",
            KOH,
            "removing it would raise validation loss = helpful; score = -I_up,loss",
            "Influence of each example on the mean validation loss through the final linear layer (damped Hessian).",
            score=_influence,
            validation=INFLUENCE_CHECK,
            damping=INFLUENCE_DAMPING,
        ),
        _m(
            "group-annealing",
            "Group-effect pruning",
            "difficulty",
            "head",
            "group_annealing",
            YANG,
            "set selection (no score)",
            "Simulated annealing choosing the pruned set whose summed last-layer influence vectors are smallest.",
            select=_group_annealing,
        ),
        _m(
            "random",
            "Random",
            "baseline",
            "none",
            "random",
            "uniform baseline",
            "uniform random score",
            "Uniform random scores (seeded): the reference every method should beat.",
            score=lambda r, p: S.random_scores(r.n, seed=p["seed"]),
        ),
    ]
}

# ---------------------------------------------------------------------------------------------- the grid
GRID_SELECTORS: dict[str, tuple[str, str, bool, Callable]] = {
    # name: (objective, kind, needs validation features, factory(representation))
    "proto": ("difficulty", "score", False, proto_score),
    "semdedup": ("diversity", "score", False, semdedup_score),
    "moderate": ("difficulty", "score", False, moderate_score),
    "less": ("relevance", "score", True, relevance_score),
    "s2l": ("diversity", "set", False, s2l_set),
    "kcenter": ("diversity", "set", False, kcenter_set),
    "craig": ("diversity", "set", False, craig_set),
    "d2": ("diversity", "set", False, d2_set),
    "gradmatch": ("relevance", "set", True, lambda rep: gradmatch_set(rep, "validation")),
    "gtp": ("relevance", "set", True, gtp_set),
}
_NESTED = {"kcenter", "craig", "d2", "gradmatch"}


def grid_cell(selector: str, representation: str) -> Method:
    """The method ``<selector>@<representation>`` (an empty cell of Du et al.'s grid, computed on demand)."""
    if selector not in GRID_SELECTORS:
        raise UnknownMethod(
            f"unknown selector {selector!r} in '{selector}@{representation}'; "
            f"selectors: {', '.join(GRID_SELECTORS)}"
        )
    if representation not in REPRESENTATIONS:
        raise UnknownMethod(
            f"unknown representation {representation!r} in '{selector}@{representation}'; "
            f"representations: {', '.join(REPRESENTATIONS)}"
        )
    objective, kind, needs_validation, factory = GRID_SELECTORS[selector]
    if needs_validation and not REPRESENTATIONS[representation].has_validation:
        raise UnknownMethod(
            f"'{selector}@{representation}': {selector} needs validation features, which "
            f"{representation!r} does not have"
        )
    fn = factory(representation)
    info = REPRESENTATIONS[representation]
    return Method(
        f"{selector}@{representation}",
        f"{selector} on {info.title}",
        objective,
        representation,
        selector,
        kind,
        DU,
        "higher = keep" if kind == "score" else "set selection",
        f"The {selector} selection algorithm applied to {info.title} ({info.family}).",
        score=fn if kind == "score" else None,
        select=fn if kind == "set" else None,
        nested=selector in _NESTED,
        params=dict(CLUSTER_DEFAULTS),
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
        f"'<selector>@<representation>' with selectors {', '.join(GRID_SELECTORS)} and "
        f"representations {', '.join(REPRESENTATIONS)}"
    )


def all_grid_cells() -> list[str]:
    cells = []
    for selector, (_, _, needs_validation, _) in GRID_SELECTORS.items():
        for rep, info in REPRESENTATIONS.items():
            if not needs_validation or info.has_validation:
                cells.append(f"{selector}@{rep}")
    return cells
