"""Shared pieces of the Ray engine's tests: one small Ray cluster per session, one small local run.

Ray's footprint is kept small for a 2-core CI machine: ``num_cpus=2``, a 150 MB object store, no
dashboard. The local run is the oracle: the packaged MiniLM fine-tuned on 32 SST-2 examples for two
epochs at max length 32; the Ray engine recomputes its representations from the same checkpoints.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from prune_core.data import DatasetSpec
from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig
from prune_core.represent.sizing import BatchSizes
from prune_core.store import Run, RunStore
from prune_core.train import TrainConfig

OBJECT_STORE_MB = 150


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster for the whole session (joined, not restarted, by every engine under test)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            object_store_memory=OBJECT_STORE_MB * 2**20,
            include_dashboard=False,
            log_to_driver=False,
        )
    yield ray
    if started:
        ray.shutdown()


def small_config(data_dir: Path, **train) -> ComputeConfig:
    return ComputeConfig(
        dataset=DatasetSpec(train=str(data_dir), limit=32, limit_validation=12, limit_test=8),
        train=TrainConfig(**{"epochs": 2, "max_length": 32, "batch_size": 8, **train}),
        represent=RepresentConfig(proj_dim=32, projector="sparse"),
        batches=BatchSizes(forward=4, gradients=4),
        device="cpu",
    )


_BUILT: dict[str, Run] = {}


@pytest.fixture(scope="session")
def local_run(sst2_dir, tmp_path_factory) -> Run:
    """The local engine's run: the oracle every Ray test compares with (and never writes to).

    Built once per process: each test module that imports this fixture gets its own definition of it,
    so without the cache every such module would fine-tune it again."""
    if "local" not in _BUILT:
        store = RunStore(tmp_path_factory.mktemp("local-engine"))
        _BUILT["local"] = Compute(
            small_config(sst2_dir), store, show_progress=False, log=lambda _m: None
        ).run()
    return _BUILT["local"]


def copy_without_representations(run: Run, dest: Path) -> RunStore:
    """The run's folder copied to ``dest`` with its represent stages undone (checkpoints kept): the
    Ray engine then recomputes every representation from the very checkpoints the local run wrote."""
    shutil.copytree(run.path, dest / run.id)
    copy = Run(dest / run.id)
    for name in copy.stages("represent:"):
        copy.forget_files(copy.stage_files(name))
        copy.begin_stage(name, copy.stage_record(name).params)  # as if interrupted
    return RunStore(dest)


def worst_relative_error(a: Run, b: Run) -> tuple[float, list[str]]:
    """The largest elementwise relative error over every array both runs hold, and the keys compared.

    The engines run the same float32 maths, but not always to the last bit. CPU kernels can depend on
    the thread count (oneDNN on AMX CPUs does): the local engine uses every core, a Ray worker one.
    So two things are discounted:
    - one rounding step of the stored dtype, since a float16 array (hidden states, gradients) flips
      by one step when its float32 value sits on a rounding boundary;
    - the error of elements far below the array's typical size (its RMS). A near-zero logit is a
      difference of larger terms, and its own magnitude is no scale for it.
    """
    worst, compared = 0.0, []
    for record in a.arrays():
        stored, other = a.read_array(record.key), b.read_array(record.key)
        assert stored.shape == other.shape, record.key
        x, y = np.asarray(stored, dtype=np.float64), np.asarray(other, dtype=np.float64)
        assert np.array_equal(np.isnan(x), np.isnan(y)), record.key
        keep = ~np.isnan(x)
        x, y = x[keep], y[keep]
        if x.size:
            step = 0.0
            if np.issubdtype(stored.dtype, np.floating):
                step = np.spacing(np.maximum(np.abs(x), np.abs(y)).astype(stored.dtype)).astype(np.float64)
            scale = np.maximum(np.abs(x), max(float(np.sqrt(np.mean(x**2))), 1e-6))
            worst = max(worst, float(np.max(np.maximum(np.abs(x - y) - step, 0.0) / scale)))
        compared.append(record.key)
    return worst, compared
