"""Read-only access to a run's cached methods: scores, rankings and selections, keyed by uid.

What the app, the analysis and the export read. Nothing here computes a method; a budget that is not
cached is answered from the method's ranking when the method is nested (score methods and greedy orders,
whose subsets are prefixes of one order), and otherwise reported as missing with the command that
computes it.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from prune_core.methods.cache import unpack_membership
from prune_core.select.budget import budget_to_k
from prune_core.store import Run, StoreError


class MissingSelection(StoreError):
    """A method or budget that the run has not computed."""


class Results:
    def __init__(self, run: Run):
        self.run = run

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

    # ------------------------------------------------------------------ methods
    @cached_property
    def methods(self) -> dict[str, dict]:
        """Every method the run has attempted, with its description, status and cost."""
        return self.run.read_json("methods") if self.run.has("methods") else {}

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
        if not self.run.has("scores"):
            return pd.DataFrame(index=pd.Index(self.train["uid"], name="uid"))
        return self.run.read_table("scores").set_index("uid")

    def ranking(self, method: str, balanced: bool = False) -> np.ndarray:
        self.info(method)
        return np.asarray(
            self.run.read_array(f"rankings/{method}/{'balanced' if balanced else 'plain'}"), dtype=np.int64
        )

    def budgets(self, method: str, balanced: bool = False) -> list[float]:
        self.info(method)
        return list(
            self.run.array_meta(f"selections/{method}/{'balanced' if balanced else 'plain'}")["budgets"]
        )

    def selection(self, method: str, budget: float | int, balanced: bool = False) -> np.ndarray:
        """Row positions (training split) kept by ``method`` at ``budget``, in keep order."""
        info = self.info(method)
        variant = "balanced" if balanced else "plain"
        key = f"selections/{method}/{variant}"
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
