"""A small real run shared by the app, browser and job tests, built once per test session.

``compute`` on 300 SST-2 examples with the tiny random BERT (seconds), ``select`` with a spread of
methods (score- and set-based, every representation family; the slow group-annealing search is left
out), and PCA maps. Test modules import the fixtures below; the run is built once per process and
reused, since each module that imports a fixture gets its own copy of the fixture definition.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prune_core.paths import REPO_ROOT

TEST_METHODS = (
    "el2n",
    "forgetting",
    "aum",
    "datamap-hard",
    "datamap-ambiguous",
    "datamap-easy",
    "s2l",
    "prototypicality",
    "semdedup",
    "kcenter",
    "moderate",
    "memorization",
    "tracin",
    "less",
    "gradmatch",
    "ccs",
    "influence",
    "random",
)
_BUILT: dict = {}


def cli(*args: str, env: dict | None = None) -> str:
    """Run ``python -m prune_core ...`` and return its stdout; fail the test with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "prune_core", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`prune_core {' '.join(args)}` exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def build_small_run(store: Path, model_dir: Path, data_dir: Path) -> Path:
    """compute -> select -> maps (PCA) into ``store``; returns the run folder."""
    out = cli(
        "compute",
        "--data",
        str(data_dir),
        "--limit",
        "300",
        "--limit-validation",
        "100",
        "--epochs",
        "2",
        "--model",
        str(model_dir),
        "--runs-dir",
        str(store),
        "--quiet",
    )
    run_path = Path(out.strip().splitlines()[-1])
    cli(
        "select",
        str(run_path),
        "--runs-dir",
        str(store),
        "--methods",
        ",".join(TEST_METHODS),
        "--budgets",
        "0.1,0.3,0.5,1.0",
    )
    cli("maps", str(run_path), "--runs-dir", str(store), "--method", "pca")
    return run_path


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, tiny_model_dir, sst2_dir) -> Path:
    """The folder of the shared small run (its store is the parent folder)."""
    if "run" not in _BUILT:
        _BUILT["run"] = build_small_run(tmp_path_factory.mktemp("app-store"), tiny_model_dir, sst2_dir)
    return _BUILT["run"]


SEED_METHODS = (
    "el2n",
    "aum",
    "random",
    "kcenter",
    "prototypicality",
    "proto@grad",
    "proto@tl",
    "kcenter@grad",
    "less@hs",
    "less@grad",
)
SEEDS = (0, 1, 2)


def stored_id(method: str) -> str:
    """The id a method is stored under (the registry may spell a grid cell's selector its own way)."""
    from prune_core.methods import get_method

    return get_method(method).id


def build_seed_group(store_dir: Path) -> list[str]:
    """Three synthetic runs of the same examples differing only in the training seed (plus one run of
    other data, which is no member of the group), each with SEED_METHODS selected; returns the group's ids."""
    from prune_core.methods.select_stage import select_methods
    from prune_core.store import RunStore
    from prune_core.synthetic import make_synthetic_run

    store = RunStore(store_dir)
    ids = []
    for seed in SEEDS:
        run = make_synthetic_run(store, f"seed-{seed}", n=160, m=40, seed=3, train_seed=seed)
        select_methods(run, list(SEED_METHODS), budgets=(0.1, 0.3, 0.5, 1.0), log=lambda _m: None)
        ids.append(run.id)
    other = make_synthetic_run(store, "other-data", n=120, m=40, seed=4, train_seed=0)
    select_methods(other, ["el2n", "random"], budgets=(0.1, 0.3), log=lambda _m: None)
    return ids


@pytest.fixture(scope="session")
def seed_group(tmp_path_factory) -> tuple[Path, list[str]]:
    """(store folder, run ids) of the synthetic seed group, built once per session."""
    if "seed_group" not in _BUILT:
        store = tmp_path_factory.mktemp("seed-store")
        _BUILT["seed_group"] = (store, build_seed_group(store))
    return _BUILT["seed_group"]


@pytest.fixture
def seed_env(seed_group, monkeypatch):
    """Point the app at the seed group's store, with empty Streamlit caches."""
    from app import loaders

    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(seed_group[0]))
    loaders.clear()
    yield seed_group
    loaders.clear()


@pytest.fixture
def app_env(small_run, monkeypatch):
    """Point the app at the small run's store and start every test with empty Streamlit caches."""
    from app import loaders

    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(small_run.parent))
    loaders.clear()
    yield small_run
    loaders.clear()


# ---------------------------------------------------------------------------------------------- AppTest helpers
def shown(markdown: str) -> str:
    """What a Markdown string escaped by ``app.plain.md`` displays: backslash escapes and word joiners gone."""
    import re

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def decode(value) -> np.ndarray:
    """A plotly array from a figure spec: a plain list, or a base64 typed array {"dtype", "bdata"[, "shape"]}."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(s) for s in str(value["shape"]).split(",")])
        return array
    return np.asarray(value)


def chart_specs(at) -> dict[str, dict]:
    """Plotly figure specs of an AppTest run by element key (``st.plotly_chart`` is not a typed element;
    its protobuf carries the spec as JSON and an id ``$$ID-<hash>-<user key>``)."""
    return {
        element.proto.id.split("-", 2)[-1]: json.loads(element.proto.spec)
        for element in at.get("plotly_chart")
    }


# ---------------------------------------------------------------------------------------------- generation
DEMO = REPO_ROOT / "data" / "demo_instruct"  # the shipped generation demo set
GENERATION_METHODS = ("less", "datamap-hard", "s2l", "kcenter", "tracin", "random", "el2n")


def build_generation_run(root: Path) -> Path:
    model = root / "tiny-decoder"
    cli("tiny-decoder", str(model), str(DEMO / "train.jsonl"), "--hidden", "16")
    store = root / "runs"
    out = cli(
        "compute",
        "--data",
        str(DEMO),
        "--task",
        "generation",
        "--model",
        str(model),
        "--limit",
        "40",
        "--limit-validation",
        "12",
        "--limit-test",
        "12",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--max-length",
        "96",
        "--proj-dim",
        "32",
        "--runs-dir",
        str(store),
        "--quiet",
    )
    run_path = Path(out.strip().splitlines()[-1])
    cli(
        "select",
        str(run_path),
        "--runs-dir",
        str(store),
        "--methods",
        ",".join(GENERATION_METHODS),
        "--budgets",
        "0.1,0.3,0.5,1.0",
    )
    cli("maps", str(run_path), "--runs-dir", str(store), "--method", "pca")
    cli(
        "evaluate",
        str(run_path),
        "--runs-dir",
        str(store),
        "--mode",
        "fast",
        "--methods",
        "less",
        "--budgets",
        "0.3",
        "--quiet",
    )
    return run_path


@pytest.fixture(scope="session")
def generation_run(tmp_path_factory) -> Path:
    """A generation run on the demo set (tiny decoder): compute, select, maps and a fast evaluation."""
    if "generation" not in _BUILT:
        _BUILT["generation"] = build_generation_run(tmp_path_factory.mktemp("generation-app"))
    return _BUILT["generation"]
