"""The reference fine-tune under Ray Train's ``TorchTrainer``.

Every worker opens the run from the store and builds the model, optimizer and dynamics recorder
exactly as :class:`prune_core.pipeline.Compute` does (resuming from the last complete epoch the same
way). Rank 0 runs ``Compute``'s own training stage body — the same checkpoints, dynamics arrays and
manifest entries as the local engine — with the data-parallel loop of ``ddp.py`` swapped in when there
is more than one worker; the other ranks run that loop beside it. One worker therefore reproduces the
local run exactly (``tests/test_distributed_train.py``).
"""

from __future__ import annotations

import functools
import tempfile

import torch

from prune_core.data import Dataset
from prune_core.distributed.ddp import train_data_parallel
from prune_core.pipeline import Compute, epoch_checkpoint
from prune_core.store import Run
from prune_core.tasks import get_task
from prune_core.train import DynamicsRecorder, make_optimizer


class WorkerCompute(Compute):
    """``Compute``'s training stage inside one Ray Train worker (rank ``rank`` of ``world``)."""

    def __init__(self, config, run: Run, device: torch.device, precision: str, rank: int, world: int):
        self.config, self.store, self.show_progress, self.log = config, None, False, lambda _m: None
        self.device, self.precision, self.rank, self.world = device, precision, rank, world
        self.run_ = run
        self.task = get_task(config.dataset.task)
        self.dataset = Dataset(run.examples(), run.label_names, run.dataset.fingerprint, run.dataset.sources)
        self._sizes = None
        if world > 1:
            self.train_loop = functools.partial(train_data_parallel, rank=rank, world=world)

    def follow(self) -> None:
        """A rank other than 0: the same model, optimizer, recorder and resume point as rank 0, trained
        in step with it; rank 0 alone writes to the run."""
        cfg = self.config.train
        resume_from = self._last_complete_epoch()
        model = self._build_model(epoch_checkpoint(resume_from) if resume_from else None)
        encoded, labels = self._encoded("train")
        optimizer = make_optimizer(model, cfg)
        recorder = DynamicsRecorder(len(encoded), cfg.epochs, self.device)
        state = self._restore(resume_from, model, optimizer, recorder) if resume_from else None
        self.train_loop(
            model,
            encoded,
            labels,
            cfg,
            self.device,
            optimizer=optimizer,
            recorder=recorder,
            state=state,
            precision=self.precision,
        )


def train_worker(setup: dict) -> None:
    """The loop each Ray Train worker runs (``train_loop_per_worker``)."""
    import ray.train
    import ray.train.torch

    from prune_core.reproducibility import deterministic

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    if isinstance(device, list):
        device = device[0]
    if setup.get("threads"):
        torch.set_num_threads(setup["threads"])
    compute = WorkerCompute(setup["config"], Run(setup["run_path"]), device, setup["precision"], rank, world)
    with deterministic(device):
        if rank == 0:
            compute._train_stage()
        else:
            compute.follow()


def train_on_ray(run: Run, config, spec, precision: str, workers: int, threads: int | None = None) -> None:
    """Fine-tune on ``workers`` Ray Train workers (DDP over gloo on CPUs, NCCL on GPUs)."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    use_gpu = bool(spec.gpus)
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={
            "config": config,
            "run_path": str(run.path),
            "precision": precision,
            "threads": threads,
        },
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=workers, use_gpu=use_gpu, resources_per_worker={"GPU": 1} if use_gpu else {"CPU": 1}
        ),
        # Ray Train's own run records (no model checkpoints: those go to the run store).
        run_config=RunConfig(name=f"prunescope-{run.id}", storage_path=tempfile.gettempdir()),
    )
    trainer.fit()
