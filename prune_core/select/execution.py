"""Where a selector's independent pieces run: here, one after another (the default), or fanned out.

Some selectors split into pieces that do not depend on each other: SemDeDup's within-cluster similarity
search (one piece per k-means cluster, Abbas et al. 2023, arXiv:2303.09540) and the first round of
two-round GTP (one piece per random shard, Deng, Li & Li 2024, arXiv:2410.16710). The selectors stay
pure functions that take the map as an argument; an :class:`Execution` carries the maps a caller chose
(``prune_core/distributed/select.py`` builds one that runs each piece as a Ray task). Every map returns
its results in the order of its inputs and each piece is computed exactly as here, so the selection is
the same index for index whichever execution ran it (``tests/test_distributed_select.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# map_clusters(piece, features, groups) -> [piece(features, group) for group in groups], in order
MapClusters = Callable[
    [Callable[[np.ndarray, np.ndarray], np.ndarray], np.ndarray, Sequence[np.ndarray]], list
]
# map_shards(atoms, b, shards, k, **solver) -> [pursuit.shard_picks(atoms, b, shard, k, **solver), ...]
MapShards = Callable[..., list]


def serial_map_clusters(
    piece: Callable[[np.ndarray, np.ndarray], np.ndarray], features: np.ndarray, groups: Sequence[np.ndarray]
) -> list:
    """Every group's piece in this process, in order."""
    return [piece(features, group) for group in groups]


@dataclass(frozen=True)
class Execution:
    """The maps a selector's independent pieces go through; ``map_shards=None`` keeps pursuit's own."""

    name: str = "local"
    map_clusters: MapClusters = serial_map_clusters
    map_shards: MapShards | None = None


LOCAL = Execution()
