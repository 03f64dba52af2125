"""The Gaussian-mixture lab end to end: data -> reference model -> three representations -> selections
on a (representation x selector) grid -> how much the representations agree, and who keeps the noise.

Why: Du et al. (2025, ACL) show on a 2-D Gaussian mixture that one selection rule keeps different
points under different representations, except the diversity rule S2L. The
Jaccard table makes that claim measurable: for each selector, |A ∩ B| / |A ∪ B| between its subsets
under every pair of representations. ``LabConfig()`` is the paper's set-up exactly; ``build_world`` is
the expensive half (training) and ``select_grid`` the cheap half, so a page can cache them apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from prune_core.analysis import jaccard_matrix
from prune_core.select import budget_to_k
from prune_core.simulate.data import (
    PAPER_SAMPLES,
    PAPER_SEED,
    LabData,
    LabSplit,
    gaussian_mixture,
    make_classification_with_flips,
    paper_split,
)
from prune_core.simulate.model import (
    REPRESENTATIONS,
    Representation,
    Training,
    hard_to_learn_scores,
    representations,
    train_reference,
)
from prune_core.simulate.selectors import (
    PAPER_APPENDIX,
    PAPER_FIGURE,
    PAPER_SELECTORS,
    SELECTORS,
    SelectionInput,
    get_selector,
    panel_title,
    run_selector,
)

GENERATORS = ("make_classification", "mixture")
VIEWS = ("paper", "appendix", "grid")
MODELS = ("logistic", "mlp")
Cell = tuple[str, str]  # (representation, selector)


@dataclass(frozen=True)
class LabConfig:
    """Everything that decides the data, the model and hence the representations (defaults: the paper).

    ``separation`` is make_classification's class_sep or the mixture's half distance between
    neighbouring blobs; ``label_noise`` its flip_y or the mixture's flip probability;
    ``minority_share`` the share of label +1. One ``seed`` drives data, split, training and selection,
    as the notebook's single 42 does.
    """

    generator: str = "make_classification"
    n_samples: int = PAPER_SAMPLES
    blobs_per_class: int = 2
    separation: float = 1.0
    label_noise: float = 0.01
    minority_share: float = 0.5
    model: str = "logistic"
    epochs: int = 100
    hidden_units: int = 16
    gradient_bias: bool = False
    seed: int = PAPER_SEED

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise ValueError(f"LabConfig.generator: expected one of {GENERATORS}, found {self.generator!r}")
        if self.model not in MODELS:
            raise ValueError(f"LabConfig.model: expected one of {MODELS}, found {self.model!r}")
        if not 50 <= int(self.n_samples) <= 100_000:
            raise ValueError(f"LabConfig.n_samples: expected 50..100000 points, found {self.n_samples}")


@dataclass(frozen=True)
class LabWorld:
    """The data, its split, the trained reference model and the representations of the training split."""

    config: LabConfig
    data: LabData
    split: LabSplit
    training: Training
    representations: dict[str, Representation]
    difficulty: np.ndarray  # h2l score of each training example (D2's difficulty)


def generate(config: LabConfig) -> LabData:
    """The configured generator's points (make_classification_with_flips or gaussian_mixture)."""
    if config.generator == "make_classification":
        return make_classification_with_flips(
            config.n_samples,
            blobs_per_class=config.blobs_per_class,
            class_sep=config.separation,
            flip_y=config.label_noise,
            minority_share=config.minority_share,
            seed=config.seed,
        )
    return gaussian_mixture(
        config.n_samples,
        blobs_per_class=config.blobs_per_class,
        separation=config.separation,
        label_noise=config.label_noise,
        minority_share=config.minority_share,
        seed=config.seed,
    )


def build_world(config: LabConfig = LabConfig()) -> LabWorld:
    """Generate, split 60/20/20, train the reference model, compute the three representations."""
    data = generate(config)
    split = paper_split(data, seed=config.seed)
    training = train_reference(
        split, kind=config.model, epochs=config.epochs, hidden_units=config.hidden_units, seed=config.seed
    )
    reps = representations(training, split, gradient_bias=config.gradient_bias)
    return LabWorld(config, data, split, training, reps, hard_to_learn_scores(training.train_losses))


def selection_input(world: LabWorld, representation: str, *, n_clusters: int = 2) -> SelectionInput:
    if representation not in world.representations:
        raise ValueError(f"unknown representation {representation!r}; expected one of {REPRESENTATIONS}")
    if isinstance(n_clusters, bool) or int(n_clusters) < 1:
        raise ValueError(f"expected n_clusters (K) >= 1, found {n_clusters!r}")
    rep = world.representations[representation]
    return SelectionInput(
        rep.train,
        rep.validation,
        world.split.train.y,
        world.split.validation.y,
        world.difficulty,
        n_clusters=int(n_clusters),
        seed=world.config.seed,
    )


def grid_cells(
    selectors: Iterable[str] | None = None, representations_: Iterable[str] = REPRESENTATIONS
) -> list[Cell]:
    """Every (representation, selector) pair the selector accepts, selectors outermost."""
    names = list(SELECTORS) if selectors is None else list(selectors)
    reps = list(representations_)
    return [(rep, name) for name in names for rep in reps if rep in get_selector(name).representations]


def view_layout(view: str = "paper", selectors: Iterable[str] = PAPER_SELECTORS) -> list[list[Cell | None]]:
    """Panels as rows of (representation, selector) cells: the paper's 2 x 3 main figure, its 1 x 4 appendix
    row, or one row per selector with a column per representation (None where the selector does not run)."""
    if view == "paper":
        return [list(PAPER_FIGURE[:3]), list(PAPER_FIGURE[3:])]
    if view == "appendix":
        return [list(PAPER_APPENDIX)]
    if view == "grid":
        return [
            [(rep, name) if rep in get_selector(name).representations else None for rep in REPRESENTATIONS]
            for name in selectors
        ]
    raise ValueError(f"view_layout: expected a view in {VIEWS}, found {view!r}")


def select_grid(
    world: LabWorld,
    cells: Iterable[Cell] = PAPER_FIGURE,
    *,
    budget: float = 0.3,
    n_clusters: int = 2,
    balanced: bool = False,
) -> dict[Cell, np.ndarray]:
    """Training positions kept by each (representation, selector) cell at ``budget`` (k = floor(r n))."""
    k = budget_to_k(budget, len(world.split.train))
    inputs = {rep: selection_input(world, rep, n_clusters=n_clusters) for rep in world.representations}
    out: dict[Cell, np.ndarray] = {}
    for rep, name in cells:
        if rep not in get_selector(name).representations:
            raise ValueError(
                f"selector {name!r} does not run on the {rep!r} representation; it accepts "
                f"{get_selector(name).representations}"
            )
        kept = run_selector(name, inputs[rep], k, balanced=balanced)
        kept.setflags(write=False)
        out[(rep, name)] = kept
    return out


def chance_jaccard(k: int, n: int) -> float:
    """Jaccard expected between two independent uniform random k-subsets of n: k / (2n - k) (to first order).

    E|A ∩ B| = k^2 / n, so J ~ (k^2 / n) / (2k - k^2 / n). The reference line for the Jaccard table: a
    rule whose cross-representation Jaccard sits here keeps unrelated points under each representation.
    """
    if not 0 < k <= n:
        raise ValueError(f"chance_jaccard: expected 0 < k <= n, found k = {k}, n = {n}")
    return k / (2 * n - k)


def jaccard_table(selections: Mapping[Cell, np.ndarray]) -> pd.DataFrame:
    """One row per selector run on 2+ representations: Jaccard for every pair of them, and their mean.

    A selector that ignores the representation (random) scores 1; the paper's claim is that S2L's row
    sits well above prototypicality's.
    """
    by_selector: dict[str, dict[str, np.ndarray]] = {}
    for (rep, name), kept in selections.items():
        by_selector.setdefault(name, {})[rep] = kept
    rows = {}
    for name, subsets in by_selector.items():
        if len(subsets) < 2:
            continue
        matrix = jaccard_matrix(subsets)
        pairs = {f"{a} vs {b}": float(matrix.loc[a, b]) for a, b in combinations(subsets, 2)}
        rows[name] = {**pairs, "mean": float(np.nanmean(list(pairs.values())))}
    order = [f"{a} vs {b}" for a, b in combinations(REPRESENTATIONS, 2)]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table[[c for c in order if c in table.columns] + (["mean"] if rows else [])]
    table.index.name = "selector"
    return table


def noise_table(selections: Mapping[Cell, np.ndarray], flipped: np.ndarray) -> pd.DataFrame:
    """How many flipped-label training points each cell keeps: count, share of all flipped, share of kept.

    Random selection keeps a share r of the flipped points; a rule that keeps much more is chasing noise.
    """
    flipped = np.asarray(flipped, dtype=bool)
    total = int(flipped.sum())
    rows = []
    for (rep, name), kept in selections.items():
        hits = int(flipped[kept].sum())
        rows.append(
            {
                "selector": name,
                "representation": rep,
                "panel": panel_title(rep, name),
                "kept": len(kept),
                "flipped kept": hits,
                "of all flipped": hits / total if total else float("nan"),
                "share of kept": hits / len(kept) if len(kept) else float("nan"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "selector",
            "representation",
            "panel",
            "kept",
            "flipped kept",
            "of all flipped",
            "share of kept",
        ],
    )


def lab_report(
    world: LabWorld, selections: Mapping[Cell, np.ndarray], *, budget: float, n_clusters: int, balanced: bool
) -> dict:
    """Everything a script needs, JSON-ready: settings, model quality, selections, Jaccard, noise."""
    split = world.split
    k = budget_to_k(budget, len(split.train))
    jaccard = jaccard_table(selections)
    return {
        "config": asdict(world.config),
        "selection": {"budget": budget, "k": k, "n_clusters": n_clusters, "balanced": balanced},
        "sizes": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        "model": {
            "kind": world.training.model.kind,
            "validation_accuracy": world.training.validation_accuracy,
            "test_accuracy": world.training.test_accuracy,
        },
        "flipped_train_positions": np.flatnonzero(split.train.flipped).tolist(),
        "selections": [
            {
                "representation": rep,
                "selector": name,
                "panel": panel_title(rep, name),
                "positions": kept.tolist(),
                "data_rows": split.train_index[kept].tolist(),
            }
            for (rep, name), kept in selections.items()
        ],
        "jaccard": {name: {col: _finite(v) for col, v in row.items()} for name, row in jaccard.iterrows()},
        "jaccard_chance": chance_jaccard(k, len(split.train)) if k else None,
        "noise": [
            {k: _finite(v) for k, v in row.items()}
            for row in noise_table(selections, split.train.flipped).to_dict(orient="records")
        ],
    }


def _finite(value):
    """NaN becomes None so that the report is strict JSON."""
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
