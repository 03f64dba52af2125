"""Data-parallel reference fine-tuning: :func:`prune_core.train.train_reference` over ``world`` ranks.

Every rank walks the same seeded epoch order; each global batch of ``batch_size`` examples is dealt
out round-robin (rank ``r`` takes positions ``r, r + world, ...``), so the optimizer sees the same
batches, learning-rate schedule and clipping as one process. Each rank's loss is scaled so that DDP's
gradient average equals the gradient of the global batch mean. The dynamics recorder of each rank
fills its own examples; at the end of every epoch the ranks combine their columns and check that
every example was recorded exactly once (:func:`combine_epoch`). What still differs from one process
is float reduction order and each rank's own dropout masks (measured in ``tests/test_distributed_train.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import torch
import torch.nn.functional as F

from prune_core.models import autocast, resolve_precision
from prune_core.tokenize import collate
from prune_core.train import EpochEnd, TrainState, epoch_order, learning_rate, make_optimizer, steps_per_epoch


def rank_slice(batch: np.ndarray, rank: int, world: int) -> np.ndarray:
    """The examples of one global batch that ``rank`` trains on (round-robin, sizes differ by <= 1)."""
    return batch[rank::world]


def combine_epoch(columns: torch.Tensor, counts: torch.Tensor, epoch: int) -> torch.Tensor:
    """One field's epoch column summed over ranks (NaN where a rank did not record), checked: ``counts``
    (how many ranks recorded each example) must be exactly 1 everywhere."""
    if not bool(torch.all(counts == 1)):
        missing, twice = int((counts == 0).sum()), int((counts > 1).sum())
        raise RuntimeError(
            f"epoch {epoch + 1}: {missing} examples were recorded by no rank and {twice} by several; "
            "every example must be recorded exactly once per epoch"
        )
    return columns


def _all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def gather_dynamics(recorder, epoch: int) -> None:
    """Give every rank's recorder the whole epoch column of every field (each example once)."""
    fields = list(recorder.buffers)
    first = recorder.buffers[fields[0]][:, epoch]
    counts = _all_reduce((~torch.isnan(first)).to(torch.float32))
    for name in fields:
        column = recorder.buffers[name][:, epoch]
        total = _all_reduce(torch.nan_to_num(column, nan=0.0))
        recorder.buffers[name][:, epoch] = combine_epoch(total, counts, epoch)


def train_data_parallel(
    model,
    encoded,
    labels,
    config,
    device,
    *,
    optimizer=None,
    recorder=None,
    state=None,
    on_epoch_end=None,
    progress=None,
    max_steps=None,
    report=None,
    precision="auto",
    after_backward=None,
    task=None,
    rank: int = 0,
    world: int = 1,
) -> TrainState:
    """:func:`prune_core.train.train_reference`'s contract, data-parallel over an initialised process
    group. ``on_epoch_end``, ``progress`` and ``report`` are called on every rank with the global
    figures (the caller passes them on rank 0 only)."""
    config.validate()
    if max_steps is not None:
        raise ValueError("data-parallel training runs whole epochs (max_steps is for the evaluate stage)")
    if task is not None and task.name != "classification":
        raise ValueError("data-parallel training runs classification tasks (--engine local for generation)")
    if after_backward is not None:
        raise ValueError(
            "--grad-capture step needs one training worker (--train-workers 1): its hooks see one rank's "
            "examples only"
        )
    precision = resolve_precision(precision, device)
    state = state or TrainState()
    optimizer = optimizer or make_optimizer(model, config)
    n = len(encoded)
    total = steps_per_epoch(n, config.batch_size) * config.epochs
    label_tensor = torch.tensor(np.asarray(labels), dtype=torch.long, device=device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.to(device)
    ids = [device.index] if device.type == "cuda" else None
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    for epoch in range(state.epoch, config.epochs):
        started = time.perf_counter()
        torch.manual_seed(config.seed * 1000 + epoch)  # as one process; each rank draws its own masks
        ddp.train()
        order = epoch_order(n, config.seed, epoch)
        lr_sum, loss_sum, steps = 0.0, 0.0, 0
        for start in range(0, n, config.batch_size):
            batch_idx = order[start : start + config.batch_size]
            mine = rank_slice(batch_idx, rank, world)
            # A rank left without examples (a last batch smaller than the world) still takes part in
            # the gradient all-reduce, with one example weighted zero.
            weight = 1.0 if len(mine) else 0.0
            idx = mine if len(mine) else batch_idx[:1]
            batch = collate(encoded, idx, device)
            targets = label_tensor[idx]
            lr = learning_rate(state.step, total, config.lr, config.warmup_ratio)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(device, precision):
                logits = ddp(**batch).logits
            losses = F.cross_entropy(logits.float(), targets, reduction="none")
            # DDP averages gradients over ranks: scaled so the average is d(mean over the global batch).
            loss = losses.sum() * weight * world / len(batch_idx)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            if recorder is not None and len(mine):
                recorder.record(epoch, torch.as_tensor(mine, device=device), logits, targets, losses)
            batch_loss = _all_reduce((losses.detach().sum() * weight).reshape(1)) / len(batch_idx)
            state.step += 1
            steps += 1
            lr_sum += lr
            loss_sum += float(batch_loss)
            if progress is not None:
                progress(len(batch_idx))
            if report is not None:
                report(epoch=epoch + 1, epochs=config.epochs, loss=loss_sum / steps)
        if recorder is not None:
            gather_dynamics(recorder, epoch)
        state.epoch = epoch + 1
        end = EpochEnd(
            epoch=epoch + 1,
            step=state.step,
            mean_lr=lr_sum / max(steps, 1),
            seconds=time.perf_counter() - started,
            mean_loss=loss_sum / max(steps, 1),
        )
        state.history.append(asdict(end))
        if on_epoch_end is not None:
            on_epoch_end(end, optimizer)
    return state
