"""Per-example gradients over a parameter subset, batched with ``torch.func`` (never a batch-size-1 loop).

Which parameters: the LoRA adapters (+ the trained head) under LoRA, else the last transformer block and
everything after it (pooler, classifier) for full fine-tuning — Du et al. and LESS take gradients of the
trainable parameters; the last block keeps the cost near one training step.

How: ``vmap(grad(loss))`` over ``functional_call`` of the whole model, one example per vmapped call. Two
details make that work with transformers 5: the 2-D padding mask is turned
into the 4-D additive mask *outside* vmap (transformers builds masks with data-dependent control flow,
but passes a ready 4-D mask through unchanged), and attention runs in ``eager`` mode (SDPA has no batching
rule on CPU). Padding is masked, so a padded example's gradient equals its unpadded one (tested). Because
a ready 4-D mask is used as it is, for decoder-only models it must carry the causal mask too, or the
gradients would come from a model that sees future tokens (tested against a batch-size-1 loop).
The loss is the task's per-example loss (``prune_core/tasks``): cross-entropy on the label for
classification, mean response-token cross-entropy for generation.

LESS's Adam-preconditioned direction: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
g_adam = m' / sqrt(v' + eps), with no bias correction and eps inside the square root, exactly as LESS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

if TYPE_CHECKING:
    from prune_core.tasks import Task

from prune_core.models import ModelError, classification_head, is_decoder_only


def transformer_blocks(model: torch.nn.Module) -> tuple[str, torch.nn.ModuleList]:
    """The model's stack of transformer blocks: the longest ModuleList of same-type modules."""
    best = ("", None)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            if len({type(m) for m in module}) == 1 and (best[1] is None or len(module) > len(best[1])):
                best = (name, module)
    if best[1] is None:
        raise ModelError(f"{type(model).__name__}: no stack of transformer blocks found")
    return best


def gradient_parameter_names(model: torch.nn.Module, scope: str) -> list[str]:
    """Names of the parameters whose per-example gradients are taken, in registration order.

    ``trainable``: every trainable parameter (LoRA adapters + head). ``top``: the last transformer block
    and every parameter registered after it (pooler, classifier). ``head``: the final linear layer only.
    """
    named = list(model.named_parameters())
    if scope == "trainable":
        names = [n for n, p in named if p.requires_grad]
    elif scope == "top":
        prefix, blocks = transformer_blocks(model)
        last = f"{prefix}.{len(blocks) - 1}."
        first = next(i for i, (n, _) in enumerate(named) if n.startswith(last))
        names = [n for n, _ in named[first:]]
    elif scope == "head":
        head = classification_head(model)
        names = [n for n, p in named if p is head.weight or p is head.bias]
    else:
        raise ValueError(f"unknown gradient scope {scope!r} (expected 'trainable', 'top' or 'head')")
    if not names:
        raise ModelError(f"no parameters in gradient scope {scope!r} for {type(model).__name__}")
    return names


def additive_mask(
    attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32, *, causal: bool = False
) -> torch.Tensor:
    """[B, L] 0/1 padding mask -> [B, 1, L, L] additive mask (0 keep, dtype-min drop), built outside vmap.

    ``causal`` also drops every key after the query (decoder-only models). Padding is on the right, so
    every query row keeps at least position 0 and no row is all-dropped."""
    length = attention_mask.shape[1]
    keep = attention_mask[:, None, None, :].bool().expand(-1, 1, length, -1)
    if causal:
        keep = keep & torch.ones(length, length, dtype=torch.bool, device=keep.device).tril()
    mask = torch.zeros(keep.shape, dtype=dtype, device=attention_mask.device)
    return mask.masked_fill(~keep, torch.finfo(dtype).min)


class PerExampleGradients:
    """Computes flattened per-example gradients ``[B, P]`` of the task's loss for a parameter subset."""

    def __init__(
        self,
        model: torch.nn.Module,
        param_names: Iterable[str],
        *,
        chunk_size: int | None = None,
        task: Task | None = None,
    ):
        from prune_core.tasks import CLASSIFICATION

        self.model = model
        self.task = task or CLASSIFICATION
        self.causal = is_decoder_only(model)
        self.names = list(param_names)
        named = dict(model.named_parameters())
        missing = [n for n in self.names if n not in named]
        if missing:
            raise ModelError(f"parameters not found in the model: {missing[:3]}")
        self.sizes = [named[n].numel() for n in self.names]
        self.num_params = sum(self.sizes)
        self.chunk_size = chunk_size
        self._eager_attention()

    def _eager_attention(self) -> None:
        base = getattr(self.model, "get_base_model", lambda: self.model)()
        if getattr(base.config, "_attn_implementation", "eager") != "eager":
            base.set_attn_implementation("eager")

    def __call__(self, batch: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        return self.with_outputs(batch, labels, outputs=False)[0]

    def with_outputs(
        self, batch: dict[str, torch.Tensor], labels: torch.Tensor, *, outputs: bool = True, flat: bool = True
    ) -> tuple[torch.Tensor | list[torch.Tensor], dict[str, torch.Tensor]]:
        """Gradients ``[B, P]`` and, from the same forward pass, eval-mode per-example ``loss`` [B],
        ``last_hidden`` [B, L, H] and, for classification, ``logits`` [B, C] and ``head_input`` (the final
        linear layer's input) — so a checkpoint with gradient features needs no separate forward pass for
        its other representations.

        ``flat=False`` returns one ``[B, numel]`` view per parameter instead of their concatenation (the
        copy into one [B, P] matrix was a sixth of the gradient pass on CPU)."""
        model = self.model
        named = dict(model.named_parameters())
        params = {n: named[n].detach() for n in self.names}
        constants = {n: p.detach() for n, p in named.items() if n not in params}
        constants.update(dict(model.named_buffers()))
        task = self.task
        extra = {k: v for k, v in batch.items() if k not in ("input_ids", "attention_mask")}
        extra.update(task.forward_kwargs(model, labels))  # per-example rows, like the inputs
        captured: list[torch.Tensor] = []
        head = task.head(model)
        hook = head.register_forward_hook(lambda _m, args, _o: captured.append(args[0])) if head else None

        def loss_of_one(p, input_ids, mask4, label, extras):
            kwargs = {
                "input_ids": input_ids[None],
                "attention_mask": mask4[None],
                "output_hidden_states": outputs,
            }
            kwargs.update({k: v[None] for k, v in extras.items()})
            result = functional_call(model, (p, constants), args=(), kwargs=kwargs)
            logits = result.logits.float()
            loss = task.per_example_loss(logits, label[None])[0]
            aux = {}
            if outputs:
                aux = {"loss": loss.detach(), "last_hidden": result.hidden_states[-1][0]}
                if task.has_class_logits:
                    aux |= {"logits": logits[0], "head_input": captured[-1][0]}
            return loss, aux

        mask4 = additive_mask(batch["attention_mask"], causal=self.causal)
        was_training = model.training
        model.eval()  # per-example gradients are taken without dropout
        try:
            grads, aux = vmap(
                grad(loss_of_one, has_aux=True), in_dims=(None, 0, 0, 0, 0), chunk_size=self.chunk_size
            )(params, batch["input_ids"], mask4, labels, extra)
        finally:
            if hook is not None:
                hook.remove()
            model.train(was_training)
        blocks = [grads[n].reshape(len(labels), -1).float() for n in self.names]
        return (torch.cat(blocks, dim=1) if flat else blocks), dict(aux)


def head_gradients(
    head_input: torch.Tensor, probs: torch.Tensor, labels: torch.Tensor, with_bias: bool = True
) -> torch.Tensor:
    """Closed-form per-example gradients of the final linear layer: (p - onehot(y)) outer [x, 1].

    The layout matches ``torch.cat([dW.flatten(), db])`` so it can replace the vmapped path for any model.
    """
    delta = probs.float() - F.one_hot(labels, probs.shape[1]).float()
    weight = (delta[:, :, None] * head_input.float()[:, None, :]).reshape(len(labels), -1)
    return torch.cat([weight, delta], dim=1) if with_bias else weight


def adam_direction(
    grads: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    *,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> torch.Tensor:
    """LESS's Adam update direction for each row of ``grads`` given the checkpoint's optimizer moments.

    Written as fused in-place ops (addcmul, rsqrt_): the plain formula makes ~8 passes over B x P floats
    and was 3x slower on CPU.
    """
    inv_sqrt_v = torch.addcmul(beta2 * exp_avg_sq + eps, grads, grads, value=1 - beta2).rsqrt_()
    return torch.add(beta1 * exp_avg, grads, alpha=1 - beta1).mul_(inv_sqrt_v)


def project_with_adam(
    grads: torch.Tensor | list[torch.Tensor],
    projector,
    exp_avg: torch.Tensor | None = None,
    exp_avg_sq: torch.Tensor | None = None,
    **adam: float,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Project gradients and (given Adam moments) their Adam directions in one cache-friendly sweep.

    ``grads`` is a [B, P] matrix or its column blocks in order (one per parameter), never concatenated.
    """
    blocks = [grads] if isinstance(grads, torch.Tensor) else list(grads)
    rows = blocks[0].shape[0]
    sgd = projector.empty(rows)
    pre = projector.empty(rows) if exp_avg is not None else None
    offset = 0
    for block in blocks:
        for local in range(0, block.shape[1], projector.chunk):
            chunk = block[:, local : local + projector.chunk]
            start, stop = offset + local, offset + local + chunk.shape[1]
            projector.accumulate(sgd, chunk, start)
            if pre is not None:
                direction = adam_direction(chunk, exp_avg[start:stop], exp_avg_sq[start:stop], **adam)
                projector.accumulate(pre, direction, start)
        offset += block.shape[1]
    return sgd, pre
