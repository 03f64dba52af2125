"""Budget sweeps: how two methods' agreement and each method's label balance change with the budget.

One budget hides the trend: two methods may agree at 50 % only because half the data leaves little
room to differ, and a difficulty score's label skew is worst at small budgets (Du et al. 2025 found
LESS's subset concentrated on one class). The sweeps run over every budget the methods have cached
(5 % .. 100 % by default), with the exact random-subset Jaccard as the reference curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from prune_core.agreement import expected_random_jaccard
from prune_core.analysis import jaccard_matrix, label_distribution, total_variation


def shared_budgets(results, methods: Sequence[str], balanced: bool = False) -> list[float]:
    """Budgets cached for every one of ``methods`` (sorted)."""
    sets = [{round(float(b), 9) for b in results.budgets(m, balanced)} for m in methods]
    return sorted(set.intersection(*sets)) if sets else []


def jaccard_sweep(
    results, a: str, b: str, budgets: Sequence[float] | None = None, balanced: bool = False
) -> pd.DataFrame:
    """Per budget: subset sizes, Jaccard of method a's and b's subsets, and random subsets' exact Jaccard."""
    rows = []
    for budget in shared_budgets(results, [a, b], balanced) if budgets is None else budgets:
        sa, sb = results.selection(a, budget, balanced), results.selection(b, budget, balanced)
        jac = float(jaccard_matrix({"a": sa, "b": sb}).loc["a", "b"])
        rows.append(
            {
                "budget": float(budget),
                "size_a": len(sa),
                "size_b": len(sb),
                "jaccard": jac,
                "random_jaccard": expected_random_jaccard(len(sa), results.n, len(sb)),
            }
        )
    return pd.DataFrame(rows, columns=["budget", "size_a", "size_b", "jaccard", "random_jaccard"])


def tv_sweep(
    results, methods: Sequence[str], budgets: Sequence[float] | None = None, balanced: bool = False
) -> pd.DataFrame:
    """Budgets x methods: total-variation distance of each subset's label shares from the full data's."""
    labels, n_labels = results.labels, len(results.label_names)
    full = label_distribution(labels, n_labels)
    budgets = shared_budgets(results, methods, balanced) if budgets is None else list(budgets)
    table = np.full((len(budgets), len(methods)), np.nan)
    for j, method in enumerate(methods):
        for i, budget in enumerate(budgets):
            kept = labels[results.selection(method, budget, balanced)]
            table[i, j] = total_variation(label_distribution(kept, n_labels), full)
    return pd.DataFrame(
        table, index=pd.Index([float(b) for b in budgets], name="budget"), columns=pd.Index(list(methods))
    )
