"""The representations of a run, loaded on demand from the store (Du et al.'s first axis).

A method never opens a file: it asks this object for arrays. Each representation of the grid has a short
name used in method ids (``<selector>@<representation>``):

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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from prune_core.store import CheckpointInfo, Run, StoreError, keys


class MissingRepresentation(StoreError):
    """The run lacks what a method needs; the message says which stage computes it."""


@dataclass(frozen=True)
class RepresentationInfo:
    name: str
    family: str  # "training dynamics" | "hidden states" | "gradients"
    title: str
    has_validation: bool


REPRESENTATIONS = {
    "dyn": RepresentationInfo(
        "dyn", "training dynamics", "online loss trajectory (train mode, per epoch)", False
    ),
    "tl": RepresentationInfo("tl", "training dynamics", "eval loss at each epoch checkpoint", True),
    "hs": RepresentationInfo("hs", "hidden states", "fine-tuned last-layer [CLS] state", True),
    "hs-pre": RepresentationInfo("hs-pre", "hidden states", "pre-trained last-layer [CLS] state", True),
    "grad": RepresentationInfo("grad", "gradients", "projected Adam gradients (validation: SGD)", True),
    "grad-sgd": RepresentationInfo("grad-sgd", "gradients", "projected plain gradients", True),
}


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
        if name == "dyn":
            value = self.dynamics("loss")
        elif name == "tl":
            value = np.stack(
                [self.array(keys.outputs(split, c.id, "loss")) for c in self.checkpoints], axis=1
            )
        elif name == "hs":
            value = l2_normalize(self.hidden(split, self.final_checkpoint))
        elif name == "hs-pre":
            value = l2_normalize(self.hidden(split, "pretrained"))
        else:
            kind = "adam" if (name == "grad" and split == "train") else "sgd"
            value = self.lr_weighted(self.grads(split, kind))
        value = np.nan_to_num(np.asarray(value, dtype=np.float32))
        self._cache[key] = value
        return value

    def lr_weighted(self, per_checkpoint: list[np.ndarray]) -> np.ndarray:
        """Sum over checkpoints of lr-weighted, row-normalised features (weights renormalised to sum 1)."""
        lrs = np.asarray(self.grad_lrs(), dtype=np.float64)
        weights = lrs / lrs.sum() if lrs.sum() > 0 else np.full(len(lrs), 1 / len(lrs))
        return sum(w * l2_normalize(g) for w, g in zip(weights, per_checkpoint)).astype(np.float32)

    def trajectory(self, split: str = "train", kind: str = "sgd") -> np.ndarray:
        """GTP's gradient trajectory: per-checkpoint projected gradients concatenated [n, d * T]."""
        return np.concatenate(self.grads(split, kind), axis=1)
