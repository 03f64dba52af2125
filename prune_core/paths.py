"""Where PruneScope looks for shared data and keeps its run store.

Both default to places relative to the repository (not the working directory), so the CLI, the app
and the tests agree wherever they are started from; environment variables override them.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared folder with real datasets (``../shared`` beside the repo, or ``$PRUNESCOPE_SHARED``)."""
    env = os.environ.get("PRUNESCOPE_SHARED")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared").resolve()


def shared_dataset(name: str) -> Path:
    """Directory of one shared dataset, e.g. ``shared_dataset("sst2")``."""
    return shared_dir() / "data" / name


def runs_dir() -> Path:
    """The default run store (``data/runs`` in the repo, or ``$PRUNESCOPE_RUNS_DIR``)."""
    env = os.environ.get("PRUNESCOPE_RUNS_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data" / "runs"
