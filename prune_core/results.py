"""The read façade of a run: what it holds, its examples, and its methods' scores, rankings and selections.

What the app, the analysis and the export read; none of them builds a storage key or opens the manifest
(keys live in ``prune_core/store/keys.py``, the manifest in ``prune_core/store/``). Nothing here computes
a method; a budget that is not cached is answered from the method's ranking when the method is nested
(score methods and greedy orders, whose subsets are prefixes of one order), and otherwise reported as
missing with the command that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from prune_core.methods.select_stage import unpack_membership
from prune_core.select.budget import budget_to_k
from prune_core.store import CheckpointInfo, DatasetInfo, Run, StageRecord, StoreError, keys


class MissingSelection(StoreError):
    """A method or budget that the run has not computed."""


@dataclass(frozen=True)
class MapSource:
    """A 2-D map the run can show: a cached one (``kind="cached"``, UMAP or PCA of a grid representation)
    or hidden states at a checkpoint that a reader projects itself (``kind="live"``)."""

    kind: str
    key: str  # the stored array it reads (recorded as provenance in exports)
    representation: str | None = None  # cached maps: the grid representation
    method: str | None = None  # cached maps: umap | pca
    checkpoint: str | None = None  # live maps: the checkpoint of the hidden states


class Results:
    def __init__(self, run: Run):
        self.run = run

    # ------------------------------------------------------------------ the run
    @property
    def id(self) -> str:
        return self.run.id

    @property
    def config(self) -> dict:
        return self.run.config

    @property
    def dataset(self) -> DatasetInfo:
        return self.run.dataset

    @property
    def model(self) -> dict:
        return self.run.model_info

    @property
    def checkpoints(self) -> list[CheckpointInfo]:
        return self.run.checkpoints

    @property
    def gradient_capture(self) -> str | None:
        """How the training examples' gradients were taken: ``step`` (by hooks in the training step that
        used each example, ``represent/step_capture.py``) or ``checkpoint`` (recomputed at end-of-epoch
        checkpoints after training; every run before step capture existed). None for runs without a
        compute config (e.g. synthetic ones)."""
        represent = self.config.get("represent")
        if not isinstance(represent, dict):
            return None
        return str(represent.get("grad_capture", "checkpoint"))

    @property
    def gradient_epochs(self) -> list[int]:
        """The epochs whose checkpoints hold gradient features."""
        return [c.epoch for c in self.checkpoints if c.gradients]

    @property
    def created(self) -> str | None:
        return self.run.created

    @property
    def updated(self) -> str | None:
        """When the manifest last changed (any stage or file)."""
        return self.run.updated

    def stages(self, prefix: str = "") -> dict[str, StageRecord]:
        """The run's stage records (status, seconds, error), by stage name."""
        return self.run.stages(prefix)

    def checksum(self, *names: str) -> str:
        """A hash of the recorded sha256 of the stored files whose keys equal or start with ``names``:
        it changes exactly when one of them is rewritten (a cache token for readers)."""
        return self.run.checksum(*names)

    # ------------------------------------------------------------------ what the run holds (manifest only)
    @property
    def has_examples(self) -> bool:
        return self.run.has(keys.EXAMPLES)

    @property
    def has_dynamics(self) -> bool:
        """Per-epoch p(gold) and correctness of the training examples (the data map's input)."""
        return self.run.has(keys.dynamics("p_gold")) and self.run.has(keys.dynamics("correct"))

    @property
    def has_methods(self) -> bool:
        return self.run.has(keys.METHODS)

    @property
    def has_score_table(self) -> bool:
        return self.run.has(keys.SCORE_TABLE)

    def scored_methods(self) -> list[str]:
        """Methods whose scores are stored (score methods that finished)."""
        return [keys.parse(k).method for k in self.run.keys(keys.prefix(keys.SCORES))]

    def selected_methods(self) -> list[str]:
        """Methods whose selections are stored."""
        return sorted({keys.parse(k).method for k in self.run.keys(keys.prefix(keys.SELECTIONS))})

    def has_selection(self, method: str, balanced: bool = False) -> bool:
        return self.run.has(keys.selection(method, balanced))

    @property
    def epochs(self) -> int:
        """Epochs the training dynamics cover."""
        return int(self.run.file_info(keys.dynamics("p_gold")).shape[1])

    def map_sources(self) -> list[MapSource]:
        """Cached 2-D maps, then hidden states of every checkpoint a reader can project itself."""
        cached = [
            MapSource("cached", key, representation=parsed.representation, method=parsed.method)
            for key in self.run.keys(keys.prefix(keys.MAPS))
            for parsed in [keys.parse(key)]
        ]
        live = [
            MapSource("live", key, checkpoint=parsed.checkpoint)
            for key in self.run.keys(keys.prefix(keys.HIDDEN, "train"))
            for parsed in [keys.parse(key)]
            if parsed.name == "cls"
        ]
        return cached + live

    # ------------------------------------------------------------------ stored arrays and tables
    def map_coords(self, source: MapSource) -> np.ndarray:
        """A cached map's coordinates, or the live source's hidden states (training row order)."""
        return self.run.read_array(source.key)

    def dynamics(self, quantity: str) -> np.ndarray:
        """A training-dynamics array [n, epochs] as stored (p_gold, correct, loss, margin)."""
        return self.run.read_array(keys.dynamics(quantity))

    def evaluations(self) -> pd.DataFrame:
        """The run's evaluation results, one row each (empty, with no columns, when none was stored)."""
        return self.run.read_table(keys.EVALUATIONS) if self.run.has(keys.EVALUATIONS) else pd.DataFrame()

    # ------------------------------------------------------------------ examples
    @cached_property
    def train(self) -> pd.DataFrame:
        return self.run.examples("train")

    @property
    def n(self) -> int:
        return len(self.train)

    @property
    def labels(self) -> np.ndarray:
        return self.train["label"].to_numpy()

    @property
    def label_names(self) -> list[str]:
        return self.run.label_names

    @property
    def fingerprint(self) -> str | None:
        """The dataset fingerprint the run was computed on (exports record it)."""
        return self.run.dataset.fingerprint

    # ------------------------------------------------------------------ methods
    @cached_property
    def methods(self) -> dict[str, dict]:
        """Every method the run has attempted, with its description, status and cost."""
        return self.run.read_json(keys.METHODS) if self.run.has(keys.METHODS) else {}

    def available(self, kind: str | None = None) -> list[str]:
        return [
            m
            for m, info in self.methods.items()
            if info.get("status") == "done" and (kind is None or info.get("kind") == kind)
        ]

    def info(self, method: str) -> dict:
        if method not in self.methods:
            known = ", ".join(self.available()) or "none"
            raise MissingSelection(
                f"run {self.run.id} has no method {method!r} (computed: {known}); "
                f"run `prunescope select {self.run.id} --methods {method}`"
            )
        info = self.methods[method]
        if info.get("status") != "done":
            raise MissingSelection(
                f"method {method!r} did not finish on run {self.run.id}: "
                f"{info.get('error') or info.get('status')}"
            )
        return info

    @cached_property
    def scores(self) -> pd.DataFrame:
        """uid-indexed table, one column per score method, higher = keep."""
        if not self.run.has(keys.SCORE_TABLE):
            return pd.DataFrame(index=pd.Index(self.train["uid"], name="uid"))
        return self.run.read_table(keys.SCORE_TABLE).set_index("uid")

    def ranking(self, method: str, balanced: bool = False) -> np.ndarray:
        self.info(method)
        return np.asarray(self.run.read_array(keys.ranking(method, balanced)), dtype=np.int64)

    def budgets(self, method: str, balanced: bool = False) -> list[float]:
        """Budgets cached for a method (from the selections' record: no file is read)."""
        if not self.has_selection(method, balanced):
            self.info(method)  # names the method's status and the command that computes it
            raise MissingSelection(f"run {self.run.id} stores no selections of {method!r}")
        return [float(b) for b in self.run.array_meta(keys.selection(method, balanced)).get("budgets", [])]

    def selection(self, method: str, budget: float | int, balanced: bool = False) -> np.ndarray:
        """Row positions (training split) kept by ``method`` at ``budget``, in keep order."""
        info = self.info(method)
        key = keys.selection(method, balanced)
        meta = self.run.array_meta(key)
        ranking = self.ranking(method, balanced)
        cached = [float(b) for b in meta["budgets"]]
        if isinstance(budget, float) and any(abs(budget - b) < 1e-9 for b in cached):
            row = next(i for i, b in enumerate(cached) if abs(budget - b) < 1e-9)
            member = unpack_membership(self.run.read_array(key)[row : row + 1], self.n)[0]
            return ranking[member[ranking]]
        prefix_is_exact = (info.get("kind") == "score" and info.get("rule", "exact") == "exact") or info.get(
            "nested"
        )
        if prefix_is_exact:
            return ranking[: budget_to_k(budget, self.n)]
        raise MissingSelection(
            f"{method} at budget {budget} is not cached (cached: {cached}); run "
            f"`prunescope select {self.run.id} --methods {method} --budgets {budget}`"
        )

    def selected_uids(self, method: str, budget: float | int, balanced: bool = False) -> np.ndarray:
        return self.train["uid"].to_numpy()[self.selection(method, budget, balanced)]

    def membership(self, method: str, budget: float, balanced: bool = False) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[self.selection(method, budget, balanced)] = True
        return mask

    def selections_at(self, budget: float, methods: list[str] | None = None, balanced: bool = False) -> dict:
        """``{method: positions}`` for every (or the given) method at one budget."""
        return {m: self.selection(m, budget, balanced) for m in (methods or self.available())}
