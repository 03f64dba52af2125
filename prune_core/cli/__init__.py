"""``prunescope``: one command line for every stage.

One module per group of subcommands, each with ``add_<name>(subparsers)`` registering its parser and a
``cmd_<name>(args)`` running it; adding a command is one module and one line in ``COMMANDS``. Errors the
user can fix (bad data, unknown run, bad budget) print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from prune_core.cli.analyze import add_analyze
from prune_core.cli.common import UsageError
from prune_core.cli.compute import add_compute, add_info, add_repair
from prune_core.cli.evaluate import add_evaluate
from prune_core.cli.maps import add_maps
from prune_core.cli.select import add_export, add_methods, add_select
from prune_core.cli.serve import add_serve
from prune_core.cli.simulate import add_simulate
from prune_core.cli.tiny import add_tiny_decoder

COMMANDS = [
    add_compute,
    add_info,
    add_repair,
    add_select,
    add_methods,
    add_export,
    add_maps,
    add_evaluate,
    add_analyze,
    add_simulate,
    add_serve,
    add_tiny_decoder,
]


def _user_errors() -> tuple[type[BaseException], ...]:
    from prune_core.data import DataError
    from prune_core.models import ModelError
    from prune_core.store import StoreError

    return (UsageError, DataError, ModelError, StoreError, ValueError, FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prunescope", description="PruneScope: compute, compare and export data-pruning methods."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe (``prunescope info RUN | head``) surfaces here, not at exit
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except _user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept; run the same command again to resume", file=sys.stderr)
        return 130


def _reader_went_away() -> int:
    """The reader of our output closed the pipe (``| head``): stop quietly, as ``cat`` would.

    stdout is pointed at /dev/null so the interpreter's final flush cannot raise a second time.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, the status a shell reports for a command stopped by a closed pipe
