"""Cached loaders: the run store turned into the plain arrays and tables the plot builders take.

Every loader is keyed by the store folder, the run id and a *token*: a hash of the manifest's sha256 of
exactly the files it reads. Recomputing a stage rewrites its files, changes their checksums and so the
token, and the next rerun loads afresh; nothing else invalidates the cache. ``st.cache_resource``
(not ``cache_data``) returns the same object to every session without copying or pickling it, which
matters for 100 000-row arrays on every rerun; arrays are therefore made read-only and pages never
modify what a loader returns. (The ``checksum`` arguments are deliberately not named with a leading
underscore: Streamlit leaves such arguments out of the cache key.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from prune_core.analysis import score_correlations
from prune_core.analysis_grid import grid_report
from prune_core.export import Export, build_export
from prune_core.maps import pca_2d
from prune_core.results import MapSource, Results
from prune_core.scores.dynamics import datamap
from prune_core.stability import (
    cross_run,
    cross_seed_correlation,
    cross_seed_jaccard,
    seed_siblings,
    seed_stability,
)
from prune_core.store import Run, RunStore, keys
from prune_core.sweeps import jaccard_sweep, tv_sweep

ENTRIES = 16  # per loader: a few runs x a few variants


def token(run: Run, *prefixes: str) -> str:
    """Hash of the recorded checksums of the run's files whose keys start with any of ``prefixes``."""
    return Results(run).checksum(*prefixes)


def _open(root: str, run_id: str) -> Run:
    return RunStore(root).open(run_id)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # a private in-memory copy, never a memory map into a file that may be rewritten
    array.setflags(write=False)
    return array


def _key(run: Run) -> tuple[str, str]:
    return str(run.path.parent), run.id


SELECTION_FILES = (keys.METHODS, keys.prefix(keys.RANKINGS), keys.prefix(keys.SELECTIONS))


# ---------------------------------------------------------------------------------------------- examples
@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _train(root: str, run_id: str, checksum: str) -> pd.DataFrame:
    return _open(root, run_id).examples("train")


def train_examples(run: Run) -> pd.DataFrame:
    """The training split (uid, label, text, ...) in row order: the order of every per-example array."""
    return _train(*_key(run), token(run, keys.EXAMPLES))


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _all_examples(root: str, run_id: str, checksum: str) -> pd.DataFrame:
    return _open(root, run_id).examples()


def all_examples(run: Run) -> pd.DataFrame:
    return _all_examples(*_key(run), token(run, keys.EXAMPLES))


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _size(root: str, run_id: str, updated: str) -> int:
    return _open(root, run_id).size_bytes()


def size_bytes(run: Run) -> int:
    """Disk size of the run folder (re-measured when the manifest changes)."""
    return _size(*_key(run), str(Results(run).updated))


# ---------------------------------------------------------------------------------------------- methods
@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _methods(root: str, run_id: str, checksum: str) -> dict:
    return Results(_open(root, run_id)).methods


def methods(run: Run) -> dict[str, dict]:
    """Every method the run attempted: description, status, seconds, budgets."""
    return _methods(*_key(run), token(run, keys.METHODS))


def done_methods(run: Run, kind: str | None = None) -> dict[str, dict]:
    results = Results(run)
    return {
        m: info
        for m, info in methods(run).items()
        if info.get("status") == "done"
        and results.has_selection(m)
        and (kind is None or info.get("kind") == kind)
    }


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _scores(root: str, run_id: str, checksum: str) -> pd.DataFrame:
    return Results(_open(root, run_id)).scores


def scores(run: Run) -> pd.DataFrame:
    """uid-indexed table, one column per score method, oriented higher = keep."""
    return _scores(*_key(run), token(run, keys.SCORE_TABLE))


@st.cache_resource(max_entries=ENTRIES, show_spinner="Correlating scores...")
def _correlations(root: str, run_id: str, checksum: str, measure: str, ids: tuple[str, ...]) -> pd.DataFrame:
    table = Results(_open(root, run_id)).scores
    return score_correlations(table[list(ids)], measure)


def correlations(run: Run, measure: str, ids: list[str]) -> pd.DataFrame:
    """Correlation matrix of the given score methods (Kendall takes seconds at 100 000 examples: cached)."""
    return _correlations(*_key(run), token(run, keys.SCORE_TABLE), measure, tuple(ids))


# ---------------------------------------------------------------------------------------------- selections
@st.cache_resource(max_entries=64, show_spinner=False)
def _selection(
    root: str, run_id: str, checksum: str, method: str, budget: float, balanced: bool
) -> np.ndarray:
    return _frozen(Results(_open(root, run_id)).selection(method, float(budget), balanced))


def selection(run: Run, method: str, budget: float, balanced: bool = False) -> np.ndarray:
    """Row positions ``method`` keeps at a cached ``budget``, in keep order."""
    return _selection(*_key(run), token(run, *SELECTION_FILES), method, float(budget), bool(balanced))


def selections(run: Run, ids: list[str], budget: float, balanced: bool = False) -> dict[str, np.ndarray]:
    return {m: selection(run, m, budget, balanced) for m in ids}


def membership(run: Run, method: str, budget: float, balanced: bool = False) -> np.ndarray:
    """Boolean mask over the training rows: kept by ``method`` at ``budget``."""
    mask = np.zeros(len(train_examples(run)), dtype=bool)
    mask[selection(run, method, budget, balanced)] = True
    return mask


def budgets(run: Run, method: str, balanced: bool = False) -> list[float]:
    """Budgets cached for a method (from the selections' meta; no file is read)."""
    return Results(run).budgets(method, balanced)


@st.cache_resource(max_entries=ENTRIES, show_spinner="Reading every method's keep order...")
def _rank_positions(root: str, run_id: str, checksum: str, ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    results = Results(_open(root, run_id))
    positions = {}
    for method in ids:
        order = results.ranking(method)
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.arange(len(order))
        positions[method] = _frozen(inverse)
    return positions


def rank_positions(run: Run, ids: list[str]) -> dict[str, np.ndarray]:
    """method -> each example's 0-based position in the method's keep order (its rank - 1)."""
    return _rank_positions(*_key(run), token(run, *SELECTION_FILES), tuple(ids))


@st.cache_resource(max_entries=32, show_spinner="Preparing the export...")
def _export(
    root: str, run_id: str, checksum: str, method: str, budget: float | None, balanced: bool, ranking: bool
) -> Export:
    return build_export(Results(_open(root, run_id)), method, budget, balanced=balanced, ranking=ranking)


def export(run: Run, method: str, budget: float | None, balanced: bool, ranking: bool = False) -> Export:
    """The CLI's export (frame + manifest) of a cached selection or a method's whole keep order."""
    return _export(
        *_key(run),
        token(run, keys.EXAMPLES, *SELECTION_FILES),
        method,
        None if ranking else float(budget),
        bool(balanced),
        bool(ranking),
    )


# ---------------------------------------------------------------------------------------------- maps
@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _map(root: str, run_id: str, checksum: str, source: MapSource) -> np.ndarray:
    coords = np.asarray(Results(_open(root, run_id)).map_coords(source), dtype=np.float32)
    return _frozen(coords if source.kind == "cached" else pca_2d(coords))


def map_coords(run: Run, source: MapSource) -> np.ndarray:
    """2-D coordinates [n, 2] float32 (training row order) of a map source: a cached UMAP / PCA map, or
    the PCA of stored hidden states, computed here once (seconds at 100 000 x 384) and cached."""
    with st.spinner(
        "Projecting hidden states with PCA..." if source.kind == "live" else "Loading the map..."
    ):
        return _map(*_key(run), token(run, source.key), source)


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _data_map(root: str, run_id: str, checksum: str) -> dict[str, np.ndarray]:
    results = Results(_open(root, run_id))
    coords = datamap(
        np.asarray(results.dynamics("p_gold"), dtype=np.float64), np.asarray(results.dynamics("correct"))
    )
    return {k: _frozen(coords[k]) for k in ("confidence", "variability", "correctness")}


def data_map_coords(run: Run) -> dict[str, np.ndarray]:
    """Confidence, variability and correctness per training example (Swayamdipta et al. 2020)."""
    return _data_map(*_key(run), token(run, keys.dynamics("p_gold"), keys.dynamics("correct")))


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _evaluations(root: str, run_id: str, checksum: str) -> pd.DataFrame:
    return Results(_open(root, run_id)).evaluations()


def evaluations(run: Run) -> pd.DataFrame:
    """The run's evaluation results, one row each (empty when nothing was evaluated)."""
    return _evaluations(*_key(run), token(run, keys.EVALUATIONS))


def clear() -> None:
    """Forget every cached load (tests call this between cases)."""
    st.cache_resource.clear()
    st.cache_data.clear()


# ---------------------------------------------------------------------------------------------- agreement
def _results(root: str, run_id: str) -> Results:
    return Results(_open(root, run_id))


@st.cache_resource(max_entries=ENTRIES, show_spinner="Comparing the grid's subsets...")
def _grid(root: str, run_id: str, checksum: str, budget: float, balanced: bool) -> dict:
    return grid_report(_results(root, run_id), budget, balanced)


def grid(run: Run, budget: float, balanced: bool = False) -> dict:
    """``analyze --grid``'s report: selectors x representations, agreement along each axis, verdict."""
    return _grid(*_key(run), token(run, *SELECTION_FILES), float(budget), bool(balanced))


def seed_runs(run: Run) -> list[Run]:
    """The runs of this run's store that differ from it only in the training seed (itself included)."""
    return seed_siblings(RunStore(run.path.parent), run)


def _group(runs: list[Run], *prefixes: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return str(runs[0].path.parent), tuple(r.id for r in runs), tuple(token(r, *prefixes) for r in runs)


@st.cache_resource(max_entries=ENTRIES, show_spinner="Comparing every method across seeds...")
def _stability(root: str, ids: tuple[str, ...], checksums: tuple[str, ...], balanced: bool) -> dict:
    return seed_stability([_results(root, i) for i in ids], balanced=balanced)


def stability(runs: list[Run], balanced: bool = False) -> dict:
    """``analyze --stability``'s report over the given runs (one per seed)."""
    return _stability(*_group(runs, keys.EXAMPLES, keys.SCORE_TABLE, *SELECTION_FILES), bool(balanced))


@st.cache_resource(max_entries=ENTRIES, show_spinner="Comparing subsets across seeds...")
def _cross_seed_jaccard(
    root: str,
    ids: tuple[str, ...],
    checksums: tuple[str, ...],
    methods: tuple[str, ...],
    budget: float,
    balanced: bool,
) -> pd.DataFrame:
    return cross_seed_jaccard([_results(root, i) for i in ids], list(methods), budget, balanced)


def seeds_jaccard(runs: list[Run], methods: list[str], budget: float, balanced: bool = False) -> pd.DataFrame:
    """Methods x methods Jaccard of one seed's subset with another seed's, averaged over seed pairs."""
    return _cross_seed_jaccard(
        *_group(runs, keys.EXAMPLES, *SELECTION_FILES), tuple(methods), float(budget), bool(balanced)
    )


@st.cache_resource(max_entries=ENTRIES, show_spinner="Correlating scores across seeds...")
def _cross_seed_correlation(
    root: str, ids: tuple[str, ...], checksums: tuple[str, ...], methods: tuple[str, ...], measure: str
) -> pd.DataFrame:
    return cross_seed_correlation([_results(root, i) for i in ids], list(methods), measure)


def seeds_correlation(runs: list[Run], methods: list[str], measure: str) -> pd.DataFrame:
    """Methods x methods correlation of one seed's scores with another seed's, averaged over seed pairs."""
    return _cross_seed_correlation(*_group(runs, keys.EXAMPLES, keys.SCORE_TABLE), tuple(methods), measure)


@st.cache_resource(max_entries=ENTRIES, show_spinner=False)
def _jaccard_sweep(root: str, run_id: str, checksum: str, a: str, b: str, balanced: bool) -> pd.DataFrame:
    return jaccard_sweep(_results(root, run_id), a, b, balanced=balanced)


def pair_sweep(run: Run, a: str, b: str, balanced: bool = False) -> pd.DataFrame:
    """Jaccard of two methods' subsets at every budget both have cached, with the random expectation."""
    return _jaccard_sweep(*_key(run), token(run, *SELECTION_FILES), a, b, bool(balanced))


@st.cache_resource(max_entries=ENTRIES, show_spinner="Measuring label balance at every budget...")
def _tv_sweep(
    root: str, run_id: str, checksum: str, methods: tuple[str, ...], balanced: bool
) -> pd.DataFrame:
    return tv_sweep(_results(root, run_id), list(methods), balanced=balanced)


def balance_sweep(run: Run, methods: list[str], balanced: bool = False) -> pd.DataFrame:
    """Budgets x methods: TV distance of each subset's label shares from the full data's."""
    return _tv_sweep(*_key(run), token(run, keys.EXAMPLES, *SELECTION_FILES), tuple(methods), bool(balanced))


def store_runs(run: Run) -> list[Run]:
    """Every run in the same store as ``run`` (newest first)."""
    return RunStore(run.path.parent).runs()


@st.cache_resource(max_entries=ENTRIES, show_spinner="Matching the two runs' subsets by uid...")
def _cross_run(
    root: str, id_a: str, id_b: str, checksum_a: str, checksum_b: str, budget: float, balanced: bool
) -> dict:
    return cross_run(_results(root, id_a), _results(root, id_b), budget, balanced=balanced)


def compare_runs(run: Run, other: Run, budget: float, balanced: bool = False) -> dict:
    """``analyze --compare``'s report: per method, Jaccard of the two runs' subsets matched by uid."""
    files = (keys.EXAMPLES, keys.SCORE_TABLE, *SELECTION_FILES)
    return _cross_run(
        str(run.path.parent),
        run.id,
        other.id,
        token(run, *files),
        token(other, *files),
        float(budget),
        bool(balanced),
    )
