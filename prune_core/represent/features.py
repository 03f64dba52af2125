"""Representations of every example at one checkpoint: eval-mode outputs, hidden states, gradients.

- :func:`forward_features`: one batched eval-mode pass giving the task's per-example outputs
  (``Task.outputs``): for classification logits, loss, the last-layer hidden state pooled at the first
  token (Du et al.'s [CLS]; the last real token for decoder-only models) and by mean pooling, and the
  input of the final linear layer (for last-layer influence); for generation the mean response-token
  loss, the response-token count, the last prompt token's state and the mean over response tokens.
- :func:`gradient_features`: per-example gradients of a parameter subset (``gradients.py``), their exact
  norms (GraNd), and their projections — plain (SGD) and, given the checkpoint's Adam moments, LESS's
  Adam-preconditioned direction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from prune_core.models import is_decoder_only
from prune_core.represent.gradients import PerExampleGradients, project_with_adam
from prune_core.represent.projection import Projector
from prune_core.represent.step_capture import StepCapture, batched_projected_gradients
from prune_core.tasks import CLASSIFICATION, Task
from prune_core.tokenize import Encoded, length_sorted_batches

__all__ = ["forward_features", "gradient_features", "is_decoder_only"]


def _put(out: dict[str, np.ndarray], n: int, idx: np.ndarray, values: dict[str, torch.Tensor]) -> None:
    """Write one batch's rows (in length-sorted order) into the full [n, ...] arrays."""
    for name, value in values.items():
        if name not in out:
            out[name] = np.zeros((n, *value.shape[1:]), dtype=np.float32)
        out[name][idx] = value.detach().cpu().numpy()


@torch.no_grad()
def forward_features(
    model: torch.nn.Module,
    encoded: Encoded,
    labels: np.ndarray,
    device: torch.device,
    *,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
    task: Task = CLASSIFICATION,
) -> dict[str, np.ndarray]:
    """The task's eval-mode outputs (classification: logits [n, C], loss [n], hidden_cls / hidden_mean
    [n, H] and head_input [n, H']; generation: loss, tokens, hidden_cls, hidden_mean).

    Always in float32, whatever precision the model was trained in: the gradient pass (which also
    yields these outputs at gradient checkpoints) is float32, and checkpoints stacked into one
    representation (the eval-loss trajectory) must not mix precisions. Batches run longest first, so a
    batch size too large for the device fails at once rather than at the end."""
    model.eval().to(device)
    captured: list[torch.Tensor] = []
    head = task.head(model)
    hook = head.register_forward_hook(lambda _m, args, _o: captured.append(args[0])) if head else None
    decoder_only = is_decoder_only(model)
    out: dict[str, np.ndarray] = {}
    try:
        for idx in reversed(length_sorted_batches(encoded, batch_size)):
            batch, targets = task.batch(encoded, labels, idx, device)
            captured.clear()
            result = model(**batch, **task.forward_kwargs(model, targets), output_hidden_states=True)
            values = task.outputs(
                result.logits,
                result.hidden_states[-1],
                captured[-1] if head else None,
                batch,
                targets,
                decoder_only=decoder_only,
            )
            _put(out, len(encoded), idx, values)
            if progress is not None:
                progress(len(idx))
    finally:
        if hook is not None:
            hook.remove()
    return out


def gradient_features(
    model: torch.nn.Module,
    param_names: list[str],
    encoded: Encoded,
    labels: np.ndarray,
    projector: Projector,
    device: torch.device,
    *,
    batch_size: int = 16,
    adam_moments: tuple[torch.Tensor, torch.Tensor] | None = None,
    adam_betas: tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-8,
    with_outputs: bool = False,
    progress: Callable[[int], None] | None = None,
    task: Task = CLASSIFICATION,
) -> dict[str, np.ndarray]:
    """Projected per-example gradients ``sgd`` [n, d] (+ ``adam`` [n, d]) and exact norms ``norm`` [n].

    ``with_outputs`` also returns what :func:`forward_features` would, from the gradient pass's own
    forward (saving a whole forward pass at checkpoints that have gradient features).
    """
    model.to(device)
    compute = PerExampleGradients(model, param_names, task=task)
    if projector.spec.input_dim != compute.num_params:
        raise ValueError(
            f"projector expects {projector.spec.input_dim} gradient entries, "
            f"the parameter subset has {compute.num_params}"
        )
    n, d = len(encoded), projector.spec.dim
    out = {"sgd": np.zeros((n, d), np.float32), "norm": np.zeros(n, np.float32)}
    if adam_moments is not None:
        out["adam"] = np.zeros((n, d), np.float32)
        exp_avg, exp_avg_sq = (t.to(device, torch.float32) for t in adam_moments)
    decoder_only = is_decoder_only(model)
    for idx in reversed(length_sorted_batches(encoded, batch_size)):  # longest first: fail fast on memory
        batch, targets = task.batch(encoded, labels, idx, device)
        blocks, outputs = compute.with_outputs(batch, targets, outputs=with_outputs, flat=False)
        if with_outputs:
            values = task.outputs(
                outputs.get("logits"),
                outputs["last_hidden"],
                outputs.get("head_input"),
                batch,
                targets,
                decoder_only=decoder_only,
                losses=outputs["loss"],
            )
            _put(out, n, idx, values)
        norms = torch.stack([torch.linalg.vector_norm(b, dim=1) for b in blocks])  # no copy of the blocks
        out["norm"][idx] = torch.linalg.vector_norm(norms, dim=0).cpu().numpy()
        moments = (exp_avg, exp_avg_sq) if adam_moments is not None else (None, None)
        sgd, adam = project_with_adam(
            blocks, projector, *moments, beta1=adam_betas[0], beta2=adam_betas[1], eps=adam_eps
        )
        out["sgd"][idx] = sgd.cpu().numpy()
        if adam is not None:
            out["adam"][idx] = adam.cpu().numpy()
        if progress is not None:
            progress(len(idx))
    return out


def capture_features(
    model: torch.nn.Module,
    capture: StepCapture,
    encoded: Encoded,
    labels: np.ndarray,
    device: torch.device,
    *,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
    task: Task = CLASSIFICATION,
) -> dict[str, np.ndarray]:
    """Eval-mode outputs (as :func:`forward_features`) and the step capture's projected gradients
    ``sgd`` [n, d] with exact norms ``norm`` [n], from one batched forward and one backward of the summed
    per-example losses per batch (``step_capture.batched_projected_gradients``). Only the capture's scope
    takes gradients during the pass, so for a top-of-model scope the backward stops there. The loss is the
    task's per-example loss (``prune_core/tasks``)."""
    model.eval().to(device)
    named = dict(model.named_parameters())
    scope = set(capture.param_names)
    trainable = {name: p.requires_grad for name, p in named.items()}
    heads: list[torch.Tensor] = []
    head = task.head(model)
    hook = head.register_forward_hook(lambda _m, args, _o: heads.append(args[0])) if head else None
    decoder_only = is_decoder_only(model)
    out: dict[str, np.ndarray] = {}
    kept: dict[str, object] = {}

    def batches():
        for idx in reversed(length_sorted_batches(encoded, batch_size)):  # longest first: fail fast
            yield (idx, *task.batch(encoded, labels, idx, device))

    def losses(item):
        _idx, batch, targets = item
        heads.clear()
        result = model(**batch, **task.forward_kwargs(model, targets), output_hidden_states=True)
        per_example = task.per_example_loss(result.logits.float(), targets)
        kept["values"] = task.outputs(
            result.logits.detach(),
            result.hidden_states[-1].detach(),
            heads[-1].detach() if head else None,
            batch,
            targets,
            decoder_only=decoder_only,
            losses=per_example.detach(),
        )
        return per_example

    def store(item, captured):
        idx = item[0]
        _put(out, len(encoded), idx, {**kept.pop("values"), "sgd": captured.sgd, "norm": captured.norm})
        if progress is not None:
            progress(len(idx))

    try:
        for name, p in named.items():
            p.requires_grad_(name in scope)
        with capture, torch.enable_grad():
            batched_projected_gradients(capture, batches(), losses, on_batch=store)
    finally:
        if hook is not None:
            hook.remove()
        for name, p in named.items():
            p.requires_grad_(trainable[name])
            p.grad = None
    return out
