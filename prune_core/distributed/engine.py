"""``compute --engine ray``: the same stages as :class:`prune_core.pipeline.Compute`, on a Ray cluster.

The data stage, the run id, the stage parameters and every stored array are the local engine's; only
where the work runs changes. Representation extraction runs on Ray Data (``extract.py``): each
checkpoint's splits are cut into shards, computed by an actor pool (one model replica per GPU, or per
CPU worker), written by the workers as checksummed shard files, then merged by the driver into the
ordinary arrays — the one logical array every reader sees. A driver killed mid-pass leaves its finished
shards registered; the next ``compute`` keeps them and computes only the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from prune_core.distributed.cluster import WorkerSpec, connect, worker_spec
from prune_core.distributed.extract import (
    CheckpointJob,
    ShardJob,
    encode_split,
    plan_checkpoint,
    run_shards,
    step_eval_gradients,
)
from prune_core.distributed.plan import DEFAULT_SHARD_EXAMPLES, merge_rows
from prune_core.models import load_tokenizer, resolve_model_source
from prune_core.pipeline import PRETRAINED, STEP_EVAL_MODE, Compute, ComputeConfig, epoch_checkpoint
from prune_core.store import RunStore, keys
from prune_core.tasks import get_task


@dataclass
class RayOptions:
    """How the Ray engine runs: where the cluster is, how many workers, how big a shard."""

    address: str | None = None  # --ray-address (else RAY_ADDRESS, else a local cluster)
    workers: int | None = None  # default: one per GPU, else one per CPU but one
    train_workers: int | None = None  # data-parallel training replicas (default: ``workers``)
    # torch threads of each training worker (default: Ray's, one per CPU the worker reserves). CPU
    # kernels round differently with another thread count: the same count as a local run reproduces it
    # bitwise.
    train_threads: int | None = None
    shard_examples: int = DEFAULT_SHARD_EXAMPLES
    num_cpus: int | None = None  # a local cluster's CPUs (default: all of this machine's)
    object_store_mb: int | None = None  # a local cluster's object store cap


def worker_facts(config: ComputeConfig, num_labels: int) -> dict:
    """Device, precision and batch sizes as a worker sees them (run on a worker: the driver may have no
    GPU). Builds the pre-trained model once to size the batches from its shape."""
    from prune_core.models import choose_device, describe_device, resolve_precision
    from prune_core.represent.gradients import gradient_parameter_names
    from prune_core.represent.sizing import model_shape, resolve_batch_sizes

    device = choose_device("auto" if config.device in ("auto", "cuda") else config.device)
    from prune_core.tasks import get_task

    task = get_task(config.dataset.task)
    model = task.load_model(config.model, num_labels, seed=config.train.seed).model
    if config.train.lora:
        from prune_core.models import apply_lora

        t = config.train
        model = apply_lora(
            model,
            r=t.lora_r,
            alpha=t.lora_alpha,
            dropout=t.lora_dropout,
            target_modules=t.lora_targets,
            task_type=task.lora_task_type,
        )
    names = gradient_parameter_names(model, config.resolved_grad_scope())
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    sizes, note = resolve_batch_sizes(
        config.batches, device, model_shape(model, size, config.train.max_length)
    )
    return {
        "device": device.type,
        "describe": describe_device(device),
        "precision": resolve_precision(config.precision, device),
        "sizes": sizes,
        "note": note,
    }


class RayCompute(Compute):
    """:class:`Compute` whose representation passes run as Ray Data actor pools."""

    def __init__(
        self,
        config: ComputeConfig,
        store: RunStore,
        options: RayOptions | None = None,
        *,
        show_progress: bool = True,
        log: Callable[[str], None] = print,
    ):
        self.options = options or RayOptions()
        if config.represent.grad_capture == "step" and (self.options.train_workers or 1) > 1:
            raise ValueError(
                "--train-workers: --grad-capture step captures gradients in one training process; "
                "run it with --train-workers 1 (the default for step capture) or --grad-capture checkpoint"
            )
        if config.dataset.task != "classification" and (self.options.train_workers or 1) > 1:
            raise ValueError(
                "--train-workers: data-parallel training runs classification tasks; a generation run "
                "trains on one Ray Train worker (its extraction still uses every --workers)"
            )
        self.ray = connect(
            self.options.address, num_cpus=self.options.num_cpus, object_store_mb=self.options.object_store_mb
        )
        self.spec: WorkerSpec = worker_spec(self.ray, self.options.workers, config.device)
        self.config, self.store, self.show_progress, self.log = config, store, show_progress, log
        config.batches.validate()
        self.task = get_task(config.dataset.task)
        self._facts: dict | None = None
        self.dataset = self.run_ = None
        self._sizes = None
        self._extracted, self._tokens, self._shard_job = False, None, None
        self._split_plans: dict = {}
        self._reused: dict[str, list[str]] = {}
        self._computed: list[str] = []
        self.device = torch.device(self.spec.device)
        self.precision = None  # resolved on a worker in run()

    def run(self):
        from prune_core.data import load_dataset

        labels = len(load_dataset(self.config.dataset).label_names)
        facts = self.ray.remote(num_cpus=self.spec.cpus, num_gpus=self.spec.gpus)(worker_facts)
        self._facts = self.ray.get(facts.remote(self.config, labels))
        self.device = torch.device(self._facts["device"])
        self.precision = self._facts["precision"]
        # generation and step capture train on one worker (the data-parallel loop is classification's,
        # ddp.py, and captures no step gradients)
        one = self.task.name != "classification" or self._step_capture_on()
        self.train_workers = self.options.train_workers or (1 if one else self.spec.workers)
        self._sizes = self._facts["sizes"]
        self.log(f"[engine] {self.spec.describe()}; workers compute on {self._facts['describe']}")
        self.log(f"[represent] batch sizes: {self._facts['note']}")
        return super().run()

    def _execution_key(self) -> dict:
        """Data-parallel training changes the dynamics (batch slices, dropout masks, reduction order),
        so more than one training replica is another run; one replica is the local run itself."""
        key = super()._execution_key()
        if self.train_workers > 1:
            key["train_replicas"] = self.train_workers
        return key

    # ------------------------------------------------------------------ training
    def _train_stage(self) -> dict:
        from prune_core.distributed.train import train_on_ray

        workers = self.train_workers
        self.log(f"[train] Ray Train: {workers} worker{'s' if workers != 1 else ''} ({self.spec.device})")
        train_on_ray(self.run_, self.config, self.spec, self.precision, workers, self.options.train_threads)
        run = self.run_.reload()
        state = run.checkpoint_state(epoch_checkpoint(self.config.train.epochs)) or {}
        return {
            "history": state.get("history", []),
            "engine": {"name": "ray", "train_workers": workers, "device": self.spec.device},
        }

    # ------------------------------------------------------------------ representations
    def _stage(self, name: str, params: dict, body, keep=None) -> None:
        """Represent stages keep the intact shards a killed run wrote; the first one runs the single
        extraction pass of every checkpoint still to compute (one actor pool per ``compute``)."""
        if keys.parse_stage(name).kind == "represent":
            if not self._extracted:
                self._extract_pending()
            keep = lambda record: record.kind == "shard"  # noqa: E731
        super()._stage(name, params, body, keep=keep)

    def _encoded_splits(self, checkpoint: str) -> dict:
        wanted = ("train", "validation", "test") if checkpoint == PRETRAINED else ("train", "validation")
        if self._tokens is None:
            tokenizer = load_tokenizer(resolve_model_source(self.config.model))
            self._tokens = {
                s: encode_split(self.run_, self.config, tokenizer, s, log=self.log)
                for s in ("train", "validation", "test")
                if self.dataset.sizes.get(s)
            }
        return {s: self._tokens[s] for s in wanted if s in self._tokens}

    def _job(self) -> ShardJob:
        if self._shard_job is None:
            self._shard_job = ShardJob(
                run_path=str(self.run_.path),
                config=self.config,
                device=self.spec.device,
                sizes=dict(self._sizes),
                shard_examples=self.options.shard_examples,
            )
        return self._shard_job

    def _plans(self, checkpoint: str) -> dict:
        """The checkpoint's shard plans, registered on the pass's job (workers check theirs against it)."""
        job = self._job()
        if checkpoint not in self._split_plans:
            grads = self._represent_params(checkpoint)["gradients"]
            encoded = self._encoded_splits(checkpoint)
            if grads and self._step_capture_on():  # shards: forwards only; see _step_gradients
                encoded, grads = {s: e for s, e in encoded.items() if s != "validation"}, False
            job.checkpoints[checkpoint] = CheckpointJob(
                [s for s in ("train", "validation") if s in encoded and grads]
            )
            plans = plan_checkpoint(job, checkpoint, encoded)
            job.checkpoints[checkpoint].plans = {split: plan.fingerprint for split, plan in plans.items()}
            self._split_plans[checkpoint] = plans
        return self._split_plans[checkpoint]

    def _extract_pending(self) -> None:
        """One Ray Data pass over the shards of every checkpoint whose represent stage is not done."""
        self._extracted = True
        pending = [
            c
            for c in self.checkpoints()
            if not self.run_.stage(keys.represent_stage(c), self._represent_params(c)).done
        ]
        todo, total = [], 0
        for checkpoint in pending:
            plans = self._plans(checkpoint)
            missing, reused = self._pending_shards(checkpoint, plans)
            todo += [(checkpoint, shard) for shard in missing]
            self._reused[checkpoint] = reused
            total += sum(len(p.shards) for p in plans.values())
        if not todo:
            return
        self.log(
            f"[extract] {len(todo)} of {total} shards ({len(pending)} checkpoints) on {self.spec.describe()}"
        )
        done = run_shards(self.ray, self._job(), todo, self.spec, on_done=self._progress(len(todo), total))
        for result in done:
            self._computed.append(result["key"])
        self.run_.reload()

    def _represent(self, checkpoint: str) -> dict:
        run = self.run_
        plans = self._plans(checkpoint)
        missing, _ = self._pending_shards(checkpoint, plans)
        if missing:  # only when a shard was lost between the pass and its merge
            done = run_shards(self.ray, self._job(), [(checkpoint, s) for s in missing], self.spec)
            self._computed += [r["key"] for r in done]
            run.reload()
        encoded = self._encoded_splits(checkpoint)
        shards = self._merge(checkpoint, plans, self._job().checkpoints[checkpoint].gradient_splits)
        if self._step_capture_on() and self._represent_params(checkpoint)["gradients"]:
            self._step_gradients(checkpoint, [s for s in ("validation",) if s in encoded])
        prefix = keys.prefix(keys.SHARDS)
        extra = {
            "examples": {s: len(encoded[s][0]) for s in encoded},
            "engine": {
                "name": "ray",
                "workers": self.spec.workers,
                "device": self.spec.device,
                "shards": shards,
                "computed": sorted(
                    k
                    for k in self._computed
                    if k.startswith(prefix) and keys.parse(k).checkpoint == checkpoint
                ),
                "reused": sorted(self._reused.get(checkpoint, [])),
            },
        }
        if "validation" in encoded:
            extra["validation"] = self._validation_scores(checkpoint, encoded["validation"][1])
        return extra

    def _step_gradients(self, checkpoint: str, splits: list[str]) -> None:
        """Step capture: the training gradients captured while training (saved with the checkpoint) and
        the validation split's through the same hooks, in one Ray task on one worker's resources."""
        task = self.ray.remote(num_cpus=self.spec.cpus, num_gpus=self.spec.gpus)(step_eval_gradients)
        meta, feats = self.ray.get(task.remote(self._job(), checkpoint, splits))
        self._write_step_train_gradients(checkpoint, meta)
        for split, values in feats.items():
            self._write_outputs(split, checkpoint, values)
            self._write_gradients(split, checkpoint, values, {**meta, "mode": STEP_EVAL_MODE})

    def _pending_shards(self, checkpoint: str, plans: dict) -> tuple[list, list[str]]:
        """Shards still to compute, and the keys of intact ones of the same plan kept from a killed run."""
        run, todo, reused, stale = self.run_, [], [], []
        for split, plan in plans.items():
            stored = {r.key: r for r in run.shards(keys.prefix(keys.SHARDS, split, checkpoint))}
            wanted = {keys.shard(split, checkpoint, s.index): s for s in plan.shards}
            for key, record in stored.items():
                if key not in wanted or record.meta.get("plan") != plan.fingerprint or run.problems([key]):
                    stale.append(key)
            for key, shard in wanted.items():
                if key in stored and key not in stale:
                    reused.append(key)
                else:
                    todo.append(shard)
        if stale:
            run.forget_files(stale)
        return todo, reused

    def _progress(self, todo: int, total: int):
        """Per-shard progress in the run's progress file (the dashboard's job panel shows it)."""
        state = {"done": total - todo, "recent": [], "started": time.time()}

        def done(result: dict) -> None:
            state["done"] += 1
            recent = {k: result[k] for k in ("key", "seconds", "worker", "examples")}
            state["recent"] = [recent, *state["recent"]][:8]
            self.run_.write_progress(
                {
                    "stage": "represent shards",
                    "done": state["done"],
                    "total": total,
                    "elapsed": round(time.time() - state["started"], 1),
                    "engine": self.spec.describe(),
                    "shards": {"done": state["done"], "total": total, "recent": state["recent"]},
                }
            )
            if self.show_progress:
                self.log(
                    f"[extract] {state['done']}/{total} {result['key']} in {result['seconds']:.1f}s "
                    f"on {result['worker']}"
                )

        return done

    def _merge(self, checkpoint: str, plans: dict, grad_splits: list[str]) -> list[dict]:
        """Every split's shards (checksums verified on read) scattered into the ordinary arrays; the shard
        files are dropped once the arrays are written, their records kept on the stage."""
        run, summary = self.run_, []
        for split, plan in plans.items():
            parts, meta, merged_keys = [], None, []
            for shard in plan.shards:
                key = keys.shard(split, checkpoint, shard.index)
                record = run.file_info(key)
                arrays = run.read_shard(key)
                parts.append((arrays.pop("rows"), arrays))
                meta = meta or record.meta.get("gradients")
                merged_keys.append(key)
                facts = {k: record.meta.get(k) for k in ("examples", "seconds", "worker")}
                summary.append({"key": key, "sha256": record.sha256, **facts})
            merged = merge_rows(len(self.dataset.split(split)), parts)
            self._write_outputs(split, checkpoint, merged)
            if split in grad_splits:
                self._write_gradients(split, checkpoint, merged, meta)
            run.forget_files(merged_keys)
        return summary
