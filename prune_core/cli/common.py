"""Pieces every subcommand shares: the user-error type, the --runs-dir option, budget options.

Budgets: ``--budget``/``--budgets`` take fractions of the training examples (``0.3`` or ``30%``) and
``--count``/``--counts`` numbers of examples; the parsing rules live in prune_core/select/budget.py so
the CLI and the app refuse the same ambiguous values with the same message.
"""

from __future__ import annotations

import argparse

from prune_core.paths import runs_dir
from prune_core.select.budget import count_to_fraction, parse_counts, parse_fraction, parse_fractions


class UsageError(Exception):
    """A problem the user can fix from the command line."""


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir", default=None, help=f"run store folder (default: $PRUNESCOPE_RUNS_DIR or {runs_dir()})"
    )


FRACTION_HELP = "a fraction of the training examples in (0, 1], e.g. 0.3 or 30%%"  # argparse %-formats help


def add_budget_list_options(parser: argparse.ArgumentParser, default_text: str) -> None:
    """``--budgets`` (fractions) and ``--counts`` (numbers of examples) of commands that take several."""
    parser.add_argument(
        "--budgets", help=f"comma-separated fractions (0.1,0.3 or 10%%,30%%); default {default_text}"
    )
    parser.add_argument("--counts", help="comma-separated numbers of training examples (500,1000)")


def add_budget_option(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """``--budget`` (a fraction) or ``--count`` (a number of examples) of commands that take one."""
    group = parser.add_mutually_exclusive_group()
    extra = f" (default {default})" if default else ""
    group.add_argument("--budget", default=default, help=FRACTION_HELP + extra)
    group.add_argument("--count", help="a number of training examples to keep, e.g. 500")


def parse_budgets(text: str | None):
    """The fractions of ``--budgets`` (the default grid 5 %..100 % when not given)."""
    from prune_core.methods.runner import DEFAULT_BUDGETS

    return list(DEFAULT_BUDGETS) if not text else parse_fractions(text, "--budgets")


def budget_list(budgets_text: str | None, counts_text: str | None, n: int) -> list[float]:
    """Fractions from ``--budgets`` plus ``--counts`` turned into the fractions that keep exactly that many."""
    fractions = (
        parse_fractions(budgets_text, "--budgets")
        if budgets_text
        else ([] if counts_text else parse_budgets(None))
    )
    counts = [count_to_fraction(c, n, "--counts") for c in parse_counts(counts_text)] if counts_text else []
    return list(dict.fromkeys([*fractions, *counts]))


def one_budget(budget_text: str | None, count_text: str | None, n: int | None = None) -> float | int | None:
    """The fraction of ``--budget``, or with ``n`` the fraction that keeps exactly ``--count`` examples
    (without ``n``, the count itself); None when neither was given."""
    from prune_core.select.budget import parse_count

    if count_text is not None:
        count = parse_count(count_text, "--count")
        return count if n is None else count_to_fraction(count, n)
    return None if budget_text is None else parse_fraction(budget_text, "--budget")


# Argument types: argparse names the flag in its error ("argument --proj-dim: ...") and stops before any
# work starts, so a bad value never costs a fine-tuning run.
def _number(text: str, convert, what: str):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "a whole number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number > 0")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float, "a number >= 0")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _number(text, float, "a number between 0 and 1")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1)."""
    value = _number(text, float, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 and < 1, got {text!r}")
    return value


def port(text: str) -> int:
    value = _number(text, int, "a port number")
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {text!r}")
    return value
