"""The README's first-run block, run as written in a fresh shell after the set-up.

The block is taken from README.md (the first ```bash block under "The command line"), and only the
sample size and the model of its ``compute`` line are made smaller (a tiny BERT on 120 examples), so
the test takes a minute instead of the half hour the README's 2000 examples with MiniLM take on 2 cores.
The shell starts without profile files, with a bare PATH: the block itself must put ``prunescope`` on it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prune_core.paths import REPO_ROOT

COMPUTE_SIZE = "--limit 2000 --epochs 3"


def readme_block() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("## The command line") :]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_the_block_uses_the_console_command_only():
    block = readme_block()
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in block.splitlines()[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith(("#", "export"))]
    assert commands and all("prunescope " in line for line in commands)
    assert "python -m" not in (REPO_ROOT / "README.md").read_text()
    assert block.count(COMPUTE_SIZE) == 1


@pytest.mark.slow
def test_the_readme_block_runs_in_a_fresh_shell(tmp_path, tiny_model_dir, sst2_dir):
    block = readme_block().replace(
        COMPUTE_SIZE, f"--limit 120 --limit-validation 60 --epochs 2 --model {tiny_model_dir}"
    )
    # Where the block expects it: ../shared beside the checkout, .venv inside it (`make` made it).
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "sst2").symlink_to(sst2_dir)
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PRUNESCOPE_RUNS_DIR": str(tmp_path / "store"),
        "HF_HUB_OFFLINE": "1",
        # The venv's package is an editable install of one checkout; this test checks this one.
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", block],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Traceback" not in done.stderr
    rows = (work / "subsets" / "less30.jsonl").read_text().splitlines()
    assert len(rows) == 36 and "text" in json.loads(rows[0])
    assert "random band" in done.stdout and "el2n" in done.stdout
    assert re.search(r"^run\s+\S+", done.stdout, re.M)
    assert os.listdir(tmp_path / "store")
