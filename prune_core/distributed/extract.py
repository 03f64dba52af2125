"""Representation extraction on Ray Data: ``map_batches`` over a pool of model-replica actors.

The driver plans each split into shards (``plan.py``) and hands Ray Data one item per shard still to
compute. Each actor loads the checkpoint from the run store once, then for every shard it receives
computes the same outputs the local engine computes — through the same functions,
``represent.features.forward_features`` / ``gradient_features`` — and writes them as one shard file
with its own checksum (``Run.write_shard``). Ray retries the shard of a worker that dies; a shard is
written atomically, so a retried one simply replaces nothing or an identical file. The driver then merges
each split's shards into the ordinary arrays.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

import numpy as np

from prune_core.distributed.plan import Shard, SplitPlan, plan_split, subset
from prune_core.store import Run, keys


@dataclass
class CheckpointJob:
    """One checkpoint's part of a pass: the splits that get gradient features and each split's plan."""

    gradient_splits: list[str]
    plans: dict[str, str] = field(default_factory=dict)  # split -> plan fingerprint


@dataclass
class ShardJob:
    """What every actor of one extraction pass needs (sent once, to each actor's constructor). One pass
    covers every checkpoint still to compute, so the actor pool starts once per ``compute``."""

    run_path: str
    config: object  # pipeline.ComputeConfig
    device: str  # "cpu" or "cuda" (each GPU actor sees its one GPU as cuda:0)
    sizes: dict[str, int]  # forward / gradients / projection_chunk
    shard_examples: int
    checkpoints: dict[str, CheckpointJob] = field(default_factory=dict)

    def batch_size(self, checkpoint: str, split: str) -> int:
        grads = split in self.checkpoints[checkpoint].gradient_splits
        return self.sizes["gradients"] if grads else self.sizes["forward"]


def encode_split(run: Run, config, tokenizer, split: str, log=lambda _m: None):
    """The split's token ids and labels, from the run's own examples table (workers need no data files),
    encoded by the run's task as the local engine encodes them (prune_core/tasks)."""
    from prune_core.tasks import get_task

    frame = run.examples(split)
    task = get_task(config.dataset.task)
    source = (run.dataset.sources or {}).get(split)
    encoded = task.encode(tokenizer, frame, config.train.max_length, log=log, source=source)
    return encoded, frame["label"].to_numpy()


def plan_checkpoint(job: ShardJob, checkpoint: str, encoded: dict) -> dict[str, SplitPlan]:
    return {
        split: plan_split(split, enc, job.batch_size(checkpoint, split), job.shard_examples)
        for split, (enc, _labels) in encoded.items()
    }


class ShardExtractor:
    """One model replica: a Ray Data actor that turns shard items into shard files. It holds the model
    of the checkpoint it last computed (items arrive grouped by checkpoint) and each split's tokens."""

    def __init__(self, job: ShardJob):
        import torch

        self.job = job
        self.run = Run(job.run_path)
        self.device = torch.device(job.device)
        self.checkpoint: str | None = None
        self.model = self.tokenizer = self.setup = None
        self.encoded: dict = {}
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def _load(self, checkpoint: str) -> None:
        from prune_core.pipeline import build_model, gradient_setup

        if checkpoint == self.checkpoint:
            return
        self.model = self.setup = None  # free the previous replica before building the next
        self.model, self.tokenizer = build_model(
            self.job.config, len(self.run.label_names), self.run, checkpoint, self.device
        )
        if self.job.checkpoints[checkpoint].gradient_splits:
            self.setup = gradient_setup(
                self.job.config,
                self.model,
                self.run,
                checkpoint,
                self.device,
                self.job.sizes["projection_chunk"],
            )
        self.checkpoint = checkpoint

    def _plan(self, checkpoint: str, split: str):
        if split not in self.encoded:
            self.encoded[split] = encode_split(self.run, self.job.config, self.tokenizer, split)
        encoded = self.encoded[split][0]
        plan = plan_split(split, encoded, self.job.batch_size(checkpoint, split), self.job.shard_examples)
        if plan.fingerprint != self.job.checkpoints[checkpoint].plans.get(split):
            raise RuntimeError(
                f"worker {self.worker} planned {split} differently from the driver "
                "(different data or tokenizer on this node?)"
            )
        return self.encoded[split], plan

    def compute(self, checkpoint: str, shard: Shard, encoded, labels) -> dict[str, np.ndarray]:
        from prune_core.represent.features import forward_features, gradient_features
        from prune_core.reproducibility import deterministic
        from prune_core.tasks import get_task

        task = get_task(self.job.config.dataset.task)

        part, part_labels = subset(encoded, shard.rows), labels[shard.rows]
        with deterministic(self.device):
            if shard.split in self.job.checkpoints[checkpoint].gradient_splits:
                return gradient_features(
                    self.model,
                    self.setup.names,
                    part,
                    part_labels,
                    self.setup.projector,
                    self.device,
                    batch_size=self.job.sizes["gradients"],
                    with_outputs=True,
                    adam_moments=self.setup.adam if shard.split == "train" else None,
                    task=task,
                )
            return forward_features(
                self.model, part, part_labels, self.device, batch_size=self.job.sizes["forward"], task=task
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {"key": [], "seconds": [], "worker": [], "examples": []}
        for checkpoint, split, index in zip(batch["checkpoint"], batch["split"], batch["index"]):
            checkpoint, split = str(checkpoint), str(split)
            self._load(checkpoint)
            (encoded, labels), plan = self._plan(checkpoint, split)
            shard = plan.shards[int(index)]
            started = time.perf_counter()
            arrays = self.compute(checkpoint, shard, encoded, labels)
            seconds = time.perf_counter() - started
            key = keys.shard(split, checkpoint, shard.index)
            grads = split in self.job.checkpoints[checkpoint].gradient_splits
            self.run.write_shard(
                key,
                {**arrays, "rows": shard.rows.astype(np.int64)},
                stage=keys.represent_stage(checkpoint),
                meta={
                    "plan": plan.fingerprint,
                    "examples": len(shard),
                    "seconds": round(seconds, 3),
                    "worker": self.worker,
                    # what the merged gradient arrays record (projection, scope, parameter count)
                    "gradients": self.setup.meta if grads else None,
                },
            )
            out["key"].append(key)
            out["seconds"].append(seconds)
            out["worker"].append(self.worker)
            out["examples"].append(len(shard))
        return {name: np.asarray(values) for name, values in out.items()}


def step_eval_gradients(job: ShardJob, checkpoint: str, splits: list[str]) -> tuple[dict, dict]:
    """``--grad-capture step`` at one checkpoint, as one Ray task: the step projection's metadata and each
    of ``splits``' outputs and gradients through the capture hooks, computed as the local engine's
    ``Compute._step_validation_gradients`` computes them (the training gradients were captured while
    training and saved with the checkpoint)."""
    import torch

    from prune_core.pipeline import build_model, new_step_capture, step_batch_size, step_meta
    from prune_core.represent.features import capture_features
    from prune_core.reproducibility import deterministic
    from prune_core.tasks import get_task

    run, device, config = Run(job.run_path), torch.device(job.device), job.config
    with deterministic(device):
        model, tokenizer = build_model(config, len(run.label_names), run, checkpoint, device)
        capture = new_step_capture(config, model, device)
        feats = {}
        for split in splits:
            encoded, labels = encode_split(run, config, tokenizer, split)
            feats[split] = capture_features(
                model,
                capture,
                encoded,
                labels,
                device,
                batch_size=step_batch_size(job.sizes),
                task=get_task(config.dataset.task),
            )
    return step_meta(config, capture, checkpoint), feats


def run_shards(ray, job: ShardJob, todo: list[tuple[str, Shard]], spec, on_done=None) -> list[dict]:
    """Compute ``todo`` ((checkpoint, shard) pairs) on an actor pool of ``spec.workers`` replicas;
    ``on_done(result)`` after each shard is written."""
    import ray.data

    if not todo:
        return []
    items = [{"checkpoint": c, "split": s.split, "index": s.index} for c, s in todo]
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        ShardExtractor,
        fn_constructor_kwargs={"job": job},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=spec.workers),
        num_cpus=spec.cpus,
        num_gpus=spec.gpus,
        # Ray Data's actor pools restart a dead actor and retry its tasks without limit by default
        # (max_restarts=-1, max_task_retries=-1); a retried shard is rewritten atomically.
    )
    results = []
    for row in dataset.iter_rows():
        result = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
