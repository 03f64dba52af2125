"""Turn a user budget (a fraction of the data, or a count) into the number of examples to keep.

Why: every selector takes an integer k, while users speak in fractions ("keep 10 %"). Du et al.
fix k = floor(r * n) for a fraction r in (0, 1]; we add "at least one example when r > 0 and n > 0"
so that a tiny fraction of a small dataset never silently selects nothing.
"""

from __future__ import annotations

import math
import numbers


class BudgetError(ValueError):
    """A budget (fraction or count) outside what the selectors can honour."""


def budget_to_k(budget: float | int, n: int) -> int:
    """Examples kept by ``budget`` of ``n``: floor(budget * n) for a fraction, the count itself for an int.

    A float must lie in (0, 1]; an int must lie in 1..n. Booleans, NaN and anything else raise
    BudgetError. floor() is guarded against binary rounding (0.29 * 100 is 28.999999999999996 in
    floating point but means 29 examples).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise BudgetError(
            f"budget_to_k: expected the dataset size n to be a non-negative integer, found {n!r}"
        )
    n = int(n)
    if isinstance(budget, bool) or type(budget).__name__ == "bool_":
        raise BudgetError(
            f"budget_to_k: expected a fraction in (0, 1] or an integer count in 1..{n}, "
            f"found the boolean {budget!r}"
        )
    if isinstance(budget, numbers.Integral):
        count = int(budget)
        if not 1 <= count <= n:
            raise BudgetError(
                f"budget_to_k: expected an integer count in 1..{n} (the dataset size), found {count}"
            )
        return count
    if isinstance(budget, numbers.Real):
        frac = float(budget)
        if math.isnan(frac):
            raise BudgetError("budget_to_k: expected a fraction in (0, 1], found NaN")
        if not 0.0 < frac <= 1.0:
            hint = " (pass an int to ask for a count of examples)" if frac > 1.0 else ""
            raise BudgetError(f"budget_to_k: expected a fraction in (0, 1], found {frac!r}{hint}")
        raw = frac * n
        k = math.floor(raw)
        if math.isclose(raw, k + 1, rel_tol=1e-9, abs_tol=0.0):
            k += 1
        return min(n, max(k, 1 if n > 0 else 0))
    raise BudgetError(
        f"budget_to_k: expected a fraction in (0, 1] or an integer count in 1..{n}, "
        f"found {budget!r} of type {type(budget).__name__}"
    )
