# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""Selection with its splitting pieces as Ray tasks selects what the single-process path selects.

Distributed GTP's first round (one task per shard) and SemDeDup's per-cluster similarity search (the
clusters packed into tasks) run on the session's small Ray cluster; S2L and prototypicality take the
same execution and must be unaffected by it. ``select --engine ray`` writes the selections ``select``
writes locally.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.distributed.select import distributed_cosamp_on_ray, pack_groups, ray_execution
from prune_core.select import SELECTORS
from prune_core.select.execution import Execution
from prune_core.select.pursuit import distributed_cosamp
from prune_core.store import Run
from tests.distributed_support import local_run, ray_cluster  # noqa: F401 (fixtures)


@pytest.mark.parametrize("n_shards", [1, 3, 4])
def test_ray_round_one_gives_the_single_process_selection(ray_cluster, n_shards):
    rng = np.random.default_rng(n_shards)
    features = rng.normal(size=(120, 16))
    target = features[rng.choice(120, 6, replace=False)].sum(axis=0)
    here = distributed_cosamp(features, target, 10, n_shards=n_shards, seed=3)
    there = distributed_cosamp_on_ray(ray_cluster, features, target, 10, n_shards=n_shards, seed=3)
    assert np.array_equal(here[0], there[0])
    assert np.allclose(here[1], there[1], rtol=0, atol=0)


def _clustered(n: int = 240, d: int = 12, seed: int = 0) -> np.ndarray:
    """Blobs of unequal size with exact and near duplicates: SemDeDup has something to find."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(6, d))
    x = centres[rng.choice(6, n, p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05])] + rng.normal(size=(n, d))
    x[n // 2 : n // 2 + 20] = x[:20] + rng.normal(scale=1e-3, size=(20, d))
    return x.astype(np.float32)


class CountingExecution:
    """A Ray execution that counts the pieces each map was given (proof the work went through it)."""

    def __init__(self, ray):
        self.inner, self.clusters, self.shards = ray_execution(ray), 0, 0

    def execution(self) -> Execution:
        def map_clusters(piece, features, groups):
            self.clusters += len(groups)
            return self.inner.map_clusters(piece, features, groups)

        def map_shards(atoms, b, shards, k, **solver):
            self.shards += len(shards)
            return self.inner.map_shards(atoms, b, shards, k, **solver)

        return Execution(name="ray", map_clusters=map_clusters, map_shards=map_shards)


@pytest.mark.parametrize(
    "name, params",
    [
        ("semdedup", {}),
        ("semdedup", {"normalize": False, "n_clusters": 7}),
        ("gtp", {"distributed": True, "n_shards": 3}),
        ("gtp", {}),
        ("s2l", {}),
        ("prototypicality", {}),
    ],
)
def test_every_splitting_and_clustering_selector_selects_the_same_on_ray(ray_cluster, name, params):
    features = _clustered()
    n, info = features.shape[0], SELECTORS[name]
    inputs = {"features": features}
    if "target" in info.inputs:
        inputs["target"] = features[[3, 50, 120]].sum(axis=0)
    counting = CountingExecution(ray_cluster)
    for k in (12, 60, 150):
        here = info.run(n=n, k=k, seed=1, **inputs, **params)
        there = info.run(n=n, k=k, seed=1, execution=counting.execution(), **inputs, **params)
        assert np.array_equal(here, there), (name, k)
    if info.score_function is not None:
        here = info.scores(n=n, seed=1, **inputs, **params)
        there = info.scores(n=n, seed=1, execution=counting.execution(), **inputs, **params)
        assert np.array_equal(here, there)
    # the pieces really went through the Ray maps (and only for the selectors that split)
    assert counting.clusters == (4 * params.get("n_clusters", 10) if name == "semdedup" else 0)
    assert counting.shards == (3 * 3 if params.get("distributed") else 0)


def test_clusters_are_packed_largest_first_into_at_most_one_task_per_cpu():
    assert pack_groups([1, 100, 4, 81, 9], 2) == [[1], [0, 2, 3, 4]]
    assert pack_groups([5.0, 5.0, 5.0], 8) == [[0], [1], [2]]
    assert sorted(i for task in pack_groups(list(range(17)), 3) for i in task) == list(range(17))


METHODS = "gtp,gtp-sharded,s2l,prototypicality,semdedup"


def _select(run: Run, *engine: str) -> dict[str, np.ndarray]:
    assert main(["select", str(run.path), "--methods", METHODS, "--budgets", "0.1,0.3,0.6", *engine]) == 0
    run = run.reload()
    held = [r.key for r in run.arrays() if r.key.split("/")[0] in ("scores", "rankings", "selections")]
    return {key: np.asarray(run.read_array(key)) for key in held}


def test_select_engine_ray_writes_the_local_selections(ray_cluster, local_run, tmp_path, capsys):
    here = Run(shutil.copytree(local_run.path, tmp_path / "here" / local_run.id))
    there = Run(shutil.copytree(local_run.path, tmp_path / "there" / local_run.id))
    local = _select(here)
    capsys.readouterr()
    ray = _select(there, "--engine", "ray")
    assert "engine ray" in capsys.readouterr().err
    assert set(local) == set(ray) and any(key.startswith("selections/semdedup") for key in local)
    for key, value in local.items():
        assert np.array_equal(value, ray[key]), key
    # the stage records say where the splitting selector's pieces ran (its parameters do not)
    for method in ("semdedup", "gtp-sharded"):  # GTP's two-round preset sends its shards to Ray
        stages = {run: run.reload().stage_record(f"select:{method}") for run in (here, there)}
        assert stages[there].extra.get("engine") == "ray" and "engine" not in stages[here].extra
        assert stages[there].params == stages[here].params


def test_ray_address_without_engine_ray_is_refused_before_the_run_is_read(tmp_path, capsys):
    assert main(["select", "no-such-run", "--runs-dir", str(tmp_path), "--ray-address", "auto"]) == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err
