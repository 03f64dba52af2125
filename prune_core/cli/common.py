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
