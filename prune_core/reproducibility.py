"""What ``compute`` promises about recomputation, and the settings that keep that promise on a GPU.

The promise: on one device kind, with the same software, recomputing a run gives the same arrays — a
``compute`` killed mid-way and resumed equals an uninterrupted one (``tests/test_pipeline.py``, on CPU
and, marked ``gpu``, on CUDA), to the tolerances that test uses. Runs on different device kinds or
precisions never meet: both are part of the run id (``pipeline.run_key``). Results on two different
GPU models agree only as two trainings with different float rounding do (statistically), not bitwise.

On CPU PyTorch's kernels are already deterministic. On CUDA three things are not, and
:func:`deterministic` fixes them for the duration of a computation:

- ops that accumulate with atomics (``index_add_`` of the CountSketch projection, ``scatter_add_``):
  ``torch.use_deterministic_algorithms(True)`` switches them to deterministic kernels;
- cuBLAS picks reduction splits per stream unless ``CUBLAS_WORKSPACE_CONFIG`` fixes its workspace
  (``:4096:8``, set on import of this module if unset, as it must be before cuBLAS starts);
- the memory-efficient and flash SDPA backward passes accumulate with atomics; under ``warn_only`` the
  memory-efficient kernel only warns and stays non-deterministic, so attention is limited to the math
  backend (for BERT-sized models at length 128 it costs little; the vmapped gradient pass uses eager
  attention anyway).

TF32 matmuls are switched off too, so that "fp32" means float32 on every GPU. ``warn_only=True``:
an op of a user's model without a deterministic kernel warns instead of stopping a long run.
"""

from __future__ import annotations

import contextlib
import os

import torch

CUBLAS_WORKSPACE = ":4096:8"
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


def _flags() -> dict:
    """The global settings :func:`deterministic` changes, to restore them afterwards."""
    from torch.utils import deterministic as det

    return {
        "algorithms": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "fill": det.fill_uninitialized_memory,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
    }


def _apply(flags: dict) -> None:
    from torch.utils import deterministic as det

    torch.use_deterministic_algorithms(flags["algorithms"], warn_only=flags["warn_only"])
    det.fill_uninitialized_memory = flags["fill"]
    torch.backends.cudnn.deterministic = flags["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = flags["cudnn_benchmark"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn_tf32"]
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul_tf32"]


def deterministic_flags() -> dict:
    """The settings :func:`deterministic` applies on CUDA (also what a test checks inside it)."""
    return {
        "algorithms": True,
        "warn_only": True,
        "fill": False,  # our code never reads uninitialised memory; filling every torch.empty costs time
        "cudnn_deterministic": True,
        "cudnn_benchmark": False,
        "cudnn_tf32": False,
        "matmul_tf32": False,
    }


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Deterministic kernels, no TF32 and math-only attention on CUDA; nothing changes elsewhere.

    Every setting is restored on exit, so a library caller's own configuration survives a ``compute``.
    """
    if device.type != "cuda":
        yield
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel

    before = _flags()
    _apply(deterministic_flags())
    try:
        with sdpa_kernel([SDPBackend.MATH]):
            yield
    finally:
        _apply(before)
