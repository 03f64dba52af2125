"""Seeded random projections of per-example gradients to ``d`` dimensions.

Train and validation gradients must be projected by the *same* matrix or their inner products (LESS,
TracIn) are meaningless, so a projector is a pure function of (input size, d, seed, kind):
building it twice gives identical results on any device. Two kinds share one interface:

- ``dense``: a Rademacher matrix (entries +-1/sqrt(d)), as TRAK's basic projector. Exact JL guarantees, but
  the matrix is P x d; it is only used when that fits in ``max_dense_bytes`` (LoRA- or head-sized P).
- ``sparse``: a sparse JL transform (Kane & Nelson 2014; CountSketch when s = 1, the default): each input
  coordinate lands in ``s`` random output coordinates with random signs, scaled by 1/sqrt(s). Inner
  products are unbiased and their variance is at most (|x|^2 |y|^2 + <x,y>^2) / d, the same bound as a
  Gaussian projection, at O(P s) memory and cost; it never materialises a P x d matrix (1.9 M x 1024 fp32
  would be 7.8 GB). s > 1 only tightens the tails for very sparse inputs, which gradients are not.

Projection runs over column chunks (:meth:`Projector.accumulate`) so that a batch of 16 x 1.9 M gradients
is streamed through the cache once; that made projection ~3x faster than whole-matrix ops on 2 cores.
On a GPU the same small chunks are launch-bound, so the chunk is a parameter (``--proj-chunk``;
``pipeline.batch_sizes`` picks 2^14 on CPU, 2^18 on CUDA). It changes only float summation order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

DEFAULT_MAX_DENSE_BYTES = 512 * 2**20
DEFAULT_CHUNK = 1 << 14


@dataclass(frozen=True)
class ProjectionSpec:
    input_dim: int
    dim: int
    seed: int
    kind: str  # "dense" | "sparse"
    nnz_per_column: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


class Projector:
    """Projects a batch of flattened gradients ``[B, P]`` to ``[B, d]`` (float32)."""

    def __init__(
        self, spec: ProjectionSpec, device: torch.device | str = "cpu", *, chunk: int = DEFAULT_CHUNK
    ):
        if spec.dim <= 0 or spec.input_dim <= 0:
            raise ValueError(
                f"projection needs positive sizes, got input_dim={spec.input_dim}, dim={spec.dim}"
            )
        if chunk < 1:
            raise ValueError(f"--proj-chunk must be >= 1 column, got {chunk}")
        self.spec = spec
        self.chunk = chunk  # input columns projected per step (see the module docstring)
        self.device = torch.device(device)
        # Generated on the CPU from one seeded generator, so every device gets the identical matrix.
        generator = torch.Generator().manual_seed(spec.seed)
        if spec.kind == "dense":
            signs = torch.randint(0, 2, (spec.input_dim, spec.dim), generator=generator, dtype=torch.int8)
            self._matrix = ((signs.float() * 2 - 1) / spec.dim**0.5).to(self.device)
        elif spec.kind == "sparse":
            s = spec.nnz_per_column
            self._buckets = torch.randint(0, spec.dim, (s, spec.input_dim), generator=generator).to(
                self.device
            )
            signs = torch.randint(0, 2, (s, spec.input_dim), generator=generator, dtype=torch.int8)
            self._signs = ((signs.float() * 2 - 1) / s**0.5).to(self.device)
        else:
            raise ValueError(f"unknown projection kind {spec.kind!r} (expected 'dense' or 'sparse')")

    def empty(self, rows: int) -> torch.Tensor:
        return torch.zeros(rows, self.spec.dim, device=self.device, dtype=torch.float32)

    def accumulate(self, out: torch.Tensor, chunk: torch.Tensor, start: int) -> None:
        """Add the projection of input columns ``start : start + chunk.shape[1]`` to ``out`` [B, d]."""
        stop = start + chunk.shape[1]
        if self.spec.kind == "dense":
            out.addmm_(chunk, self._matrix[start:stop])
            return
        for buckets, signs in zip(self._buckets, self._signs):
            out.index_add_(1, buckets[start:stop], chunk * signs[start:stop])

    def __call__(self, grads: torch.Tensor) -> torch.Tensor:
        if grads.shape[-1] != self.spec.input_dim:
            raise ValueError(f"projector built for {self.spec.input_dim} inputs got {grads.shape[-1]}")
        grads = grads.to(self.device, torch.float32)
        out = self.empty(grads.shape[0])
        for start in range(0, self.spec.input_dim, self.chunk):
            self.accumulate(out, grads[:, start : start + self.chunk], start)
        return out


def make_projector(
    input_dim: int,
    dim: int,
    seed: int,
    kind: str = "auto",
    *,
    device: torch.device | str = "cpu",
    max_dense_bytes: int = DEFAULT_MAX_DENSE_BYTES,
    chunk: int = DEFAULT_CHUNK,
) -> Projector:
    """Build a projector; ``auto`` picks dense when the P x d float32 matrix fits in ``max_dense_bytes``."""
    if kind == "auto":
        kind = "dense" if input_dim * dim * 4 <= max_dense_bytes else "sparse"
    spec = ProjectionSpec(input_dim=input_dim, dim=dim, seed=seed, kind=kind)
    return Projector(spec, device, chunk=chunk)
