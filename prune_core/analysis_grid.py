"""Representation or selector? Du et al.'s question asked of one run's (selector x representation) grid.

Du et al. (2025, ACL, "Disentangling the Roles of Representation and Selection in Data Pruning") argue
that the representation decides what a method selects more than the selection algorithm does. On a
run's grid this is measurable at any budget:

- hold the **selector** fixed and change the representation: the mean pairwise Jaccard of its subsets
  across representations (low = the representation moves the selection);
- hold the **representation** fixed and change the selector: the mean pairwise Jaccard across selectors
  (low = the selector moves the selection).

Whichever factor leaves the lower agreement moves the selection more. Both are reported against the
exact Jaccard of random subsets of the same sizes (``agreement.expected_random_jaccard``), with the spread
over selectors / representations, never only the mean.

Which methods of a run are grid cells comes from the registry (``prune_core.methods``): every
``<selector>@<representation>`` id of ``all_grid_cells()``, and every preset whose selector and
representation name such a cell (a preset is the same algorithm on the same features).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from prune_core.agreement import Spread, expected_random_jaccard, finite, pairwise_jaccards
from prune_core.methods import UnknownMethod, all_grid_cells, get_method
from prune_core.select.budget import budget_to_k

Cell = tuple[str, str]  # (selector, representation)
TIE_MARGIN = 0.02  # Jaccard difference below which neither factor is said to dominate


def grid_axes() -> tuple[list[str], list[str]]:
    """Selectors and representations of the registry's grid, in the registry's order."""
    selectors, representations = [], []
    for cell in all_grid_cells():
        selector, representation = cell.split("@", 1)
        selectors.append(selector)
        representations.append(representation)
    return list(dict.fromkeys(selectors)), list(dict.fromkeys(representations))


def cell_of(method_id: str) -> Cell | None:
    """The grid cell (selector, representation) a method occupies, or None (scores, baselines, unknown)."""
    try:
        method = get_method(method_id)
    except UnknownMethod:
        return None
    cell = f"{method.selector}@{method.representation}"
    return (method.selector, method.representation) if cell in set(all_grid_cells()) else None


def grid_methods(method_ids: Iterable[str]) -> dict[Cell, str]:
    """Cell -> the method id that fills it, for the given (computed) methods.

    A cell filled both by its ``<selector>@<representation>`` id and by a preset is represented once, by
    the grid id (the preset is the same algorithm on the same features).
    """
    filled: dict[Cell, str] = {}
    for method_id in sorted(method_ids, key=lambda m: ("@" not in m, m)):
        cell = cell_of(method_id)
        if cell is not None and cell not in filled:
            filled[cell] = method_id
    selectors, representations = grid_axes()
    return dict(
        sorted(filled.items(), key=lambda kv: (selectors.index(kv[0][0]), representations.index(kv[0][1])))
    )


@lru_cache(maxsize=4096)
def _chance(k: int, n: int, k_other: int) -> float:
    return expected_random_jaccard(k, n, k_other)


@dataclass(frozen=True)
class FactorAgreement:
    """One selector across representations (or one representation across selectors)."""

    name: str
    members: tuple[str, ...]  # the representations (or selectors) compared
    pairs: dict[tuple[str, str], float]
    spread: Spread
    chance: float

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "compared": list(self.members),
            "mean_jaccard": finite(self.spread.mean),
            "spread": self.spread.to_dict(),
            "random_jaccard": finite(self.chance),
            "pairs": [{"a": a, "b": b, "jaccard": finite(v)} for (a, b), v in self.pairs.items()],
        }


@dataclass(frozen=True)
class GridAgreement:
    n: int
    cells: dict[Cell, int]  # cell -> subset size
    by_selector: dict[str, FactorAgreement]
    by_representation: dict[str, FactorAgreement]
    selector_fixed: Spread  # over selectors: their mean Jaccard across representations
    representation_fixed: Spread  # over representations: their mean Jaccard across selectors
    chance: float
    verdict: str  # "representation" | "selector" | "tie" | "insufficient"
    sentence: str

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "cells": [
                {"selector": s, "representation": r, "size": size} for (s, r), size in self.cells.items()
            ],
            "by_selector": {k: v.to_dict() for k, v in self.by_selector.items()},
            "by_representation": {k: v.to_dict() for k, v in self.by_representation.items()},
            "same_selector_across_representations": self.selector_fixed.to_dict(),
            "same_representation_across_selectors": self.representation_fixed.to_dict(),
            "random_jaccard": finite(self.chance),
            "verdict": self.verdict,
            "sentence": self.sentence,
        }


def _factor(name: str, subsets: dict[str, np.ndarray], n: int) -> FactorAgreement:
    pairs = pairwise_jaccards(subsets)
    chances = [_chance(len(subsets[a]), n, len(subsets[b])) for a, b in pairs]
    return FactorAgreement(
        name, tuple(subsets), pairs, Spread.of(pairs.values()), float(np.mean(chances)) if chances else np.nan
    )


def verdict(selector_fixed: Spread, representation_fixed: Spread, chance: float, margin: float = TIE_MARGIN):
    """(code, one sentence) saying which factor moves the selection more, from the two mean agreements."""
    if selector_fixed.pairs == 0 or representation_fixed.pairs == 0:
        missing = (
            "representations per selector" if selector_fixed.pairs == 0 else "selectors per representation"
        )
        return (
            "insufficient",
            f"Not enough grid cells to compare: the run needs at least two {missing}; "
            "compute more cells with `prunescope select RUN --methods grid`.",
        )
    s, r = selector_fixed.mean, representation_fixed.mean
    numbers = (
        f"the same selector on different representations keeps J = {s:.2f} of the same examples "
        f"(range {selector_fixed.low:.2f} to {selector_fixed.high:.2f} over selectors), different "
        f"selectors on the same representation J = {r:.2f} (range {representation_fixed.low:.2f} to "
        f"{representation_fixed.high:.2f}); random subsets J = {chance:.2f}."
    )
    if abs(s - r) < margin:
        return "tie", f"Neither factor dominates on this run: {numbers}"
    if s < r:
        return "representation", f"The representation moves the selection more on this run: {numbers}"
    return "selector", f"The selection algorithm moves the selection more on this run: {numbers}"


def grid_agreement(cells: Mapping[Cell, Iterable], n: int, margin: float = TIE_MARGIN) -> GridAgreement:
    """Agreement along both axes of a grid of subsets ``{(selector, representation): kept positions}``.

    ``n`` is the number of examples subsets are drawn from (for the random-subset expectation).
    """
    subsets = {
        cell: np.asarray(list(kept) if isinstance(kept, (set, frozenset)) else kept)
        for cell, kept in cells.items()
    }
    by_sel: dict[str, dict[str, np.ndarray]] = {}
    by_rep: dict[str, dict[str, np.ndarray]] = {}
    for (selector, representation), kept in subsets.items():
        by_sel.setdefault(selector, {})[representation] = kept
        by_rep.setdefault(representation, {})[selector] = kept
    sel = {s: _factor(s, reps, n) for s, reps in by_sel.items() if len(reps) >= 2}
    rep = {r: _factor(r, sels, n) for r, sels in by_rep.items() if len(sels) >= 2}
    selector_fixed = Spread.of(f.spread.mean for f in sel.values())
    representation_fixed = Spread.of(f.spread.mean for f in rep.values())
    chances = [f.chance for f in (*sel.values(), *rep.values()) if np.isfinite(f.chance)]
    if chances:
        chance = float(np.mean(chances))
    elif subsets:
        chance = expected_random_jaccard(len(next(iter(subsets.values()))), n)
    else:
        chance = float("nan")
    code, sentence = verdict(selector_fixed, representation_fixed, chance, margin)
    return GridAgreement(
        n,
        {cell: int(len(kept)) for cell, kept in subsets.items()},
        sel,
        rep,
        selector_fixed,
        representation_fixed,
        chance,
        code,
        sentence,
    )


def grid_report(results, budget: float | int, balanced: bool = False) -> dict:
    """The grid analysis of a run at one budget, JSON-ready (what ``prunescope analyze --grid`` prints).

    ``results`` is a ``prune_core.results.Results``; only its public reads are used.
    """
    layout = grid_methods(results.available())
    subsets = {cell: results.selection(method, budget, balanced) for cell, method in layout.items()}
    agreement = grid_agreement(subsets, results.n)
    selectors, representations = grid_axes()
    return {
        "run": results.run.id,
        "budget": budget,
        "k": budget_to_k(budget, results.n),
        "balanced": balanced,
        "selectors": [s for s in selectors if any(c[0] == s for c in layout)],
        "representations": [r for r in representations if any(c[1] == r for c in layout)],
        "methods": [{"selector": s, "representation": r, "method": m} for (s, r), m in layout.items()],
        **agreement.to_dict(),
    }
