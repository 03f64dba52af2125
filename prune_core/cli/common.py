"""Pieces every subcommand shares: the user-error type, the --runs-dir option, budget parsing."""

from __future__ import annotations

import argparse

from prune_core.paths import runs_dir


class UsageError(Exception):
    """A problem the user can fix from the command line."""


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir", default=None, help=f"run store folder (default: $PRUNESCOPE_RUNS_DIR or {runs_dir()})"
    )


def parse_budgets(text: str | None):
    from prune_core.methods.runner import DEFAULT_BUDGETS

    if not text:
        return DEFAULT_BUDGETS
    try:
        values = [float(x) if "." in x or "e" in x.lower() else int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise UsageError(
            f"--budgets must be comma-separated fractions in (0, 1] or counts; got {text!r}"
        ) from err
    for value in values:
        if (isinstance(value, float) and not 0 < value <= 1) or (isinstance(value, int) and value < 1):
            raise UsageError(f"budget {value} is outside (0, 1]; give a fraction in (0, 1] or a count >= 1")
    return values


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
