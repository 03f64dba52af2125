"""Connecting to a Ray cluster and sizing the work to it.

``connect`` joins the cluster at ``--ray-address`` (or ``RAY_ADDRESS``), else starts a local one; a
process that already joined one (a test session, a notebook) keeps it. Workers are one model replica
per GPU where the cluster has GPUs, else one per CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class ClusterError(RuntimeError):
    """A cluster that cannot be reached or cannot host the requested workers."""


@dataclass(frozen=True)
class WorkerSpec:
    """How many workers and what each one reserves: one GPU each on GPU clusters, else ``cpus`` CPUs."""

    workers: int
    gpus: int  # per worker: 1 on a GPU cluster, else 0
    cpus: float  # per worker

    @property
    def device(self) -> str:
        return "cuda" if self.gpus else "cpu"

    def describe(self) -> str:
        each = "1 GPU" if self.gpus else f"{self.cpus:g} CPU"
        return f"ray: {self.workers} worker{'s' if self.workers != 1 else ''} ({each} each)"


def connect(address: str | None = None, *, num_cpus: int | None = None, object_store_mb: int | None = None):
    """Join (or start) a Ray cluster once per process; returns the ``ray`` module."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is a runtime dependency
        raise ClusterError("--engine ray needs the 'ray' package: pip install 'ray[data,train]'") from err
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is None:
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
        if object_store_mb is not None:
            kwargs["object_store_memory"] = int(object_store_mb) * 1024 * 1024
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"--ray-address {address}" if address else "a local Ray cluster"
        raise ClusterError(f"could not connect to {where}: {err}") from err
    return ray


def worker_spec(ray, workers: int | None, device: str = "auto") -> WorkerSpec:
    """``workers`` replicas (default: one per GPU, else one per CPU but one, left to Ray Data's own
    tasks — measured on 2 CPUs in ``bench/bench_distributed.py``); GPU workers unless ``device`` is cpu."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    use_gpu = gpus > 0 and device in ("auto", "cuda")
    if device == "cuda" and gpus == 0:
        raise ClusterError("--device cuda: the Ray cluster has no GPUs")
    if use_gpu:
        count = workers or gpus
        if count > gpus:
            raise ClusterError(f"--workers {count}: the Ray cluster has {gpus} GPU(s), one per worker")
        return WorkerSpec(count, 1, 1.0)
    count = workers or max(1, cpus - 1)
    if count > cpus:
        raise ClusterError(f"--workers {count}: the Ray cluster has {cpus} CPU(s), one per worker")
    return WorkerSpec(count, 0, 1.0)
