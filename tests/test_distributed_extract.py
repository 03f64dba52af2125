# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""The Ray engine's representation extraction equals the local engine's (``prune_core/distributed/``).

From the same fine-tuned checkpoints, Ray Data with 2 workers writes the same hidden states, losses and
projected gradients as one process. The shard plan reproduces the local batches. On CPUs whose
kernels do not depend on the thread count, the arrays agree bitwise; elsewhere they agree to float32
rounding. The check allows the issue's 1e-5 relative error beyond one step of the stored dtype
(``worst_relative_error``). Every preset then selects the same subsets, the shards are recorded with
their checksums, and a worker killed mid-pass is retried.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from prune_core.distributed.engine import RayCompute, RayOptions
from prune_core.distributed.plan import Shard, merge_rows, plan_split, shard_batches
from prune_core.methods import PRESETS, Representations, get_method
from prune_core.methods.runner import MethodRunner
from prune_core.store import keys
from prune_core.tokenize import Encoded, length_sorted_batches
from tests.distributed_support import (  # noqa: F401 (fixtures)
    copy_without_representations,
    local_run,
    ray_cluster,
    small_config,
    worst_relative_error,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOLERANCE = 1e-5


def _encoded(lengths: list[int]) -> Encoded:
    return Encoded([[1] * n for n in lengths], None, 0)


@pytest.mark.parametrize("batch_size,shard_examples", [(4, 4), (4, 9), (3, 100), (5, 12)])
def test_a_shard_forms_exactly_the_local_engines_batches(batch_size, shard_examples):
    encoded = _encoded([int(x) for x in np.random.default_rng(batch_size).integers(1, 9, size=23)])
    plan = plan_split("train", encoded, batch_size, shard_examples)
    local = sorted(tuple(b) for b in length_sorted_batches(encoded, batch_size))
    sharded = sorted(tuple(b) for s in plan.shards for b in shard_batches(encoded, s, batch_size))
    assert sharded == local
    assert [s.index for s in plan.shards] == list(range(len(plan.shards)))
    # shard 0 holds the longest examples (computed first: a batch size too large fails at once)
    assert encoded.lengths()[plan.shards[0].rows].max() == encoded.lengths().max()


def test_the_plan_fingerprint_changes_with_the_batch_size_and_the_data():
    encoded = _encoded([3, 1, 4, 1, 5, 9, 2, 6])
    base = plan_split("train", encoded, 2, 4).fingerprint
    assert plan_split("train", encoded, 2, 4).fingerprint == base
    assert plan_split("train", encoded, 4, 4).fingerprint != base
    assert plan_split("train", _encoded([3, 1, 4, 1, 5, 9, 2, 7]), 2, 4).fingerprint != base


def test_merging_shards_puts_every_row_back_once_and_refuses_gaps_or_overlaps():
    parts = [(np.array([2, 0]), {"x": np.array([20.0, 0.0])}), (np.array([1]), {"x": np.array([10.0])})]
    assert merge_rows(3, parts)["x"].tolist() == [0.0, 10.0, 20.0]
    with pytest.raises(ValueError, match="cover 2 of 3"):
        merge_rows(3, parts[:1])
    with pytest.raises(ValueError, match="more than once"):
        merge_rows(3, [*parts, (np.array([1]), {"x": np.array([1.0])})])
    assert Shard("train", 0, np.array([1, 2])).rows.tolist() == [1, 2]


def _selections(run) -> dict:
    reps = Representations(run)
    runner = MethodRunner(reps, (0.25, 0.5))
    out = {}
    for method_id in sorted(PRESETS):
        try:
            result = runner.run(get_method(method_id))
        except Exception as err:  # a preset that cannot run here must fail the same way on both runs
            out[method_id] = f"{type(err).__name__}: {err}"
            continue
        out[method_id] = {v: [sorted(map(int, c)) for c in per] for v, per in result.selections.items()}
    return out


@pytest.fixture(scope="module")
def ray_run(local_run, ray_cluster, sst2_dir, tmp_path_factory):
    store = copy_without_representations(local_run, tmp_path_factory.mktemp("ray-engine"))
    options = RayOptions(workers=2, train_workers=1, shard_examples=8)
    return RayCompute(small_config(sst2_dir), store, options, show_progress=False).run()


def test_ray_extraction_with_two_workers_equals_the_local_engine(local_run, ray_run):
    local, distributed = local_run.reload(), ray_run.reload()
    assert distributed.id == local.id  # the engine changes where the work runs, not the run
    worst, compared = worst_relative_error(local, distributed)
    kinds = {keys.parse(k).kind for k in compared}
    assert {keys.HIDDEN, keys.OUTPUTS, keys.GRADS, keys.GRAD_NORMS, keys.HEAD_INPUT} <= kinds
    assert worst <= TOLERANCE, worst
    assert sorted(compared) == sorted(r.key for r in distributed.arrays())


def test_the_manifest_records_every_shard_with_its_checksum(ray_run):
    run = ray_run.reload()
    for checkpoint in ("pretrained", "epoch-1", "epoch-2"):
        engine = run.stage_record(keys.represent_stage(checkpoint)).extra["engine"]
        assert engine["name"] == "ray" and engine["workers"] == 2
        shards = engine["shards"]
        assert shards and all(len(s["sha256"]) == 64 and s["examples"] > 0 for s in shards)
        assert sorted(s["key"] for s in shards) == engine["computed"]
        workers = {s["worker"] for s in shards}
        assert len(workers) == 2, workers  # both replicas took shards
    assert not run.files(keys.prefix(keys.SHARDS))  # merged into the arrays, then dropped


def test_every_preset_selects_the_same_subsets_from_either_engine(local_run, ray_run):
    assert _selections(ray_run.reload()) == _selections(local_run.reload())


def _map_workers() -> list[int]:
    """Pids of this machine's Ray Data map workers (their process title names the actor class)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if b"MapWorker(MapBatches(ShardExtractor))" in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_a_worker_killed_mid_extraction_is_retried_and_the_arrays_equal_the_clean_run(
    local_run, ray_cluster, sst2_dir, tmp_path
):
    store = copy_without_representations(local_run, tmp_path)
    run = store.open(local_run.id)
    engine = RayCompute(
        small_config(sst2_dir),
        store,
        RayOptions(workers=2, train_workers=1, shard_examples=4),
        show_progress=False,
    )
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("run", engine.run()))
    thread.start()
    killed = None
    deadline = time.time() + 300
    while time.time() < deadline and thread.is_alive() and killed is None:
        if run.reload().files(keys.prefix(keys.SHARDS)) and _map_workers():
            killed = _map_workers()[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=600)
    assert killed is not None, "the pass ended before a worker could be killed"
    assert "run" in outcome, "the run did not finish after a worker was killed"
    worst, _ = worst_relative_error(local_run.reload(), outcome["run"].reload())
    assert worst <= TOLERANCE
    workers = {
        s["worker"]
        for c in ("pretrained", "epoch-1", "epoch-2")
        for s in run.reload().stage_record(keys.represent_stage(c)).extra["engine"]["shards"]
    }
    assert len(workers) >= 2
