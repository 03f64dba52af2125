"""Selectors that split naturally, fanned out as Ray tasks; the single-process paths are unchanged.

Two maps of ``prune_core/select/execution.py`` run on the cluster, each putting its array in the object
store once and sharing it with every task (zero-copy on a node):
- ``map_shards``: round one of distributed GTP (``select/pursuit.distributed_cosamp``), CoSaMP on each
  random shard of the dictionary, one task per shard, before the second round on the union of picks.
- ``map_clusters``: SemDeDup's within-cluster similarity search (``select/clustering.semdedup_scores``),
  the clusters packed into at most one task per cluster CPU, largest first (its cost is quadratic in
  the cluster size); k-means itself stays in the calling process.
Each piece runs the single-process code on the same rows, so the selections are the single-process
ones, index for index (``tests/test_distributed_select.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from prune_core.select.execution import Execution
from prune_core.select.pursuit import distributed_cosamp, shard_picks


def ray_map_shards(ray):
    """A ``map_shards`` for :func:`distributed_cosamp` that runs each shard as a Ray task."""
    remote = ray.remote(num_cpus=1)(shard_picks)

    def map_shards(atoms: np.ndarray, b: np.ndarray, shards: list[np.ndarray], k: int, **solver) -> list:
        shared = ray.put(atoms)
        return ray.get([remote.remote(shared, b, shard, k, **solver) for shard in shards])

    return map_shards


def distributed_cosamp_on_ray(ray, features: np.ndarray, target: np.ndarray, k: int, **options):
    """:func:`distributed_cosamp` with its first round on the Ray cluster ``ray`` is connected to."""
    return distributed_cosamp(features, target, k, map_shards=ray_map_shards(ray), **options)


def pack_groups(costs: Sequence[float], bins: int) -> list[list[int]]:
    """Group positions packed into at most ``bins`` tasks: largest first, each to the lightest task
    (Graham's LPT rule); empty tasks are dropped and each task keeps its positions in order."""
    loads, tasks = [0.0] * max(1, bins), [[] for _ in range(max(1, bins))]
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        lightest = min(range(len(loads)), key=lambda t: (loads[t], t))
        loads[lightest] += costs[i]
        tasks[lightest].append(i)
    return [sorted(task) for task in tasks if task]


def _pieces(piece: Callable, features: np.ndarray, groups: list[np.ndarray]) -> list:
    """One task's work: the piece on each of its groups, in order."""
    return [piece(features, group) for group in groups]


def ray_map_clusters(ray, tasks: int | None = None):
    """A ``map_clusters`` that runs the groups as at most ``tasks`` Ray tasks (default: the cluster's
    CPUs), the features put in the object store once per call."""
    remote = ray.remote(num_cpus=1)(_pieces)

    def map_clusters(piece: Callable, features: np.ndarray, groups: Sequence[np.ndarray]) -> list:
        if not groups:
            return []
        width = tasks or max(1, int(ray.cluster_resources().get("CPU", 1)))
        packed = pack_groups([float(len(g)) ** 2 for g in groups], min(width, len(groups)))
        shared = ray.put(features)
        done = ray.get([remote.remote(piece, shared, [groups[i] for i in task]) for task in packed])
        out: list = [None] * len(groups)
        for task, results in zip(packed, done, strict=True):
            for i, result in zip(task, results, strict=True):
                out[i] = result
        return out

    return map_clusters


def ray_execution(ray, tasks: int | None = None) -> Execution:
    """The execution ``select --engine ray`` passes to the selectors: their pieces as Ray tasks."""
    return Execution(name="ray", map_clusters=ray_map_clusters(ray, tasks), map_shards=ray_map_shards(ray))
