"""LoGra's factored (Kronecker) projection of per-example gradients, as pure tensor maths.

For a linear layer y_t = W x_t (+ b) the per-example weight gradient is G = sum_t g_t x_t^T, with x_t the
layer's input and g_t the loss gradient at its output for token t. LoGra (Choe et al. 2024, "What is
Your Data Worth to GPT? LLM-Scale Data Valuation with Influence Functions") projects it as

    P_out G P_in^T = sum_t (P_out g_t) (P_in x_t)^T

with seeded Gaussian P_out (k_o x out) and P_in (k_i x in), entries N(0, 1/k), so the out x in gradient is
never materialised: the training step's own activations and output gradients are projected first. The
bias gradient sum_t g_t is projected by P_out alone. A side no larger than ``factor_dim`` is kept as it is
(identity: exact and cheaper; e.g. a 2-label classifier's outputs or a LoRA rank). Normalisation layers
(LayerNorm) are small and enter unprojected.

The per-layer blocks are concatenated (stage 1) and mixed to the run's ``--proj-dim`` by the project's
ordinary seeded projector (stage 2, ``projection.py``), so a step-captured gradient has the same
dimension as a checkpoint-captured one.

Inner products (the Johnson-Lindenstrauss tolerance, tested in tests/test_step_capture.py): every stage is
unbiased, E <Phi G, Phi H> = <G, H>, because E[P^T P] = I for each Gaussian factor. For one layer the
variance is largest when G = H has rank one (G = a b^T, so ||Phi G||^2 = ||P_out a||^2 ||P_in b||^2, a
product of two chi-square / k variables), which bounds the relative standard deviation of an inner
product by

    sigma(k_o, k_i, d) = sqrt((1 + 2/k_o) (1 + 2/k_i) (1 + 2/d) - 1) * ||G|| ||H||

(about 0.26 at k = 64, d = 1024; gradients summed over many tokens and layers do better). Identity sides
contribute no term. Chebyshev then guarantees at least 8/9 of inner products within 3 sigma.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from prune_core.represent.projection import make_projector

DEFAULT_FACTOR_DIM = 64


@dataclass(frozen=True)
class LayerSpec:
    """One module of the gradient scope: a linear layer (``kind='linear'``) or a normalisation layer
    (``'norm'``). ``weight``/``bias`` are parameter names (``bias`` None when absent or out of scope);
    ``transposed`` marks weights stored [in, out] (transformers' Conv1D)."""

    module: str
    kind: str
    out_features: int
    in_features: int
    weight: str | None
    bias: str | None = None
    transposed: bool = False


def _gaussian(rows: int, cols: int, seed: int) -> torch.Tensor:
    """A seeded N(0, 1/rows) matrix, generated on the CPU so every device gets the identical one."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=generator) / rows**0.5


class FactoredProjection:
    """Stage 1 (per-layer Kronecker factors) + stage 2 (mix to ``dim``); a pure function of its spec."""

    def __init__(
        self,
        layers: list[LayerSpec],
        dim: int,
        seed: int,
        *,
        factor_dim: int = DEFAULT_FACTOR_DIM,
        mixer: str = "auto",
        device: torch.device | str = "cpu",
    ):
        if factor_dim < 1:
            raise ValueError(f"--grad-factor-dim must be >= 1, got {factor_dim}")
        self.layers = list(layers)
        self.dim, self.seed, self.factor_dim, self.mixer_kind = dim, seed, factor_dim, mixer
        self.device = torch.device(device)
        self.p_out: list[torch.Tensor | None] = []
        self.p_in: list[torch.Tensor | None] = []
        self.stage1_dims: list[int] = []
        for i, layer in enumerate(self.layers):
            if layer.kind == "norm":
                self.p_out.append(None)
                self.p_in.append(None)
                self.stage1_dims.append(
                    layer.in_features * (layer.weight is not None)
                    + (layer.bias is not None) * layer.in_features
                )
                continue
            # Seeds per layer and side, disjoint from the stage-2 mixer's seed stream.
            p_out = self._side(layer.out_features, seed * 1_000_003 + 2 * i + 1)
            p_in = self._side(layer.in_features, seed * 1_000_003 + 2 * i + 2)
            self.p_out.append(p_out)
            self.p_in.append(p_in)
            k_o, k_i = self.side_dims(i)
            self.stage1_dims.append(k_o * k_i * (layer.weight is not None) + k_o * (layer.bias is not None))
        self.stage1_dim = sum(self.stage1_dims)
        self.input_dim = sum(
            (layer.out_features * layer.in_features if layer.kind == "linear" else layer.in_features)
            * (layer.weight is not None)
            + (layer.out_features if layer.kind == "linear" else layer.in_features) * (layer.bias is not None)
            for layer in self.layers
        )
        self.mixer = make_projector(self.stage1_dim, dim, seed, mixer, device=self.device)

    def matches(
        self, layers: list[LayerSpec], dim: int, seed: int, factor_dim: int, mixer: str, device
    ) -> bool:
        """Whether this projection is the one these constructor arguments would build."""
        return (layers, dim, seed, factor_dim, mixer, torch.device(device)) == (
            self.layers,
            self.dim,
            self.seed,
            self.factor_dim,
            self.mixer_kind,
            self.device,
        )

    def _side(self, size: int, seed: int) -> torch.Tensor | None:
        if size <= self.factor_dim:
            return None  # identity: small sides are kept exactly
        return _gaussian(self.factor_dim, size, seed).to(self.device)

    def side_dims(self, i: int) -> tuple[int, int]:
        layer = self.layers[i]
        k_o = layer.out_features if self.p_out[i] is None else self.factor_dim
        k_i = layer.in_features if self.p_in[i] is None else self.factor_dim
        return k_o, k_i

    def spec(self) -> dict:
        """What identifies the projection (stored with every gradient array; train and validation must
        agree, see ``methods/inputs.py``)."""
        return {
            "kind": "factored",
            "input_dim": self.input_dim,
            "stage1_dim": self.stage1_dim,
            "dim": self.dim,
            "seed": self.seed,
            "factor_dim": self.factor_dim,
            "mixer": self.mixer.spec.to_dict(),
            "layers": [asdict(layer)["module"] for layer in self.layers],
        }

    # -------------------------------------------------------------- stage 1, one layer at a time
    def project_tokens(self, i: int, out_grads: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """[B, T, out] output gradients and [B, T, in] inputs -> [B, k_o * k_i] = P_out (sum_t g_t x_t^T) P_in^T."""
        g = out_grads if self.p_out[i] is None else out_grads @ self.p_out[i].T
        x = inputs if self.p_in[i] is None else inputs @ self.p_in[i].T
        return torch.bmm(g.transpose(1, 2), x).flatten(1)

    def project_matrix(self, i: int, grads: torch.Tensor) -> torch.Tensor:
        """[B, out, in] weight gradients (or their Adam directions) -> [B, k_o * k_i]."""
        if self.p_out[i] is not None:
            grads = torch.matmul(self.p_out[i], grads)
        if self.p_in[i] is not None:
            grads = torch.matmul(grads, self.p_in[i].T)
        return grads.flatten(1)

    def project_bias(self, i: int, grads: torch.Tensor) -> torch.Tensor:
        """[B, out] bias gradients -> [B, k_o]."""
        return grads if self.p_out[i] is None else grads @ self.p_out[i].T

    # -------------------------------------------------------------- stage 2
    def mix(self, blocks: list[torch.Tensor], *, stacked: bool = False) -> torch.Tensor:
        """Concatenated stage-1 blocks [B, stage1_dim] -> [B, dim]. ``stacked``: ``blocks`` are already
        whole [B_j, stage1_dim] rows, mixed together as one [sum B_j, stage1_dim] batch."""
        return self.mixer(torch.cat(blocks, dim=0 if stacked else 1))

    def project_full(self, grads: dict[str, torch.Tensor]) -> torch.Tensor:
        """Project full per-example gradients {parameter name: [B, *shape]} (the reference path, and the
        one the Adam direction takes): the same map as the factored path, up to float rounding."""
        blocks = []
        for i, layer in enumerate(self.layers):
            if layer.weight is not None:
                w = grads[layer.weight].float()
                if layer.kind == "norm":
                    blocks.append(w.flatten(1))
                else:
                    w = w.transpose(1, 2) if layer.transposed else w
                    blocks.append(self.project_matrix(i, w))
            if layer.bias is not None:
                b = grads[layer.bias].float().flatten(1)
                blocks.append(b if layer.kind == "norm" else self.project_bias(i, b))
        return self.mix(blocks)


def factored_norms_sq(out_grads: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Exact ||sum_t g_t x_t^T||_F^2 per example without materialising it: sum_{t,s} (g_t.g_s)(x_t.x_s)."""
    return (torch.bmm(out_grads, out_grads.transpose(1, 2)) * torch.bmm(inputs, inputs.transpose(1, 2))).sum(
        dim=(1, 2)
    )


def adam_projected_blocks(
    projection: FactoredProjection,
    i: int,
    out_grads: torch.Tensor,
    inputs: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    *,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    block_elements: int = 1 << 21,
) -> tuple[torch.Tensor, torch.Tensor]:
    """LESS's Adam direction of each example's weight gradient, projected, and its exact squared norm.

    The Adam map is elementwise, so it does not commute with the factored projection: each example's
    out x in gradient is materialised from the captured factors, mapped, then projected with the same
    P_out . P_in^T. ``exp_avg`` / ``exp_avg_sq`` are the layer's moments in [out, in] layout.

    Speed (most of the step capture's cost): the gradient is formed in tiles of a few examples x a few
    output rows (at most ``block_elements`` floats, so the four elementwise passes stay in the CPU's
    last-level cache) written into two reused buffers (no page faults from fresh allocations), each
    tile is projected on its input side at once (one GEMM), and the output side is projected once per
    layer at the end. The constant (1 - beta1) of the numerator is applied to the small projected result instead
    of every gradient entry. The squared norm comes from the factors (``factored_norms_sq``)."""
    rows, out_f, in_f = out_grads.shape[0], out_grads.shape[2], inputs.shape[2]
    beta1, beta2 = betas
    p_out, p_in = projection.p_out[i], projection.p_in[i]
    k_i = projection.side_dims(i)[1]
    row_tile = min(out_f, max(1, block_elements // in_f))
    example_tile = max(1, block_elements // (row_tile * in_f))
    # represent/gradients.adam_direction's m' / sqrt(v' + eps) divided by (1 - beta1):
    # (g + beta1 / (1 - beta1) m) / sqrt(beta2 v + eps + (1 - beta2) g^2)
    m_scaled = (beta1 / (1 - beta1)) * exp_avg.reshape(out_f, in_f)
    v_scaled = beta2 * exp_avg_sq.reshape(out_f, in_f) + eps
    grads_t = out_grads.transpose(1, 2).contiguous()  # [B, out, T]
    half = torch.empty(rows, out_f, k_i, device=out_grads.device)  # each direction times P_in^T
    buffers = torch.empty(2, example_tile * row_tile * in_f, device=out_grads.device)
    for r0 in range(0, out_f, row_tile):
        r1 = min(out_f, r0 + row_tile)
        m_rows, v_rows = m_scaled[r0:r1], v_scaled[r0:r1]
        for s0 in range(0, rows, example_tile):
            s1 = min(rows, s0 + example_tile)
            shape = (s1 - s0, r1 - r0, in_f)
            size = shape[0] * shape[1] * in_f
            full, inv = buffers[0, :size].view(shape), buffers[1, :size].view(shape)
            torch.bmm(grads_t[s0:s1, r0:r1], inputs[s0:s1], out=full)
            torch.addcmul(v_rows, full, full, value=1 - beta2, out=inv)
            full.add_(m_rows).mul_(inv.rsqrt_())
            if p_in is None:
                half[s0:s1, r0:r1] = full
            else:
                half[s0:s1, r0:r1] = (full.view(-1, in_f) @ p_in.T).view(shape[0], shape[1], k_i)
    projected = half if p_out is None else torch.matmul(p_out, half)
    return projected.flatten(1).mul_(1 - beta1), factored_norms_sq(out_grads, inputs)
