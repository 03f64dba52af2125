"""Representations of every example at one checkpoint: eval-mode outputs, hidden states, gradients.

- :func:`forward_features`: one batched eval-mode pass giving logits, per-example loss, the last-layer
  hidden state pooled at the first token (Du et al.'s [CLS]; the last real token for decoder-only models)
  and by mean pooling, and the input of the final linear layer (for last-layer influence).
- :func:`gradient_features`: per-example gradients of a parameter subset (``gradients.py``), their exact
  norms (GraNd), and their projections — plain (SGD) and, given the checkpoint's Adam moments, LESS's
  Adam-preconditioned direction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from prune_core.models import classification_head
from prune_core.represent.gradients import PerExampleGradients, project_with_adam
from prune_core.represent.projection import Projector
from prune_core.represent.step_capture import StepCapture, batched_projected_gradients
from prune_core.tokenize import Encoded, collate, length_sorted_batches


def _pool(hidden: torch.Tensor, mask: torch.Tensor, decoder_only: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """First-token (last real token for decoder-only models) and mean pooling of [B, L, H] states."""
    if decoder_only:
        last = mask.sum(dim=1) - 1
        first = hidden[torch.arange(hidden.shape[0]), last]
    else:
        first = hidden[:, 0]
    weights = mask[:, :, None].to(hidden.dtype)
    mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
    return first, mean


_DECODER_ONLY_TYPES = {
    "gpt2",
    "gpt_neo",
    "gpt_neox",
    "gptj",
    "opt",
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "phi",
    "phi3",
    "gemma",
    "gemma2",
    "bloom",
    "falcon",
}


def is_decoder_only(model: torch.nn.Module) -> bool:
    """Decoder-only models read a sequence left to right, so their summary token is the last real one."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    return (
        bool(getattr(config, "is_decoder", False)) or getattr(config, "model_type", "") in _DECODER_ONLY_TYPES
    )


def _output_values(
    logits: torch.Tensor,
    last_hidden: torch.Tensor,
    head_in: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    decoder_only: bool,
) -> dict[str, torch.Tensor]:
    """The per-example outputs stored at every checkpoint, from one forward pass's tensors."""
    logits = logits.float()
    first, mean = _pool(last_hidden.float(), mask, decoder_only)
    head_in = head_in.float()
    if head_in.dim() == 3:  # heads that pool inside (e.g. decoder-only "score" layers see every token)
        head_in, _ = _pool(head_in, mask, True)
    return {
        "logits": logits,
        "loss": F.cross_entropy(logits, labels, reduction="none"),
        "hidden_cls": first,
        "hidden_mean": mean,
        "head_input": head_in,
    }


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
) -> dict[str, np.ndarray]:
    """Eval-mode logits [n, C], loss [n], hidden_cls / hidden_mean [n, H] and head_input [n, H'].

    Always in float32, whatever precision the model was trained in: the gradient pass (which also
    yields these outputs at gradient checkpoints) is float32, and checkpoints stacked into one
    representation (the eval-loss trajectory) must not mix precisions. Batches run longest first, so a
    batch size too large for the device fails at once rather than at the end."""
    model.eval().to(device)
    captured: list[torch.Tensor] = []
    hook = classification_head(model).register_forward_hook(lambda _m, args, _o: captured.append(args[0]))
    decoder_only = is_decoder_only(model)
    out: dict[str, np.ndarray] = {}
    label_tensor = torch.tensor(np.asarray(labels), dtype=torch.long)
    try:
        for idx in reversed(length_sorted_batches(encoded, batch_size)):
            batch = collate(encoded, idx, device)
            captured.clear()
            result = model(**batch, output_hidden_states=True)
            _put(
                out,
                len(encoded),
                idx,
                _output_values(
                    result.logits,
                    result.hidden_states[-1],
                    captured[-1],
                    batch["attention_mask"],
                    label_tensor[idx].to(device),
                    decoder_only,
                ),
            )
            if progress is not None:
                progress(len(idx))
    finally:
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
) -> dict[str, np.ndarray]:
    """Projected per-example gradients ``sgd`` [n, d] (+ ``adam`` [n, d]) and exact norms ``norm`` [n].

    ``with_outputs`` also returns what :func:`forward_features` would, from the gradient pass's own
    forward (saving a whole forward pass at checkpoints that have gradient features).
    """
    model.to(device)
    compute = PerExampleGradients(model, param_names)
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
    label_tensor = torch.tensor(np.asarray(labels), dtype=torch.long)
    decoder_only = is_decoder_only(model)
    for idx in reversed(length_sorted_batches(encoded, batch_size)):  # longest first: fail fast on memory
        batch = collate(encoded, idx, device)
        targets = label_tensor[idx].to(device)
        blocks, outputs = compute.with_outputs(batch, targets, outputs=with_outputs, flat=False)
        if with_outputs:
            _put(
                out,
                n,
                idx,
                _output_values(
                    outputs["logits"],
                    outputs["last_hidden"],
                    outputs["head_input"],
                    batch["attention_mask"],
                    targets,
                    decoder_only,
                ),
            )
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
) -> dict[str, np.ndarray]:
    """Eval-mode outputs (as :func:`forward_features`) and the step capture's projected gradients
    ``sgd`` [n, d] with exact norms ``norm`` [n], from one batched forward and one backward of the summed
    per-example losses per batch (``step_capture.batched_projected_gradients``). Only the capture's scope
    takes gradients during the pass, so for a top-of-model scope the backward stops there."""
    model.eval().to(device)
    named = dict(model.named_parameters())
    scope = set(capture.param_names)
    trainable = {name: p.requires_grad for name, p in named.items()}
    heads: list[torch.Tensor] = []
    hook = classification_head(model).register_forward_hook(lambda _m, args, _o: heads.append(args[0]))
    decoder_only = is_decoder_only(model)
    label_tensor = torch.tensor(np.asarray(labels), dtype=torch.long)
    out: dict[str, np.ndarray] = {}
    kept: dict[str, object] = {}

    def batches():
        for idx in reversed(length_sorted_batches(encoded, batch_size)):  # longest first: fail fast
            yield idx, collate(encoded, idx, device), label_tensor[idx].to(device)

    def losses(item):
        _idx, batch, targets = item
        heads.clear()
        result = model(**batch, output_hidden_states=True)
        kept["values"] = _output_values(
            result.logits.detach(),
            result.hidden_states[-1].detach(),
            heads[-1].detach(),
            batch["attention_mask"],
            targets,
            decoder_only,
        )
        return F.cross_entropy(result.logits.float(), targets, reduction="none")

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
        hook.remove()
        for name, p in named.items():
            p.requires_grad_(trainable[name])
            p.grad = None
    return out
