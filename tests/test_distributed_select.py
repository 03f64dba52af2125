# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""Distributed GTP with its first round as Ray tasks selects what the single-process version selects."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.distributed.select import distributed_cosamp_on_ray
from prune_core.select.pursuit import distributed_cosamp
from tests.distributed_support import ray_cluster  # noqa: F401 (fixture)


@pytest.mark.parametrize("n_shards", [1, 3, 4])
def test_ray_round_one_gives_the_single_process_selection(ray_cluster, n_shards):
    rng = np.random.default_rng(n_shards)
    features = rng.normal(size=(120, 16))
    target = features[rng.choice(120, 6, replace=False)].sum(axis=0)
    here = distributed_cosamp(features, target, 10, n_shards=n_shards, seed=3)
    there = distributed_cosamp_on_ray(ray_cluster, features, target, 10, n_shards=n_shards, seed=3)
    assert np.array_equal(here[0], there[0])
    assert np.allclose(here[1], there[1], rtol=0, atol=0)
