"""Turn a user budget (a fraction of the data, or a count) into the number of examples to keep.

Why: every selector takes an integer k, while users speak in fractions ("keep 10 %"). Du et al.
fix k = floor(r * n) for a fraction r in (0, 1]; we add "at least one example when r > 0 and n > 0"
so that a tiny fraction of a small dataset never silently selects nothing.

On the command line and in the app a fraction and a count never share one input: ``--budget`` is a
fraction (``0.3`` or ``30%``) and ``--count`` a number of examples. :func:`parse_fraction` refuses a
value the two rules would read differently (``--budget 1``: everything, or one example?) with an error
that says so, instead of silently picking one reading.
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
        raise BudgetError(f"budget: expected the dataset size n to be a non-negative integer, found {n!r}")
    n = int(n)
    if isinstance(budget, bool) or type(budget).__name__ == "bool_":
        raise BudgetError(
            f"budget: expected a fraction in (0, 1] or an integer count in 1..{n}, "
            f"found the boolean {budget!r}"
        )
    if isinstance(budget, numbers.Integral):
        count = int(budget)
        if not 1 <= count <= n:
            raise BudgetError(
                f"budget: expected an integer count in 1..{n} (the dataset size), found {count}"
            )
        return count
    if isinstance(budget, numbers.Real):
        frac = float(budget)
        if math.isnan(frac):
            raise BudgetError("budget: expected a fraction in (0, 1], found NaN")
        if not 0.0 < frac <= 1.0:
            hint = " (pass an int to ask for a count of examples)" if frac > 1.0 else ""
            raise BudgetError(f"budget: expected a fraction in (0, 1], found {frac!r}{hint}")
        raw = frac * n
        k = math.floor(raw)
        if math.isclose(raw, k + 1, rel_tol=1e-9, abs_tol=0.0):
            k += 1
        return min(n, max(k, 1 if n > 0 else 0))
    raise BudgetError(
        f"budget: expected a fraction in (0, 1] or an integer count in 1..{n}, "
        f"found {budget!r} of type {type(budget).__name__}"
    )


# ---------------------------------------------------------------------------------- user input (text)
def _number(text: str, flag: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BudgetError(f"{flag} expects {what}; got {text!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise BudgetError(f"{flag} expects {what}; got {text!r}")
    return value


def _looks_whole(text: str) -> bool:
    """ "5" or "+5" (a count would read it the same way), not "5.0", "5e0" or "5%"."""
    return text.lstrip("+-").isdigit()


def parse_fraction(text: str, flag: str = "--budget") -> float:
    """A share of the training examples from ``"0.3"``, ``"1.0"`` or ``"30%"``; anything else is refused.

    A whole number is ambiguous between the two rules: ``1`` is "everything" as a fraction but "one
    example" as a count, and ``5`` is a valid count but no fraction. Both are refused with a message
    naming ``--count`` and the unambiguous spelling of the fraction.
    """
    raw = str(text).strip()
    if not raw:
        raise BudgetError(f"{flag} is empty; give a fraction in (0, 1] such as 0.3 or 30%")
    if raw.endswith("%"):
        percent = _number(
            raw[:-1].strip(), flag, "a fraction in (0, 1] such as 0.3, or a percentage such as 30%"
        )
        if not 0 < percent <= 100:
            raise BudgetError(f"{flag} {raw} is outside (0 %, 100 %]; give a percentage such as 30%")
        return round(percent / 100, 12)
    value = _number(raw, flag, "a fraction in (0, 1] such as 0.3, or a percentage such as 30%")
    if _looks_whole(raw) and value == 1:
        raise BudgetError(
            f"{flag} 1 is ambiguous: as a fraction it keeps every example, as a count only one. "
            f"Write {flag} 1.0 (or 100%) for all of them, or --count 1 for a single example"
        )
    if 0 < value <= 1:
        return value
    if value > 1 and value.is_integer():
        count = int(value)
        raise BudgetError(
            f"{flag} {raw} is outside (0, 1]: {flag} is a fraction of the data, so {raw} would mean "
            f"{count * 100} %. For {count} examples use --count {count}; for {count} % write {flag} {count}%"
        )
    hint = f"; for {raw} % write {flag} {raw}%" if 1 < value <= 100 else ""
    raise BudgetError(f"{flag} {raw} is outside (0, 1]; give a fraction such as 0.3 or 30%{hint}")


def parse_count(text: str, flag: str = "--count") -> int:
    """A number of training examples (a whole number >= 1); a fraction or percentage is refused."""
    raw = str(text).strip()
    if not _looks_whole(raw) or int(raw) < 1:
        share = "" if not raw else f"; for a share of the data use --budget {raw}"
        raise BudgetError(f"{flag} expects a whole number of examples (1 or more), got {raw!r}{share}")
    return int(raw)


def _items(text: str, flag: str) -> list[str]:
    items = [x.strip() for x in str(text).split(",") if x.strip()]
    if not items:
        raise BudgetError(f"{flag} is empty; give at least one value")
    return items


def parse_fractions(text: str, flag: str = "--budgets") -> list[float]:
    """Comma-separated fractions or percentages (``0.1,0.3`` or ``10%,30%``), each as :func:`parse_fraction`."""
    return [parse_fraction(item, flag) for item in _items(text, flag)]


def parse_counts(text: str, flag: str = "--counts") -> list[int]:
    """Comma-separated numbers of examples (``500,1000``)."""
    return [parse_count(item, flag) for item in _items(text, flag)]


def count_to_fraction(count: int, n: int, flag: str = "--count") -> float:
    """The fraction whose :func:`budget_to_k` is exactly ``count`` of ``n`` (selections are cached by fraction)."""
    if not 1 <= int(count) <= n:
        raise BudgetError(f"{flag} {count} is outside 1..{n:,} (the number of training examples)")
    fraction = int(count) / n
    if budget_to_k(fraction, n) != count:  # floor() is guarded in budget_to_k; this cannot drift
        raise BudgetError(f"{flag} {count} of {n:,} examples cannot be expressed as a fraction")
    return fraction


def fraction_text(budget: float) -> str:
    """A fraction as a user types it for ``--budget``: ``0.3``, and ``1.0`` (never the ambiguous ``1``)."""
    text = f"{float(budget):.6g}"
    return text if any(c in text for c in ".e") else f"{text}.0"
