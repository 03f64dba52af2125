"""Reference fine-tuning that records per-example training dynamics for free.

AdamW with linear warm-up and linear decay (Du et al.'s reference set-up), full
fine-tuning or LoRA. While training, :class:`DynamicsRecorder` reads the logits the training step already
computed (train mode, before the update, as Du et al.'s TrainingDynamicTrainer) and keeps
for every example at every presentation the gold-label probability, the loss, the logit margin (AUM), the
probability margin (CCS) and correctness (forgetting) — no extra forward pass. Each epoch is seeded on its own (data order and dropout),
so training resumed from an epoch checkpoint reproduces an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from prune_core.models import autocast, resolve_precision
from prune_core.tasks import CLASSIFICATION, Task
from prune_core.tokenize import Encoded


@dataclass
class TrainConfig:
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_targets: list[str] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1 or self.max_length < 8:
            raise ValueError(
                f"batch size must be >= 1 and max length >= 8, got {self.batch_size}, {self.max_length}"
            )
        if not (0 < self.lr < 1):
            raise ValueError(f"learning rate must be in (0, 1), got {self.lr}")


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def learning_rate(step: int, total_steps: int, peak: float, warmup_ratio: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_ratio`` of the steps, then linear decay to 0."""
    warmup = int(round(warmup_ratio * total_steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The example order of one epoch: a permutation seeded by (seed, epoch), independent of history."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class DynamicsRecorder:
    """Per-example, per-epoch training dynamics captured from the training step's own logits.

    ``fields`` are the task's (``Task.dynamics_fields``): all five for classification; for generation
    only ``p_gold`` and ``loss`` (there is no class margin or correctness to read off a sequence)."""

    FIELDS = ("p_gold", "loss", "margin", "prob_margin", "correct")

    def __init__(
        self, n: int, epochs: int, device: torch.device | str = "cpu", fields: tuple[str, ...] = FIELDS
    ):
        self.buffers = {name: torch.full((n, epochs), float("nan"), device=device) for name in fields}

    @torch.no_grad()
    def record_losses(self, epoch: int, indices: torch.Tensor, losses: torch.Tensor) -> None:
        """Sequence tasks: the loss, and p_gold = exp(-loss) (the geometric mean token probability)."""
        losses = losses.detach().float()
        self.buffers["loss"][indices, epoch] = losses
        self.buffers["p_gold"][indices, epoch] = torch.exp(-losses)

    @torch.no_grad()
    def record(
        self,
        epoch: int,
        indices: torch.Tensor,
        logits: torch.Tensor,
        labels: torch.Tensor,
        losses: torch.Tensor,
    ) -> None:
        logits = logits.detach().float()
        gold = logits.gather(1, labels[:, None]).squeeze(1)
        others = logits.scatter(1, labels[:, None], float("-inf"))
        probs = torch.softmax(logits, dim=1)
        p_gold = probs.gather(1, labels[:, None]).squeeze(1)
        self.buffers["p_gold"][indices, epoch] = p_gold
        # CCS's accumulated margin: gold probability minus the largest other probability
        self.buffers["prob_margin"][indices, epoch] = (
            p_gold - probs.scatter(1, labels[:, None], float("-inf")).max(dim=1).values
        )
        self.buffers["loss"][indices, epoch] = losses.detach().float()
        self.buffers["margin"][indices, epoch] = gold - others.max(dim=1).values
        self.buffers["correct"][indices, epoch] = (logits.argmax(dim=1) == labels).float()

    def arrays(self) -> dict[str, np.ndarray]:
        out = {name: buf.cpu().numpy().astype(np.float32) for name, buf in self.buffers.items()}
        if "correct" in out:
            out["correct"] = np.nan_to_num(out["correct"]).astype(np.uint8)
        return out

    def load(self, arrays: dict[str, torch.Tensor]) -> None:
        for name, value in arrays.items():
            self.buffers[name].copy_(value.to(self.buffers[name].device, torch.float32))


@dataclass
class EpochEnd:
    """What ``train_reference`` hands to its epoch callback (to checkpoint, log or stop)."""

    epoch: int  # 1-based number of the epoch just finished
    step: int  # global optimizer steps so far
    mean_lr: float  # mean learning rate over this epoch's steps (LESS weights checkpoints by it)
    seconds: float
    mean_loss: float


@dataclass
class TrainState:
    """Where training stands; restored from a checkpoint to resume."""

    epoch: int = 0
    step: int = 0
    history: list[dict] = field(default_factory=list)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def train_reference(
    model: torch.nn.Module,
    encoded: Encoded,
    labels: np.ndarray,
    config: TrainConfig,
    device: torch.device,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    recorder: DynamicsRecorder | None = None,
    state: TrainState | None = None,
    on_epoch_end: Callable[[EpochEnd, torch.optim.Optimizer], None] | None = None,
    progress: Callable[[int], None] | None = None,
    max_steps: int | None = None,
    report: Callable[..., None] | None = None,
    precision: str = "auto",
    task: Task = CLASSIFICATION,
    after_backward: Callable[[int, np.ndarray, torch.optim.Optimizer], None] | None = None,
) -> TrainState:
    """Fine-tune ``model`` in place for ``config.epochs`` epochs (from ``state.epoch`` when resuming).

    With ``recorder=None`` this is a plain fine-tune (the benchmark's baseline and the evaluate stage).
    ``max_steps`` trains for exactly that many optimizer steps instead, repeating epochs over the data
    as often as needed (the last one cut short); the learning-rate schedule spans those steps.
    ``progress(examples)`` counts examples trained; ``report(epoch=, epochs=, loss=)`` gets the 1-based
    epoch and the running mean loss of that epoch after every step (a progress bar's title and postfix).
    ``precision`` (``auto``/``fp32``/``bf16``, see ``models.resolve_precision``) sets the forward pass's
    autocast; the loss, the optimizer and the recorded dynamics are float32 either way.
    ``task`` (``prune_core/tasks``) supplies the batches and the per-example loss: cross-entropy on the
    label for classification, mean response-token cross-entropy for generation.
    ``after_backward(epoch, indices, optimizer)`` runs after each step's backward pass and before its
    clipping and update (0-based epoch, the batch's example indices): where step gradient capture reads
    the hooks' captures and the optimizer's moments as they stand before the update.
    """
    config.validate()
    precision = resolve_precision(precision, device)
    state = state or TrainState()
    optimizer = optimizer or make_optimizer(model, config)
    n = len(encoded)
    per_epoch = steps_per_epoch(n, config.batch_size)
    if max_steps is not None and int(max_steps) < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    total = per_epoch * config.epochs if max_steps is None else int(max_steps)
    epochs = config.epochs if max_steps is None else math.ceil(total / per_epoch)
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.to(device)

    for epoch in range(state.epoch, epochs):
        started = time.perf_counter()
        torch.manual_seed(config.seed * 1000 + epoch)  # dropout of this epoch, independent of history
        model.train()
        order = epoch_order(n, config.seed, epoch)
        lr_sum, loss_sum, steps = 0.0, 0.0, 0
        for start in range(0, n, config.batch_size):
            if state.step >= total:
                break  # steps-matched training: the last repeated epoch stops at the step budget
            idx = order[start : start + config.batch_size]
            batch, targets = task.batch(encoded, labels, idx, device)
            lr = learning_rate(state.step, total, config.lr, config.warmup_ratio)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(device, precision):
                logits = model(**batch, **task.forward_kwargs(model, targets)).logits
            losses = task.per_example_loss(logits.float(), targets)
            loss = losses.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if after_backward is not None:
                after_backward(epoch, idx, optimizer)
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            if recorder is not None:
                task.record(recorder, epoch, torch.as_tensor(idx, device=device), logits, targets, losses)
            state.step += 1
            steps += 1
            lr_sum += lr
            loss_sum += float(loss.detach())
            if progress is not None:
                progress(len(idx))
            if report is not None:
                report(epoch=epoch + 1, epochs=epochs, loss=loss_sum / steps)
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
