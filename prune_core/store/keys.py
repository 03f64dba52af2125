"""Every storage key and stage name of a run, built and parsed in one place.

A key names one stored file inside a run (``run.read_array(keys.hidden("train", "epoch-2"))``); the
store maps it to ``arrays/<key>.npy``, ``tables/<key>.parquet`` or ``json/<key>.json``. Writers and
readers build keys only with the functions here and take them apart only with :func:`parse`, so the
layout can change in this one file.

=============================================  =====  ========================================================
key                                            kind   what
=============================================  =====  ========================================================
``examples``                                   table  uid, split, label, text[, text_pair], length
``dynamics/<split>/<quantity>``                array  per-epoch training dynamics [n, E] (p_gold, loss...)
``outputs/<split>/<checkpoint>/<logits|loss>`` array  eval-mode outputs at a checkpoint
``hidden/<split>/<checkpoint>/<cls|mean>``     array  last-layer hidden states [n, h]
``head_input/<split>/<checkpoint>``            array  what the classification head reads [n, h]
``grads/<split>/<checkpoint>/<sgd|adam>``      array  projected per-example gradients [n, d]
``grad_norms/<split>/<checkpoint>``            array  exact per-example gradient norms [n]
``checkpoints/<checkpoint>/<group>``           file   safetensors tensor group, or ``state`` (JSON)
``shards/<split>/<checkpoint>/<index>``        shard  one block of a distributed representation pass:
                                                      every output of a range of examples (safetensors)
``scores/<method>``                            array  a score method's scores, higher = keep [n]
``rankings/<method>/<plain|balanced>``         array  a method's keep order [n]
``selections/<method>/<plain|balanced>``       array  packed membership at each cached budget [B, n/8]
``scores``                                     table  uid + one column per score method
``methods``                                    json   every attempted method: description, status, cost
``maps/<representation>/<umap|pca>``           array  cached 2-D map [n, 2]
``evaluation/<mode>/<method>/<job>``           json   one evaluation result
``evaluations``                                table  every stored evaluation result, one row each
=============================================  =====  ========================================================

Stage names: ``data``, ``train``, ``represent:<checkpoint>``, ``select:<method>``,
``map:<representation>:<method>``, ``evaluate:<mode>``; the summaries rebuilt after them are attributed to
``select:summary`` and ``evaluate:summary``.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------- tables / json
EXAMPLES = "examples"
SCORE_TABLE = "scores"
METHODS = "methods"
EVALUATIONS = "evaluations"

# ---------------------------------------------------------------------------------------------- prefixes
DYNAMICS, OUTPUTS, HIDDEN, HEAD_INPUT, GRADS, GRAD_NORMS = (
    "dynamics",
    "outputs",
    "hidden",
    "head_input",
    "grads",
    "grad_norms",
)
CHECKPOINTS, SCORES, RANKINGS, SELECTIONS, MAPS, EVALUATION = (
    "checkpoints",
    "scores",
    "rankings",
    "selections",
    "maps",
    "evaluation",
)
SHARDS = "shards"
VARIANTS = ("plain", "balanced")
CHECKPOINT_STATE = "state"


def variant(balanced: bool) -> str:
    return "balanced" if balanced else "plain"


def prefix(kind: str, *parts: str) -> str:
    """The prefix shared by every key of ``kind`` (and the given leading parts), for ``run.keys(...)``."""
    return "/".join((kind, *parts)) + "/"


# ---------------------------------------------------------------------------------------------- compute
def dynamics(quantity: str, split: str = "train") -> str:
    return f"{DYNAMICS}/{split}/{quantity}"


def outputs(split: str, checkpoint: str, what: str) -> str:
    return f"{OUTPUTS}/{split}/{checkpoint}/{what}"


def hidden(split: str, checkpoint: str, pooling: str = "cls") -> str:
    return f"{HIDDEN}/{split}/{checkpoint}/{pooling}"


def head_input(split: str, checkpoint: str) -> str:
    return f"{HEAD_INPUT}/{split}/{checkpoint}"


def grads(split: str, checkpoint: str, kind: str) -> str:
    return f"{GRADS}/{split}/{checkpoint}/{kind}"


def grad_norms(split: str, checkpoint: str) -> str:
    return f"{GRAD_NORMS}/{split}/{checkpoint}"


def checkpoint(checkpoint_id: str, group: str) -> str:
    return f"{CHECKPOINTS}/{checkpoint_id}/{group}"


def shard(split: str, checkpoint: str, index: int) -> str:
    """One shard of a distributed representation pass (``prune_core/distributed/``), numbered from 0."""
    return f"{SHARDS}/{split}/{checkpoint}/{int(index):05d}"


# ---------------------------------------------------------------------------------------------- select
def scores(method: str) -> str:
    return f"{SCORES}/{method}"


def ranking(method: str, balanced: bool = False) -> str:
    return f"{RANKINGS}/{method}/{variant(balanced)}"


def selection(method: str, balanced: bool = False) -> str:
    return f"{SELECTIONS}/{method}/{variant(balanced)}"


# ---------------------------------------------------------------------------------------------- maps, evaluate
def map_coords(representation: str, method: str) -> str:
    return f"{MAPS}/{representation}/{method}"


def evaluation(mode: str, method: str, budget: float, balanced: bool, seed: int) -> str:
    return f"{EVALUATION}/{mode}/{method}/{budget:g}-{variant(balanced)}-seed{seed}"


# ---------------------------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class Key:
    """A key taken apart: its kind (first component) and its named parts (absent ones are ``None``)."""

    kind: str
    split: str | None = None
    checkpoint: str | None = None
    name: str | None = None  # quantity, pooling, logits/loss, grad kind, checkpoint group
    method: str | None = None
    variant: str | None = None
    representation: str | None = None
    mode: str | None = None


_LAYOUT = {  # kind -> the names of the parts after it
    DYNAMICS: ("split", "name"),
    OUTPUTS: ("split", "checkpoint", "name"),
    HIDDEN: ("split", "checkpoint", "name"),
    HEAD_INPUT: ("split", "checkpoint"),
    GRADS: ("split", "checkpoint", "name"),
    GRAD_NORMS: ("split", "checkpoint"),
    CHECKPOINTS: ("checkpoint", "name"),
    SHARDS: ("split", "checkpoint", "name"),
    SCORES: ("method",),
    RANKINGS: ("method", "variant"),
    SELECTIONS: ("method", "variant"),
    MAPS: ("representation", "method"),
    EVALUATION: ("mode", "method", "name"),
}


def parse(key: str) -> Key:
    """Take a key apart; a key outside the layout above raises ``ValueError`` naming it."""
    kind, *rest = key.split("/")
    if not rest and kind in (EXAMPLES, SCORE_TABLE, METHODS, EVALUATIONS):
        return Key(kind)
    names = _LAYOUT.get(kind)
    if names is None or len(rest) != len(names) or not all(rest):
        raise ValueError(f"{key!r} is not a PruneScope storage key (see prune_core/store/keys.py)")
    return Key(kind, **dict(zip(names, rest)))


# ---------------------------------------------------------------------------------------------- stage names
DATA_STAGE = "data"
TRAIN_STAGE = "train"
SELECT_SUMMARY = "select:summary"
EVALUATE_SUMMARY = "evaluate:summary"


def represent_stage(checkpoint_id: str) -> str:
    return f"represent:{checkpoint_id}"


def select_stage(method: str) -> str:
    return f"select:{method}"


def map_stage(representation: str, method: str) -> str:
    return f"map:{representation}:{method}"


def evaluate_stage(mode: str) -> str:
    return f"evaluate:{mode}"


@dataclass(frozen=True)
class StageName:
    """A stage name taken apart: ``kind`` (data, train, represent, select, map, evaluate) and its parts."""

    kind: str
    checkpoint: str | None = None
    method: str | None = None
    representation: str | None = None
    mode: str | None = None

    @property
    def is_summary(self) -> bool:
        return self.method == "summary" or self.mode == "summary"


def parse_stage(name: str) -> StageName:
    kind, _, rest = name.partition(":")
    if kind == "represent":
        return StageName(kind, checkpoint=rest)
    if kind == "select":
        return StageName(kind, method=rest)
    if kind == "map":
        representation, _, method = rest.partition(":")
        return StageName(kind, representation=representation, method=method or None)
    if kind == "evaluate":
        return StageName(kind, mode=rest)
    return StageName(kind)
