# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""``compute --engine ray --grad-capture step`` equals the local engine's step-capture run.

One Ray Train worker runs the local training loop, so the capture hooks record every training
example's gradient at the step that used it, exactly as one process does; the validation gradients go
through the same hooks in one Ray task at each checkpoint, and the forwards through the shard pool.
More training workers would each capture only their own slice of a batch: they are refused.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from prune_core.distributed.engine import RayCompute, RayOptions
from prune_core.pipeline import STEP_EVAL_MODE, STEP_TRAIN_MODE, Compute
from prune_core.store import RunStore, keys
from tests.distributed_support import ray_cluster, small_config, worst_relative_error  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOLERANCE = 1e-5  # max relative error, float32 (as tests/test_distributed_extract.py)


@pytest.fixture(scope="module")
def step_config(sst2_dir, tiny_model_dir):
    config = small_config(sst2_dir)
    return replace(
        config, model=str(tiny_model_dir), represent=replace(config.represent, grad_capture="step")
    )


def test_step_capture_on_ray_with_one_training_worker_equals_the_local_run(
    step_config, ray_cluster, tmp_path
):
    log = lambda _m: None  # noqa: E731
    local = Compute(step_config, RunStore(tmp_path / "local"), show_progress=False, log=log).run()
    options = RayOptions(workers=2, shard_examples=8, train_threads=torch.get_num_threads())
    on_ray = RayCompute(step_config, RunStore(tmp_path / "ray"), options, show_progress=False, log=log).run()
    assert on_ray.id == local.id
    assert on_ray.stage_record(keys.TRAIN_STAGE).extra["engine"]["train_workers"] == 1
    for epoch in (1, 2):
        checkpoint = f"epoch-{epoch}"
        # captured while training: the same steps, so the same gradients bit for bit
        train = on_ray.read_array(keys.grads("train", checkpoint, "sgd"))
        assert np.array_equal(train, local.read_array(keys.grads("train", checkpoint, "sgd")))
        assert on_ray.file_info(keys.grads("train", checkpoint, "sgd")).meta["mode"] == STEP_TRAIN_MODE
        assert on_ray.file_info(keys.grads("validation", checkpoint, "sgd")).meta["mode"] == STEP_EVAL_MODE
    worst, compared = worst_relative_error(local, on_ray)
    assert worst <= TOLERANCE, worst
    assert sorted(compared) == sorted(r.key for r in on_ray.arrays())
    assert {keys.parse(k).kind for k in compared} >= {keys.HIDDEN, keys.OUTPUTS, keys.GRADS, keys.GRAD_NORMS}


def test_step_capture_with_data_parallel_training_is_refused_naming_the_flag(step_config, tmp_path):
    with pytest.raises(ValueError, match="--train-workers"):
        RayCompute(step_config, RunStore(tmp_path), RayOptions(train_workers=2), log=lambda _m: None)
