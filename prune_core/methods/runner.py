"""Run methods at budgets, plain and label-balanced, and cache scores, selections and rankings.

Per method the store gets (all keyed to the training split's row order, whose uids are in examples):
- ``scores/<id>``                 float64 [n], higher = keep (score methods only)
- ``rankings/<id>/<plain|balanced>`` int32 [n]: the keep-priority order (nested methods: their greedy or
  score order; others: the first budget that includes an example, then its position there)
- ``selections/<id>/<plain|balanced>`` uint8 [B, ceil(n/8)]: packed membership at each budget in ``meta``

Label-balanced (Du et al.'s ``--balance_label``) means stratified: each label keeps its share of k, by
largest remainders (``mode="equal"`` gives every label the same count instead, capped by its size).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from prune_core.methods.inputs import Representations
from prune_core.methods.registry import Method
from prune_core.select.balance import label_quota
from prune_core.select.budget import budget_to_k
from prune_core.select.execution import Execution
from prune_core.select.topk import top_k, top_quantile

DEFAULT_BUDGETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
VARIANTS = ("plain", "balanced")


@dataclass
class MethodResult:
    method: Method
    budgets: list[float]
    scores: np.ndarray | None
    rankings: dict[str, np.ndarray]
    selections: dict[str, list[np.ndarray]]  # variant -> per budget, positions in keep order
    seconds: float


def interleave_by_label(orders: dict[int, np.ndarray]) -> np.ndarray:
    """Merge per-label keep orders so that every prefix keeps each label's share within one example."""
    keys, items = [], []
    for order in orders.values():
        if len(order):
            keys.append((np.arange(len(order)) + 0.5) / len(order))
            items.append(order)
    if not items:
        return np.empty(0, dtype=np.int64)
    keys_all, items_all = np.concatenate(keys), np.concatenate(items)
    return items_all[np.lexsort((items_all, keys_all))]


def balanced_from_orders(orders: dict[int, np.ndarray], quota: dict[int, int]) -> np.ndarray:
    """Take each label's first ``quota`` examples of its order, merged in interleaved keep order."""
    return interleave_by_label({c: orders[c][: quota.get(c, 0)] for c in orders})


def ranking_from_selections(selections: list[np.ndarray], n: int, seed: int) -> np.ndarray:
    """Priority order of non-nested methods: first budget including an example, then its position there."""
    never = len(selections)
    first = np.full(n, never, dtype=np.int64)
    position = np.full(n, n, dtype=np.int64)
    for b, chosen in enumerate(selections):
        chosen = np.asarray(chosen, dtype=np.int64)
        is_new = first[chosen] == never
        first[chosen[is_new]] = b
        position[chosen[is_new]] = np.flatnonzero(is_new)
    tie = np.random.default_rng(seed).permutation(n)
    return np.lexsort((tie, position, first)).astype(np.int64)


class MethodRunner:
    """Computes one method's selections at every budget from a run's representations."""

    def __init__(
        self,
        reps: Representations,
        budgets=DEFAULT_BUDGETS,
        *,
        rule: str = "exact",
        balance_mode: str = "stratified",
        execution: Execution | None = None,
    ):
        if rule not in ("exact", "quantile"):
            raise ValueError(f"selection rule must be 'exact' or 'quantile', got {rule!r}")
        if balance_mode not in ("stratified", "equal"):
            raise ValueError(f"balance mode must be 'stratified' or 'equal', got {balance_mode!r}")
        self.reps = reps
        self.budgets = [float(b) for b in budgets]
        self.rule, self.balance_mode = rule, balance_mode
        self.execution = execution  # where splitting selectors run their pieces (select/execution.py)
        self.ks = [budget_to_k(b, reps.n) for b in self.budgets]

    def run(self, method: Method) -> MethodResult:
        started = time.perf_counter()
        if method.kind == "score":
            result = self._score_method(method)
        elif method.nested:
            result = self._nested_set_method(method)
        else:
            result = self._set_method(method)
        result.seconds = time.perf_counter() - started
        return result

    # ------------------------------------------------------------------ helpers
    def _scores(self, method: Method) -> np.ndarray:
        if method.own_score:  # a method's own score function reads the run; it has no pieces to fan out
            return method.score(self.reps, method.params)
        return method.score(self.reps, method.params, execution=self.execution)

    def _select(self, method: Method, positions: np.ndarray, k: int) -> np.ndarray:
        return method.select(self.reps, method.params, positions, k, execution=self.execution)

    def _label_positions(self) -> dict[int, np.ndarray]:
        labels = self.reps.labels
        return {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}

    def _quota(self, k: int) -> dict[int, int]:
        return {int(c): int(q) for c, q in label_quota(self.reps.labels, k, mode=self.balance_mode).items()}

    def _result(self, method, scores, orders_plain, per_label, selections_plain=None) -> MethodResult:
        n = self.reps.n
        plain = selections_plain or [orders_plain[:k] for k in self.ks]
        balanced = [balanced_from_orders(per_label, self._quota(k)) for k in self.ks]
        rankings = {"plain": orders_plain, "balanced": interleave_by_label(per_label)}
        assert all(len(r) == n for r in rankings.values())
        return MethodResult(
            method, self.budgets, scores, rankings, {"plain": plain, "balanced": balanced}, 0.0
        )

    # ------------------------------------------------------------------ kinds
    def _score_method(self, method: Method) -> MethodResult:
        from prune_core.scores import nan_to_min

        scores = nan_to_min(np.asarray(self._scores(method), dtype=np.float64))
        if scores.shape != (self.reps.n,):
            raise ValueError(f"method {method.id} returned {scores.shape} scores for {self.reps.n} examples")
        seed = method.params.get("seed", 0)
        secondary = (
            None
            if method.tie_break is None
            else nan_to_min(np.asarray(method.tie_break(self.reps, method.params), dtype=np.float64))
        )
        order = top_k(scores, self.reps.n, seed=seed, secondary=secondary)
        plain = None
        if self.rule == "quantile":  # Du et al.: keep every score >= quantile(1 - r); may exceed k on ties
            plain = [order[np.isin(order, top_quantile(scores, b, seed=seed))] for b in self.budgets]
        per_label = {
            c: pos[
                top_k(
                    scores[pos], len(pos), seed=seed, secondary=None if secondary is None else secondary[pos]
                )
            ]
            for c, pos in self._label_positions().items()
        }
        return self._result(method, scores, order, per_label, plain)

    def _nested_set_method(self, method: Method) -> MethodResult:
        n = self.reps.n

        def greedy_order(positions: np.ndarray) -> np.ndarray:
            if len(positions) <= 1:
                return positions
            head = self._select(method, positions, len(positions) - 1)
            rest = np.setdiff1d(positions, head, assume_unique=True)
            return np.concatenate([head, rest]).astype(np.int64)

        order = greedy_order(np.arange(n))
        per_label = {c: greedy_order(pos) for c, pos in self._label_positions().items()}
        return self._result(method, None, order, per_label)

    def _set_method(self, method: Method) -> MethodResult:
        n, seed = self.reps.n, method.params.get("seed", 0)
        everything = np.arange(n)
        positions = self._label_positions()
        plain, balanced = [], []
        for k in self.ks:
            # k = n keeps everything, in the priority order the smaller budgets established
            plain.append(
                self._select(method, everything, k) if k < n else ranking_from_selections(plain, n, seed)
            )
            quota = self._quota(k)
            chosen = {
                c: (self._select(method, pos, quota[c]) if 0 < quota[c] < len(pos) else pos[: quota[c]])
                for c, pos in positions.items()
            }
            balanced.append(interleave_by_label(chosen))
        plain = [np.asarray(p, dtype=np.int64) for p in plain]
        rankings = {
            "plain": ranking_from_selections(plain, n, seed),
            "balanced": ranking_from_selections(balanced, n, seed),
        }
        return MethodResult(method, self.budgets, None, rankings, {"plain": plain, "balanced": balanced}, 0.0)
