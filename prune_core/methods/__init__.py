"""Pruning methods as representation x selection algorithm (Du et al., ACL 2025).

- ``registry``: the presets (published methods) and the grid cells ``<selector>@<representation>``.
- ``representations``: what a method may read from a run.
- ``runner``: a method at every budget, plain and label-balanced.
- ``cache``: the ``select`` stage that stores scores, rankings and selections.
"""

from prune_core.methods.registry import (
    GRID_SELECTORS,
    PRESETS,
    Method,
    UnknownMethod,
    all_grid_cells,
    get_method,
)
from prune_core.methods.representations import REPRESENTATIONS, MissingRepresentation, Representations

__all__ = [
    "GRID_SELECTORS",
    "PRESETS",
    "REPRESENTATIONS",
    "Method",
    "MissingRepresentation",
    "Representations",
    "UnknownMethod",
    "all_grid_cells",
    "get_method",
]
