"""Pruning methods as representation x selection algorithm (Du et al., ACL 2025).

- ``registry``: the presets (published methods) and the grid cells ``<selector>@<representation>``,
  both derived from the selector table in ``prune_core.select.registry``.
- ``inputs``: what a method may read from a run (the declared representations and other inputs) and the
  ``Representations`` reader that loads them.
- ``runner``: a method at every budget, plain and label-balanced.
- ``cache``: the ``select`` stage that stores scores, rankings and selections.
"""

from prune_core.methods.inputs import (
    INPUTS,
    REPRESENTATIONS,
    MethodInput,
    MissingRepresentation,
    Representations,
    register_input,
)
from prune_core.methods.registry import (
    PRESETS,
    Method,
    UnknownMethod,
    all_grid_cells,
    get_method,
    grid_selectors,
    register_preset,
)

__all__ = [
    "INPUTS",
    "PRESETS",
    "REPRESENTATIONS",
    "Method",
    "MethodInput",
    "MissingRepresentation",
    "Representations",
    "UnknownMethod",
    "all_grid_cells",
    "get_method",
    "grid_selectors",
    "register_input",
    "register_preset",
]
