"""Files in the run store and exports follow the umask, as any `open()` would (mkstemp alone gives
-rw-------, which a shared store or a dashboard run as another user cannot read)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prune_core.cli import main
from prune_core.store import RunStore, atomic_write_text
from prune_core.store.files import current_umask
from prune_core.synthetic import make_synthetic_run


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing_it(umask):
    umask(0o027)
    assert current_umask() == 0o027 and current_umask() == 0o027


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_text_follows_the_umask(tmp_path, umask, mask):
    umask(mask)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert _mode(tmp_path / "a.txt") == 0o666 & ~mask


def test_every_file_of_a_run_and_an_export_is_readable_by_others_under_umask_022(tmp_path, umask):
    umask(0o022)
    run = make_synthetic_run(RunStore(tmp_path / "store"), n=60, seed=1)
    run.write_array("extra/array", np.arange(5), stage="data")
    run.write_table("extra_table", pd.DataFrame({"a": [1, 2]}), stage="data")
    run.save_checkpoint("epoch-9", {"weights": {"w": __import__("torch").zeros(3)}}, {"epoch": 9})
    out = tmp_path / "exports" / "subset.txt"
    assert main(["export", str(run.path), "--method", "el2n", "--budget", "0.5", "--output", str(out)]) == 0
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert len(files) > 10
    unreadable = [str(p.relative_to(tmp_path)) for p in files if not _mode(p) & stat.S_IROTH]
    assert not unreadable
