# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""``compute --engine ray`` on a generation run (prompt + response, a causal LM) equals the local engine.

The Ray engine goes through the same task abstraction as one process (``prune_core/tasks``): one Ray
Train worker runs the local training loop, and the Ray Data workers encode, batch and score examples by
the run's task. A tiny random GPT-2 (``prune_core/tiny_decoder.py``) with LoRA on the packaged demo
instructions keeps it to seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prune_core.data import DatasetSpec
from prune_core.distributed.engine import RayCompute, RayOptions
from prune_core.paths import REPO_ROOT
from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig, epoch_checkpoint
from prune_core.represent.sizing import BatchSizes
from prune_core.store import RunStore, keys
from prune_core.tiny_decoder import _texts_of, build_tiny_decoder
from prune_core.train import TrainConfig
from tests.distributed_support import ray_cluster, worst_relative_error  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DEMO = REPO_ROOT / "data" / "demo_instruct"
TOLERANCE = 1e-5  # max relative error, float32 (as tests/test_distributed_extract.py)


@pytest.fixture(scope="module")
def generation_config(tmp_path_factory) -> ComputeConfig:
    model = build_tiny_decoder(tmp_path_factory.mktemp("gpt2"), _texts_of(DEMO / "train.jsonl"), hidden=16)
    return ComputeConfig(
        dataset=DatasetSpec(str(DEMO), task="generation", limit=24, limit_validation=8, limit_test=8),
        model=str(model),
        train=TrainConfig(epochs=2, batch_size=8, max_length=96, lr=5e-3, lora=True, lora_r=4),
        represent=RepresentConfig(proj_dim=16, projector="sparse"),
        batches=BatchSizes(forward=4, gradients=4),
        device="cpu",
    )


def test_a_generation_run_on_ray_equals_the_local_run(generation_config, ray_cluster, tmp_path):
    log = lambda _m: None  # noqa: E731
    local = Compute(generation_config, RunStore(tmp_path / "local"), show_progress=False, log=log).run()
    options = RayOptions(workers=2, shard_examples=8, train_threads=torch.get_num_threads())
    on_ray = RayCompute(
        generation_config, RunStore(tmp_path / "ray"), options, show_progress=False, log=log
    ).run()
    assert on_ray.id == local.id and on_ray.task == "generation"
    # training: one Ray Train worker (the generation default) ran the local loop, bit for bit
    assert on_ray.stage_record(keys.TRAIN_STAGE).extra["engine"]["train_workers"] == 1
    for name in ("loss", "p_gold"):
        assert np.array_equal(on_ray.read_array(keys.dynamics(name)), local.read_array(keys.dynamics(name)))
    for epoch in (1, 2):
        mine = on_ray.load_checkpoint_group(epoch_checkpoint(epoch), "weights")
        theirs = local.load_checkpoint_group(epoch_checkpoint(epoch), "weights")
        assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    # extraction: the task's outputs (response-token loss and counts, pooled states, LoRA gradients)
    worst, compared = worst_relative_error(local, on_ray)
    assert worst <= TOLERANCE, worst
    assert sorted(compared) == sorted(r.key for r in on_ray.arrays())
    kinds = {keys.parse(k).kind for k in compared}
    assert {keys.HIDDEN, keys.OUTPUTS, keys.GRADS, keys.GRAD_NORMS} <= kinds
    assert on_ray.has(keys.outputs("train", "epoch-2", "tokens"))
    assert not on_ray.has(keys.outputs("train", "epoch-2", "logits"))
    for checkpoint in ("epoch-1", "epoch-2"):
        stage = on_ray.stage_record(keys.represent_stage(checkpoint)).extra
        assert stage["engine"]["name"] == "ray" and len(stage["engine"]["shards"]) > 2
        theirs = local.stage_record(keys.represent_stage(checkpoint)).extra["validation"]
        assert stage["validation"] == pytest.approx(theirs, rel=TOLERANCE)


def test_data_parallel_training_of_a_generation_run_is_refused_naming_the_flag(generation_config, tmp_path):
    with pytest.raises(ValueError, match="--train-workers"):
        RayCompute(generation_config, RunStore(tmp_path), RayOptions(train_workers=2), log=lambda _m: None)
