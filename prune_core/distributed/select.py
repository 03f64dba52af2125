"""Selectors that split naturally, fanned out as Ray tasks; the single-process paths are unchanged.

Distributed GTP (``select/pursuit.distributed_cosamp``) solves CoSaMP on each random shard of the
dictionary before a second round on the union of their picks: round one runs here as one Ray task per
shard, the dictionary put in the object store once and shared by every task (zero-copy on a node). The
result is the single-process function's, index for index (``tests/test_distributed_select.py``).
"""

from __future__ import annotations

import numpy as np

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
