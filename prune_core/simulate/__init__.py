"""The 2-D Gaussian-mixture lab: Du et al.'s toy experiment (ACL 2025, sampling_toy.ipynb), live.

- ``data``: the paper's make_classification set-up (with the flipped labels found exactly), a Gaussian
  mixture generator with plain controls, the 600 / 200 / 200 split.
- ``model``: the logistic reference model (SGD, per-epoch losses) or a small MLP, and the three
  representations: loss trajectories, hidden states, per-example gradients.
- ``selectors``: the paper's four toy rules and every library selector, on any representation.
- ``lab``: the pipeline, the (representation x selector) grid, the Jaccard and noise tables, the report.
"""

from __future__ import annotations

from prune_core.simulate.data import (
    LabData,
    LabSplit,
    gaussian_mixture,
    make_classification_with_flips,
    paper_split,
)
from prune_core.simulate.lab import (
    GENERATORS,
    MODELS,
    VIEWS,
    LabConfig,
    LabWorld,
    build_world,
    chance_jaccard,
    generate,
    grid_cells,
    jaccard_table,
    lab_report,
    noise_table,
    select_grid,
    selection_input,
    view_layout,
)
from prune_core.simulate.model import (
    REPRESENTATIONS,
    ReferenceModel,
    Representation,
    Training,
    example_gradients,
    hard_to_learn_scores,
    probability_grid,
    representations,
    train_logistic,
    train_mlp,
    train_reference,
)
from prune_core.simulate.selectors import (
    LIBRARY_SELECTORS,
    PAPER_APPENDIX,
    PAPER_FIGURE,
    PAPER_SELECTORS,
    REPRESENTATION_SYMBOLS,
    SELECTORS,
    LabSelector,
    SelectionInput,
    get_selector,
    panel_title,
    run_selector,
)

__all__ = [
    "GENERATORS",
    "LIBRARY_SELECTORS",
    "MODELS",
    "PAPER_APPENDIX",
    "PAPER_FIGURE",
    "PAPER_SELECTORS",
    "REPRESENTATIONS",
    "REPRESENTATION_SYMBOLS",
    "SELECTORS",
    "VIEWS",
    "LabConfig",
    "LabData",
    "LabSelector",
    "LabSplit",
    "LabWorld",
    "ReferenceModel",
    "Representation",
    "SelectionInput",
    "Training",
    "build_world",
    "chance_jaccard",
    "example_gradients",
    "gaussian_mixture",
    "generate",
    "get_selector",
    "grid_cells",
    "hard_to_learn_scores",
    "jaccard_table",
    "lab_report",
    "make_classification_with_flips",
    "noise_table",
    "paper_split",
    "panel_title",
    "probability_grid",
    "representations",
    "run_selector",
    "select_grid",
    "selection_input",
    "train_logistic",
    "train_mlp",
    "train_reference",
    "view_layout",
]
