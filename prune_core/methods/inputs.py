"""What a method may read from a run: the declared inputs, and the lazy reader over the run's arrays.

Two halves. ``INPUTS`` declares every input a method can name as its ``representation``: the grid
representations (Du et al.'s first axis, ``REPRESENTATIONS``), each with the function that builds its
feature matrix, and the inputs that are not representations (``outputs``, ``head``, ``none``), which no
selector of the grid can run on. ``Representations`` is the read façade a method receives: it opens no
file itself but asks the run store for arrays, once, and caches them. (Extraction, which writes those
arrays, is ``prune_core/represent/``.)

Each representation of the grid has a short name used in method ids (``<selector>@<representation>``):

| name      | family             | train features                                   | validation features |
|-----------|--------------------|--------------------------------------------------|---------------------|
| dyn       | training dynamics  | online loss trajectory over epochs [n, E]         | — (online only)     |
| tl        | training dynamics  | eval-mode loss at each epoch checkpoint [n, E]    | the same [m, E]     |
| hs        | hidden states      | last-layer first-token state, final checkpoint    | the same            |
| hs-pre    | hidden states      | the same from the pre-trained model (task-agnostic)| the same           |
| grad      | gradients          | Adam-preconditioned projected gradients (LESS)    | plain (SGD) ones    |
| grad-sgd  | gradients          | plain projected gradients                         | the same            |

Gradient features over several checkpoints are L2-normalised per checkpoint and combined with the
checkpoints' mean learning rates as weights (Du et al. 1.4: lr-weighted sum, LESS: lr-weighted cosines).
A new representation is one ``register_input(MethodInput(...))`` here (CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from prune_core.store import CheckpointInfo, Run, StoreError, keys


class MissingRepresentation(StoreError):
    """The run lacks what a method needs; the message says which stage computes it."""


FeatureReader = Callable[["Representations", str], np.ndarray]


@dataclass(frozen=True, kw_only=True)
class MethodInput:
    """One input a method may read. With ``features`` it is a grid representation: ``features(reps,
    split)`` builds its [rows, d] matrix for a split; without, a method reads it through its own score.

    ``gradient_kinds`` (gradient representations only) names the stored gradient variant per split, so
    GTP can read the per-checkpoint trajectory behind the lr-weighted sum.
    """

    name: str
    family: str  # "training dynamics" | "hidden states" | "gradients" | "baseline"
    title: str
    has_validation: bool
    features: FeatureReader | None = None
    gradient_kinds: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_representation(self) -> bool:
        return self.features is not None


def _tl(r: Representations, split: str) -> np.ndarray:
    return np.stack([r.array(keys.outputs(split, c.id, "loss")) for c in r.checkpoints], axis=1)


_ADAM_TRAIN = MappingProxyType({"train": "adam", "validation": "sgd"})
_SGD = MappingProxyType({"train": "sgd", "validation": "sgd"})

INPUTS: dict[str, MethodInput] = {}
REPRESENTATIONS: dict[str, MethodInput] = {}


def register_input(info: MethodInput) -> MethodInput:
    """Declare an input; one with ``features`` joins ``REPRESENTATIONS`` and so the selector grid."""
    if info.name in INPUTS:
        raise ValueError(f"input {info.name!r} is already declared")
    if "@" in info.name:
        raise ValueError(
            f"input names may not contain '@' (it separates selector and representation): {info.name!r}"
        )
    INPUTS[info.name] = info
    if info.is_representation:
        REPRESENTATIONS[info.name] = info
    return info


for _info in (
    MethodInput(
        name="dyn",
        family="training dynamics",
        title="online loss trajectory (train mode, per epoch)",
        has_validation=False,
        features=lambda r, split: r.dynamics("loss"),
    ),
    MethodInput(
        name="tl",
        family="training dynamics",
        title="eval loss at each epoch checkpoint",
        has_validation=True,
        features=_tl,
    ),
    MethodInput(
        name="hs",
        family="hidden states",
        title="fine-tuned last-layer [CLS] state",
        has_validation=True,
        features=lambda r, split: l2_normalize(r.hidden(split, r.final_checkpoint)),
    ),
    MethodInput(
        name="hs-pre",
        family="hidden states",
        title="pre-trained last-layer [CLS] state",
        has_validation=True,
        features=lambda r, split: l2_normalize(r.hidden(split, "pretrained")),
    ),
    MethodInput(
        name="grad",
        family="gradients",
        title="projected Adam gradients (validation: SGD)",
        has_validation=True,
        features=lambda r, split: r.lr_weighted(r.grads(split, _ADAM_TRAIN[split])),
        gradient_kinds=_ADAM_TRAIN,
    ),
    MethodInput(
        name="grad-sgd",
        family="gradients",
        title="projected plain gradients",
        has_validation=True,
        features=lambda r, split: r.lr_weighted(r.grads(split, "sgd")),
        gradient_kinds=_SGD,
    ),
    # Not representations: read by a method's own score, never by a grid selector.
    MethodInput(
        name="outputs",
        family="training dynamics",
        title="the model's outputs (logits) at a checkpoint",
        has_validation=True,
    ),
    MethodInput(
        name="head",
        family="gradients",
        title="the classifier head's inputs and probabilities (last-layer gradients)",
        has_validation=True,
    ),
    MethodInput(name="none", family="baseline", title="nothing (a baseline)", has_validation=False),
):
    register_input(_info)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


class Representations:
    """Lazy, cached access to one run's arrays as float32 numpy arrays (train and validation)."""

    def __init__(self, run: Run):
        self.run = run
        self._cache: dict[tuple, np.ndarray] = {}

    # ------------------------------------------------------------------ basics
    @cached_property
    def examples(self):
        return self.run.examples()

    @cached_property
    def labels(self) -> np.ndarray:
        return self.examples.loc[self.examples["split"] == "train", "label"].to_numpy(np.int64)

    @cached_property
    def val_labels(self) -> np.ndarray:
        return self.examples.loc[self.examples["split"] == "validation", "label"].to_numpy(np.int64)

    @cached_property
    def uids(self) -> np.ndarray:
        return self.examples.loc[self.examples["split"] == "train", "uid"].to_numpy(str)

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def num_labels(self) -> int:
        return len(self.run.label_names)

    @cached_property
    def checkpoints(self) -> list[CheckpointInfo]:
        return [c for c in self.run.checkpoints if c.id != "pretrained"]

    @property
    def final_checkpoint(self) -> str:
        if not self.checkpoints:
            raise MissingRepresentation(f"run {self.run.id} has no trained checkpoints: run `compute` first")
        return self.checkpoints[-1].id

    @property
    def first_checkpoint(self) -> str:
        return self.checkpoints[0].id if self.checkpoints else self.final_checkpoint

    @cached_property
    def grad_checkpoints(self) -> list[CheckpointInfo]:
        found = [c for c in self.checkpoints if self.run.has(keys.grads("train", c.id, "sgd"))]
        if not found:
            raise MissingRepresentation(
                f"run {self.run.id} has no gradient features: run `compute` "
                "(stage represent:<checkpoint>) with --grad-checkpoints"
            )
        return found

    def grad_lrs(self) -> list[float]:
        return [float(c.lr or 1.0) for c in self.grad_checkpoints]

    def memo(self, key: str, compute):
        """Compute once per run object (e.g. influence vectors shared by every budget and label)."""
        if ("memo", key) not in self._cache:
            self._cache[("memo", key)] = compute()
        return self._cache[("memo", key)]

    # ------------------------------------------------------------------ raw arrays
    def array(self, key: str) -> np.ndarray:
        if key not in self._cache:
            if not self.run.has(key):
                raise MissingRepresentation(
                    f"run {self.run.id} has no {key!r} ({keys.parse(key).kind}); run `compute` first"
                )
            self._cache[key] = np.asarray(self.run.read_array(key), dtype=np.float32)
        return self._cache[key]

    def dynamics(self, quantity: str) -> np.ndarray:
        return self.array(keys.dynamics(quantity))

    def logits(self, split: str, checkpoint: str) -> np.ndarray:
        return self.array(keys.outputs(split, checkpoint, "logits"))

    def probs(self, split: str, checkpoint: str) -> np.ndarray:
        logits = self.logits(split, checkpoint).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def hidden(self, split: str, checkpoint: str, pooling: str = "cls") -> np.ndarray:
        return self.array(keys.hidden(split, checkpoint, pooling))

    def head_input(self, split: str, checkpoint: str) -> np.ndarray:
        return self.array(keys.head_input(split, checkpoint))

    def grads(self, split: str, kind: str) -> list[np.ndarray]:
        """Projected gradients at every gradient checkpoint, after checking they share one projection."""
        wanted = [keys.grads(split, c.id, kind) for c in self.grad_checkpoints]
        projections = {str(self.run.array_meta(k).get("projection")) for k in wanted}
        projections |= {
            str(self.run.array_meta(keys.grads(s, c.id, "sgd")).get("projection"))
            for s in ("train", "validation")
            for c in self.grad_checkpoints
            if self.run.has(keys.grads(s, c.id, "sgd"))
        }
        if len(projections) > 1:
            raise StoreError(
                f"run {self.run.id}: gradient arrays were projected with different settings "
                f"({sorted(projections)}); refusing to combine them"
            )
        return [self.array(k) for k in wanted]

    def grad_norms(self, split: str = "train") -> list[np.ndarray]:
        return [self.array(keys.grad_norms(split, c.id)) for c in self.grad_checkpoints]

    # ------------------------------------------------------------------ grid features
    def features(self, name: str, split: str = "train") -> np.ndarray:
        """The 2-D feature matrix of a grid representation for one split."""
        key = ("features", name, split)
        if key in self._cache:
            return self._cache[key]
        if name not in REPRESENTATIONS:
            raise ValueError(f"unknown representation {name!r}; expected one of {', '.join(REPRESENTATIONS)}")
        if split != "train" and not REPRESENTATIONS[name].has_validation:
            raise MissingRepresentation(f"representation {name!r} exists for training examples only")
        value = np.nan_to_num(np.asarray(REPRESENTATIONS[name].features(self, split), dtype=np.float32))
        self._cache[key] = value
        return value

    def lr_weighted(self, per_checkpoint: list[np.ndarray]) -> np.ndarray:
        """Sum over checkpoints of lr-weighted, row-normalised features (weights renormalised to sum 1)."""
        lrs = np.asarray(self.grad_lrs(), dtype=np.float64)
        weights = lrs / lrs.sum() if lrs.sum() > 0 else np.full(len(lrs), 1 / len(lrs))
        return sum(w * l2_normalize(g) for w, g in zip(weights, per_checkpoint)).astype(np.float32)

    def trajectory(self, name: str, split: str = "train") -> np.ndarray:
        """GTP's gradient trajectory of a gradient representation: its per-checkpoint projected gradients
        concatenated [rows, d * T], where the representation itself is their lr-weighted sum."""
        kinds = INPUTS[name].gradient_kinds if name in INPUTS else {}
        if split not in kinds:
            raise ValueError(
                f"representation {name!r} has no gradient trajectory; expected one of "
                f"{', '.join(n for n, i in REPRESENTATIONS.items() if i.gradient_kinds)}"
            )
        return np.concatenate(self.grads(split, kinds[split]), axis=1)
