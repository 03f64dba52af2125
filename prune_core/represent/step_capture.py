"""Per-example projected gradients captured by hooks inside an ordinary batched backward pass.

Forward hooks on the gradient scope's linear layers (``nn.Linear`` and transformers' ``Conv1D``) keep each
layer's input x_t; a hook on the layer's output tensor keeps the loss gradient g_t arriving there in the
backward pass. Both are already computed by the training step, so an example's projected gradient costs
two thin matmuls per layer (``factored.py``, LoGra: Choe et al. 2024) and the per-example gradient is never
formed — except for LESS's Adam direction, which is elementwise and needs it (materialised a few examples
at a time, ``factored.adam_projected_blocks``). Normalisation layers in the scope (``nn.LayerNorm``) are
small and captured exactly: weight gradient sum_t g_t * xhat_t, bias gradient sum_t g_t.

Nothing here knows the model or the loss. What the caller provides:

- a batched backward of a loss whose gradient with respect to example i's outputs is ``c_i`` times that
  of example i's own loss. The training step's loss is the batch *mean*, so c_i = 1 / B and the captured
  output gradients are multiplied back by B (``scale``); a loss averaged over all tokens of a batch (decoder
  language models) gives c_i = n_i / N instead. A backward of the *sum* of per-example losses
  (:func:`batched_projected_gradients`, used for validation) has c_i = 1.
- the batch dimension first in every hooked layer's input ([B, ..., features]), as transformers models do.

Captures are float32 whatever the autocast precision of the forward pass. Each example must be the only
thing that reaches its own rows (no batch normalisation) for the captured gradient to be its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from prune_core.models import ModelError
from prune_core.represent.factored import (
    DEFAULT_FACTOR_DIM,
    FactoredProjection,
    LayerSpec,
    adam_projected_blocks,
    factored_norms_sq,
)
from prune_core.represent.gradients import adam_direction


def _is_conv1d(module: torch.nn.Module) -> bool:
    # transformers' Conv1D (GPT-2 family): y = x W + b with W stored [in, out]
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def scope_layers(
    model: torch.nn.Module, param_names: Iterable[str]
) -> list[tuple[LayerSpec, torch.nn.Module]]:
    """The modules owning the scope's parameters, in the scope's order, each with its ``LayerSpec``.

    Raises ``ModelError`` naming a parameter whose module cannot be captured (only linear and LayerNorm
    layers can; use ``--grad-capture checkpoint`` for other scopes)."""
    modules = dict(model.named_modules())
    found: dict[str, dict] = {}
    for name in param_names:
        owner, _, attr = name.rpartition(".")
        module = modules.get(owner)
        if module is None or attr not in ("weight", "bias"):
            raise ModelError(
                f"step gradient capture cannot hook parameter {name!r}; use --grad-capture checkpoint"
            )
        found.setdefault(owner, {"module": module})[attr] = name
    layers = []
    for owner, entry in found.items():
        module = entry["module"]
        if isinstance(module, torch.nn.Linear):
            spec = LayerSpec(
                owner,
                "linear",
                module.out_features,
                module.in_features,
                entry.get("weight"),
                entry.get("bias"),
            )
        elif _is_conv1d(module):
            rows, cols = module.weight.shape
            spec = LayerSpec(
                owner, "linear", cols, rows, entry.get("weight"), entry.get("bias"), transposed=True
            )
        elif isinstance(module, torch.nn.LayerNorm):
            size = int(torch.Size(module.normalized_shape).numel())
            spec = LayerSpec(owner, "norm", size, size, entry.get("weight"), entry.get("bias"))
        else:
            raise ModelError(
                f"step gradient capture supports linear and LayerNorm layers; {owner!r} is a "
                f"{type(module).__name__}: use --grad-capture checkpoint for this gradient scope"
            )
        layers.append((spec, module))
    return layers


@dataclass
class Captured:
    """One batch's per-example results (float32, on the capture's device)."""

    sgd: torch.Tensor  # [B, d] projected gradients
    norm: torch.Tensor  # [B] exact gradient norms over the scope
    adam: torch.Tensor | None = None  # [B, d] projected Adam directions (LESS), when moments were given


class StepCapture:
    """Hooks a model's gradient scope; use as a context manager around the forward and backward passes.

    ``collect(scale, moments)`` after ``backward()`` turns what the hooks saw into :class:`Captured` and
    forgets it. Hooks record only while :attr:`active` is true (e.g. only in epochs that need gradients).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        param_names: list[str],
        dim: int,
        seed: int,
        *,
        factor_dim: int = DEFAULT_FACTOR_DIM,
        mixer: str = "auto",
        device: torch.device | str = "cpu",
        reuse: FactoredProjection | None = None,
    ):
        self.model = model
        self.param_names = list(param_names)
        pairs = scope_layers(model, self.param_names)
        self.modules = [module for _, module in pairs]
        specs = [spec for spec, _ in pairs]
        if reuse is not None and reuse.matches(specs, dim, seed, factor_dim, mixer, device):
            self.projection = reuse  # a pure function of these arguments: building it again is waste
        else:
            self.projection = FactoredProjection(
                specs, dim, seed, factor_dim=factor_dim, mixer=mixer, device=device
            )
        self.active = True
        self._handles: list = []
        self._inputs: list[list[torch.Tensor]] = [[] for _ in self.modules]
        self._grads: list[dict[int, torch.Tensor]] = [{} for _ in self.modules]

    # -------------------------------------------------------------- hooks
    def __enter__(self) -> StepCapture:
        for i, module in enumerate(self.modules):
            self._handles.append(module.register_forward_hook(self._forward_hook(i)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.clear()

    def _forward_hook(self, i: int):
        def hook(_module, args, output):
            if not self.active or not torch.is_grad_enabled() or not output.requires_grad:
                return
            call = len(self._inputs[i])
            self._inputs[i].append(args[0].detach())

            def keep(grad, i=i, call=call):
                self._grads[i][call] = grad.detach()

            output.register_hook(keep)

        return hook

    def clear(self) -> None:
        for inputs, grads in zip(self._inputs, self._grads):
            inputs.clear()
            grads.clear()

    # -------------------------------------------------------------- collection
    def _factors(self, i: int, rows: int, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer i's inputs [B, T, in] and rescaled output gradients [B, T, out] in float32; several
        calls of one module (weight sharing) are joined along the token axis (their gradients add)."""
        spec = self.projection.layers[i]
        if not self._inputs[i] or len(self._grads[i]) != len(self._inputs[i]):
            raise ModelError(
                f"step gradient capture saw no gradient at {spec.module!r}: the loss must depend on every "
                "layer of the gradient scope"
            )
        xs, gs = [], []
        for call, x in enumerate(self._inputs[i]):
            g = self._grads[i][call]
            if x.shape[0] != rows or g.shape[0] != rows:
                raise ModelError(
                    f"step gradient capture needs the batch dimension first at {spec.module!r} "
                    f"(got input {tuple(x.shape)} for {rows} examples)"
                )
            xs.append(x.float().reshape(rows, -1, x.shape[-1]))
            gs.append(g.float().reshape(rows, -1, g.shape[-1]) * scale[:, None, None])
        if len(xs) == 1:  # the usual case: one call per module, nothing to join (no copy)
            return xs[0], gs[0]
        return torch.cat(xs, dim=1), torch.cat(gs, dim=1)

    @torch.no_grad()
    def collect(
        self,
        rows: int,
        scale: torch.Tensor | float = 1.0,
        moments: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> Captured:
        """The batch's per-example projected gradients (and, given ``moments`` {parameter name:
        (exp_avg, exp_avg_sq)}, LESS's Adam directions), then forget the batch.

        ``scale`` [B] (or a number): multiplies each example's captured output gradients so they become
        the gradients of its own loss (see the module docstring)."""
        device = self.projection.device
        scale = torch.as_tensor(scale, dtype=torch.float32, device=device).expand(rows)
        sgd, adam = [], []
        norm_sq = torch.zeros(rows, device=device)
        for i, spec in enumerate(self.projection.layers):
            x, g = self._factors(i, rows, scale)
            weight, bias = self._layer_grads(spec, x, g, i)
            if spec.weight is not None:
                if spec.kind == "norm":
                    sgd.append(weight)
                    norm_sq += weight.square().sum(dim=1)
                    if moments is not None:
                        adam.append(self._adam(weight, moments[spec.weight], betas, eps))
                elif moments is not None:
                    m, v = moments[spec.weight]
                    if spec.transposed:
                        m, v = m.T, v.T
                    projected, full_sq = adam_projected_blocks(
                        self.projection, i, g, x, m, v, betas=betas, eps=eps
                    )
                    adam.append(projected)
                    sgd.append(self.projection.project_tokens(i, g, x))
                    norm_sq += full_sq
                else:
                    sgd.append(self.projection.project_tokens(i, g, x))
                    norm_sq += factored_norms_sq(g, x)
            if spec.bias is not None:
                norm_sq += bias.square().sum(dim=1)
                sgd.append(bias if spec.kind == "norm" else self.projection.project_bias(i, bias))
                if moments is not None:
                    direction = self._adam(bias, moments[spec.bias], betas, eps)
                    adam.append(
                        direction if spec.kind == "norm" else self.projection.project_bias(i, direction)
                    )
        self.clear()
        if moments is None:
            return Captured(sgd=self.projection.mix(sgd), norm=norm_sq.sqrt())
        # one pass of the mixing matrix for both forms (it is read from memory once, not twice)
        mixed = self.projection.mix([torch.cat(sgd, dim=1), torch.cat(adam, dim=1)], stacked=True)
        return Captured(sgd=mixed[:rows], norm=norm_sq.sqrt(), adam=mixed[rows:])

    def _layer_grads(self, spec: LayerSpec, x: torch.Tensor, g: torch.Tensor, i: int):
        """Per-example gradients that are small enough to form exactly: LayerNorm weight and bias, and
        linear biases. Returns (weight [B, n] or None, bias [B, n] or None)."""
        if spec.kind == "norm":
            module = self.modules[i]
            xhat = torch.nn.functional.layer_norm(x, module.normalized_shape, eps=module.eps)
            weight = (g * xhat).sum(dim=1) if spec.weight is not None else None
            bias = g.sum(dim=1) if spec.bias is not None else None
            return weight, bias
        return None, (g.sum(dim=1) if spec.bias is not None else None)

    @staticmethod
    def _adam(grads: torch.Tensor, moment: tuple[torch.Tensor, torch.Tensor], betas, eps) -> torch.Tensor:
        m, v = moment
        return adam_direction(grads, m.reshape(-1), v.reshape(-1), beta1=betas[0], beta2=betas[1], eps=eps)


def optimizer_moments(
    optimizer: torch.optim.Optimizer, named: dict[str, torch.nn.Parameter], names: list[str]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Adam's (exp_avg, exp_avg_sq) for each named parameter as they stand now (before the coming step's
    update); zeros before the first step, when the optimizer holds no state yet."""
    out = {}
    for name in names:
        param = named[name]
        state = optimizer.state.get(param) or {}
        if "exp_avg" in state:
            out[name] = (state["exp_avg"].float(), state["exp_avg_sq"].float())
        else:
            zeros = torch.zeros_like(param, dtype=torch.float32)
            out[name] = (zeros, zeros)
    return out


def batched_projected_gradients(
    capture: StepCapture,
    batches: Iterable,
    loss_fn: Callable[[object], torch.Tensor],
    *,
    on_batch: Callable[[object, Captured], None],
) -> None:
    """Per-example projected gradients with one batched backward per batch (no vmap, no loop over
    examples): ``loss_fn(batch)`` returns the [B] per-example losses, their *sum* is differentiated (so
    each example's output gradients are its own loss's), and ``on_batch(batch, captured)`` receives the
    results. The model's mode (train/eval) is the caller's choice."""
    for batch in batches:
        losses = loss_fn(batch)
        losses.sum().backward()
        on_batch(batch, capture.collect(len(losses)))


class TrainingCapture:
    """Each training example's step-captured gradient, filled in while an epoch trains.

    Pass :meth:`after_backward` to ``train.train_reference``; every example is trained once per epoch, so
    at the epoch's end the [n, d] buffers are complete and :meth:`take` hands them over (to be saved with
    that epoch's checkpoint). Buffers are float16 on the training device, as gradient arrays are stored.
    ``scale(indices)`` turns the training loss's output gradients into each example's own (default: the
    batch size, for a batch-mean loss). Epochs outside ``epochs`` (1-based) are not captured.
    """

    def __init__(
        self,
        capture: StepCapture,
        n: int,
        epochs: Iterable[int],
        *,
        adam: bool = True,
        scale: Callable[[object], torch.Tensor | float] = len,
    ):
        self.capture = capture
        self.epochs = set(epochs)
        self.adam = adam
        self.scale = scale
        self.named = dict(capture.model.named_parameters())
        device, dim = capture.projection.device, capture.projection.dim
        self.buffers = {"sgd": torch.zeros(n, dim, dtype=torch.float16, device=device)}
        if adam:
            self.buffers["adam"] = torch.zeros(n, dim, dtype=torch.float16, device=device)
        self.buffers["norm"] = torch.zeros(n, dtype=torch.float32, device=device)
        self.last: Captured | None = None  # the latest batch in float32 (what the buffers round)

    def after_backward(self, epoch: int, indices, optimizer: torch.optim.Optimizer) -> None:
        if epoch + 1 not in self.epochs:
            self.capture.clear()
            return
        moments = optimizer_moments(optimizer, self.named, self.capture.param_names) if self.adam else None
        captured = self.capture.collect(len(indices), scale=self.scale(indices), moments=moments)
        self.last = captured
        rows = torch.as_tensor(indices, device=self.buffers["sgd"].device)
        self.buffers["sgd"][rows] = captured.sgd.to(torch.float16)
        self.buffers["norm"][rows] = captured.norm
        if captured.adam is not None:
            self.buffers["adam"][rows] = captured.adam.to(torch.float16)

    def take(self) -> dict[str, torch.Tensor]:
        """The finished epoch's buffers on the CPU; the device buffers are reset for the next epoch."""
        out = {name: buf.cpu().clone() for name, buf in self.buffers.items()}
        for buf in self.buffers.values():
            buf.zero_()
        return out
