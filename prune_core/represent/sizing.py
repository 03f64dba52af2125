"""Batch sizes of the representation passes: given with ``--forward-batch-size`` / ``--grad-batch-size`` /
``--proj-chunk``, or sized here from the device and, on a GPU, its free memory.

They change no result beyond float summation order (each example's outputs and gradient are computed
on their own; padding is masked), so they are not part of the run id: a run stopped by an out-of-memory
error resumes with smaller values and keeps its finished stages.

On CPU the defaults are the sizes measured fastest on 2 cores (64 / 16 / 2^14 columns,
``bench/bench_compute.py``). On a GPU small batches leave it idle between kernel launches, so the sizes
grow until a memory estimate per example fills half the free memory, capped where throughput stops
growing (``bench/gpu_check.py`` measures 32 / 128 / 512).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

CPU_SIZES = {"forward": 64, "gradients": 16, "projection_chunk": 1 << 14}
GPU_CAPS = {"forward": 512, "gradients": 128, "projection_chunk": 1 << 18}
MEMORY_SHARE = 0.5  # of the free memory; the rest absorbs the allocator's fragmentation and estimate error


@dataclass
class BatchSizes:
    """Requested sizes; ``None`` means sized automatically by :func:`resolve_batch_sizes`."""

    forward: int | None = None
    gradients: int | None = None
    projection_chunk: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        flags = {"forward": "--forward-batch-size", "gradients": "--grad-batch-size"}
        flags["projection_chunk"] = "--proj-chunk"
        for name, flag in flags.items():
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{flag} must be >= 1, got {value}")


@dataclass(frozen=True)
class ModelShape:
    """What the memory estimate needs to know about the model and the data."""

    hidden: int
    layers: int
    grad_params: int  # entries of one example's gradient (the gradient scope)
    max_length: int


def forward_bytes_per_example(shape: ModelShape) -> int:
    """fp32 bytes one example holds in an eval forward with every layer's hidden states returned."""
    return 4 * shape.max_length * shape.hidden * (shape.layers + 1 + 8)  # states + one block's temporaries


def gradient_bytes_per_example(shape: ModelShape) -> int:
    """fp32 bytes one example holds in the vmapped gradient pass: its gradient, the float copy and the
    projection's temporaries (~3 x P), plus saved activations (~24 x L x H per block; every block is
    counted, as LoRA adapters sit in all of them)."""
    return 4 * (3 * shape.grad_params + 24 * shape.max_length * shape.hidden * shape.layers)


def _fit(free_bytes: int, per_example: int, cap: int) -> int:
    """The largest power of two <= cap whose batch fits in MEMORY_SHARE of ``free_bytes`` (at least 1)."""
    fits = max(1, int(free_bytes * MEMORY_SHARE) // max(per_example, 1))
    size = 1
    while size * 2 <= min(fits, cap):
        size *= 2
    return size


def auto_batch_sizes(device_kind: str, shape: ModelShape, free_bytes: int | None) -> dict[str, int]:
    """Sizes for a device kind; on CUDA bounded by ``free_bytes`` (from ``torch.cuda.mem_get_info``)."""
    if device_kind != "cuda" or free_bytes is None:
        return dict(CPU_SIZES)
    return {
        "forward": _fit(free_bytes, forward_bytes_per_example(shape), GPU_CAPS["forward"]),
        "gradients": _fit(free_bytes, gradient_bytes_per_example(shape), GPU_CAPS["gradients"]),
        "projection_chunk": GPU_CAPS["projection_chunk"],
    }


def free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device (after the model is loaded there); None elsewhere."""
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def resolve_batch_sizes(
    requested: BatchSizes, device: torch.device, shape: ModelShape
) -> tuple[dict[str, int], str]:
    """The sizes to use (explicit ones win) and a one-line note saying where the others came from."""
    requested.validate()
    free = free_memory(device)
    auto = auto_batch_sizes(device.type, shape, free)
    chosen = {name: value if value is not None else auto[name] for name, value in requested.to_dict().items()}
    explicit = [name for name, value in requested.to_dict().items() if value is not None]
    if len(explicit) == len(chosen):
        source = "as given"
    elif free is not None:
        source = f"auto from {free / 2**30:.1f} GiB free on {device}"
    else:
        source = f"auto for {device.type}"
    note = (
        f"forward {chosen['forward']}, gradients {chosen['gradients']}, "
        f"projection chunk {chosen['projection_chunk']} ({source})"
    )
    return chosen, note


def model_shape(model: torch.nn.Module, grad_params: int, max_length: int) -> ModelShape:
    """Read hidden size and depth from a transformers config (peft-wrapped or not)."""
    base = getattr(model, "get_base_model", lambda: model)()
    config = base.config
    hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model", None) or 768
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None) or 12
    return ModelShape(hidden=int(hidden), layers=int(layers), grad_params=grad_params, max_length=max_length)
