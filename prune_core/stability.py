"""How stable a method's subset is: across training seeds of the reference model, and across two runs.

Scores read off one training run (EL2N, forgetting, AUM, ...) are known to move with the seed (Paul,
Ganguli & Dziugaite 2021, NeurIPS, average EL2N over several seeds for that reason), and a subset that
changes with the seed is a property of the seed, not of the data. So: per method, the Jaccard of its
subsets across seeds at every budget, and the Spearman correlation of its scores across seeds, each next
to what random subsets / random orders would give.

Seed groups: runs that differ only in the training seed (``prunescope compute --seeds 0,1,2`` makes
them; the data sample is the same for every seed). Runs are grouped by their recorded configuration
without the training seed. Cross-run comparison: two runs of the same data (two models, full fine-tuning
vs LoRA), subsets matched by uid.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from itertools import combinations, permutations

import numpy as np
import pandas as pd

from prune_core.agreement import (
    Spread,
    expected_random_jaccard,
    finite,
    random_spearman_spread,
)
from prune_core.analysis import jaccard_matrix, score_correlations
from prune_core.store import Run, RunStore, stable_hash

SEED_PATH = ("train", "seed")  # where a run's configuration records its training seed


# ---------------------------------------------------------------------------------------------- seed groups
def seed_of(run: Run) -> int | None:
    """The training seed a run records (None when its configuration has none)."""
    value = run.config.get(SEED_PATH[0], {})
    return value.get(SEED_PATH[1]) if isinstance(value, dict) else None


def seed_group_key(run: Run) -> str:
    """Hash of the run's configuration without the training seed: equal for runs that differ only in seed."""
    config = copy.deepcopy(run.config)
    section = config.get(SEED_PATH[0])
    if isinstance(section, dict):
        section.pop(SEED_PATH[1], None)
    return stable_hash(config, 16)


def seed_siblings(store: RunStore, run: Run) -> list[Run]:
    """Every run of the store in ``run``'s seed group (itself included), ordered by seed.

    Runs without a recorded seed form no group: the answer is the run alone.
    """
    if seed_of(run) is None:
        return [run]
    key = seed_group_key(run)
    group = {r.id: r for r in store.runs() if seed_of(r) is not None and seed_group_key(r) == key}
    group.setdefault(run.id, run)
    return sorted(group.values(), key=lambda r: (seed_of(r), r.id))


# ---------------------------------------------------------------------------------------------- helpers
def _common_methods(results: Sequence, methods: Sequence[str] | None) -> list[str]:
    shared = [m for m in results[0].available() if all(m in r.available() for r in results[1:])]
    if methods is None:
        return shared
    missing = [m for m in methods if m not in shared]
    if missing:
        raise ValueError(
            f"method(s) {', '.join(missing)} are not computed on every run compared "
            f"({', '.join(r.run.id for r in results)}); computed on all: {', '.join(shared) or 'none'}"
        )
    return list(methods)


def _common_budgets(results: Sequence, method: str, balanced: bool) -> list[float]:
    sets = [{round(float(b), 9) for b in r.budgets(method, balanced)} for r in results]
    return sorted(set.intersection(*sets))


def _uid_sets(results: Sequence, method: str, budget: float, balanced: bool) -> dict[str, np.ndarray]:
    return {r.run.id: r.selected_uids(method, budget, balanced) for r in results}


def _score_frame(results: Sequence, method: str) -> pd.DataFrame | None:
    """One column per run of ``method``'s scores, on the uids every run shares; None if not a score."""
    columns = []
    for i, r in enumerate(results):
        if method not in r.scores.columns:
            return None
        columns.append(r.scores[method].rename(f"{i}:{r.run.id}"))  # a run may be compared with itself
    frame = pd.concat(columns, axis=1, join="inner")
    return frame if len(frame) >= 2 else None


def _mean_off_diagonal(matrix: pd.DataFrame) -> Spread:
    values = matrix.to_numpy()
    return Spread.of(values[np.triu_indices(len(values), 1)])


# ---------------------------------------------------------------------------------------------- seed stability
def method_stability(results: Sequence, method: str, balanced: bool = False) -> dict:
    """One method across several runs: Jaccard of its subsets at every shared budget, Spearman of scores."""
    n = len(set.intersection(*(set(r.train["uid"]) for r in results)))
    rows = []
    for budget in _common_budgets(results, method, balanced):
        uids = _uid_sets(results, method, budget, balanced)
        jac = _mean_off_diagonal(jaccard_matrix(uids))
        sizes = [len(u) for u in uids.values()]
        chance = float(
            np.mean([expected_random_jaccard(min(a, n), n, min(b, n)) for a, b in combinations(sizes, 2)])
        )
        rows.append(
            {
                "budget": budget,
                "k": int(np.median(sizes)),
                "jaccard": jac.to_dict(),
                "random_jaccard": finite(chance),
            }
        )
    frame = _score_frame(results, method)
    spearman = None
    if frame is not None:
        spearman = {
            **_mean_off_diagonal(score_correlations(frame, "spearman")).to_dict(),
            "random_mean": 0.0,
            "random_std": finite(random_spearman_spread(len(frame))),
        }
    # Same subsets (and scores) on every seed: the method never reads the trained model (the random
    # baseline's own seed, pretrained hidden states), so its "stability" says nothing about the seed.
    identical = bool(rows) and all(r["jaccard"]["min"] == 1.0 for r in rows)
    identical = identical and (spearman is None or spearman["min"] >= 1.0 - 1e-12)
    return {"method": method, "budgets": rows, "spearman": spearman, "identical": identical}


def seed_stability(results: Sequence, methods: Sequence[str] | None = None, balanced: bool = False) -> dict:
    """Seed stability of every method the runs share (``results``: one ``Results`` per seed)."""
    if len(results) < 2:
        raise ValueError(
            f"seed stability needs at least two runs that differ only in seed; found {len(results)} "
            "(make them with `prunescope compute ... --seeds 0,1,2`, then `prunescope select` on each)"
        )
    return {
        "runs": [r.run.id for r in results],
        "seeds": [seed_of(r.run) for r in results],
        "balanced": balanced,
        "methods": [method_stability(results, m, balanced) for m in _common_methods(results, methods)],
    }


def stability_table(report: dict) -> pd.DataFrame:
    """A seed-stability report as one row per (method, budget): mean Jaccard, its range, random Jaccard,
    the method's mean cross-seed Spearman (NaN for set methods), and whether it is identical on every
    seed (it does not read the trained model)."""
    rows = []
    for entry in report["methods"]:
        rho = entry["spearman"]["mean"] if entry["spearman"] else None
        for row in entry["budgets"]:
            rows.append(
                {
                    "method": entry["method"],
                    "budget": row["budget"],
                    "jaccard": row["jaccard"]["mean"],
                    "jaccard_min": row["jaccard"]["min"],
                    "jaccard_max": row["jaccard"]["max"],
                    "random_jaccard": row["random_jaccard"],
                    "spearman": rho,
                    "identical": bool(entry.get("identical", False)),
                }
            )
    columns = ["method", "budget", "jaccard", "jaccard_min", "jaccard_max", "random_jaccard", "spearman"]
    frame = pd.DataFrame(rows, columns=[*columns, "identical"])
    return frame.astype({**{c: float for c in columns[1:]}, "identical": bool})


def _key(seed_index: int, method: str) -> str:
    return f"{seed_index}:{method}"


def _cross_seed(n_runs: int, methods: Sequence[str], full: pd.DataFrame) -> pd.DataFrame:
    """Average ``full`` (indexed by ``_key``) over ordered pairs of different runs, per pair of methods."""
    out = np.zeros((len(methods), len(methods)))
    for x, a in enumerate(methods):
        for y, b in enumerate(methods):
            values = np.array([full.loc[_key(i, a), _key(j, b)] for i, j in permutations(range(n_runs), 2)])
            finite_values = values[np.isfinite(values)]  # a constant score correlates with nothing: NaN
            out[x, y] = finite_values.mean() if finite_values.size else np.nan
    return pd.DataFrame(out, index=pd.Index(list(methods)), columns=pd.Index(list(methods)))


def cross_seed_jaccard(
    results: Sequence, methods: Sequence[str], budget: float, balanced: bool = False
) -> pd.DataFrame:
    """Methods x methods: mean Jaccard of method a's subset under one seed and b's under another seed.

    Averaged over ordered pairs of different seeds; the diagonal is each method's seed stability, so an
    off-diagonal value near the diagonal says the two methods differ no more than one method's reruns.
    """
    if len(results) < 2:
        raise ValueError(f"an across-seeds comparison needs at least two runs, found {len(results)}")
    uids = {_key(i, m): r.selected_uids(m, budget, balanced) for i, r in enumerate(results) for m in methods}
    return _cross_seed(len(results), methods, jaccard_matrix(uids))


def cross_seed_correlation(
    results: Sequence, methods: Sequence[str], measure: str = "spearman"
) -> pd.DataFrame:
    """Methods x methods: mean correlation of a's scores under one seed with b's under another seed
    (on the uids every run shares); the diagonal is each method's cross-seed correlation."""
    if len(results) < 2:
        raise ValueError(f"an across-seeds comparison needs at least two runs, found {len(results)}")
    columns = [r.scores[m].rename(_key(i, m)) for i, r in enumerate(results) for m in methods]
    return _cross_seed(
        len(results), methods, score_correlations(pd.concat(columns, axis=1, join="inner"), measure)
    )


# ---------------------------------------------------------------------------------------------- cross-run
def cross_run(a, b, budget: float, methods: Sequence[str] | None = None, balanced: bool = False) -> dict:
    """Two runs of the same data side by side: per method, Jaccard of their subsets matched by uid.

    Only uids present in both runs count (two runs of one dataset share all of them); the random
    expectation is for subsets of those sizes drawn from the shared uids.
    """
    shared = np.intersect1d(a.train["uid"].to_numpy(), b.train["uid"].to_numpy())
    if shared.size == 0:
        raise ValueError(
            f"runs {a.run.id} and {b.run.id} share no example uids: they are not runs of the same data"
        )
    rows = []
    for method in _common_methods([a, b], methods):
        ua = np.intersect1d(a.selected_uids(method, budget, balanced), shared)
        ub = np.intersect1d(b.selected_uids(method, budget, balanced), shared)
        union = np.union1d(ua, ub).size
        jac = np.intersect1d(ua, ub).size / union if union else float("nan")
        frame = _score_frame([a, b], method)
        rho = float(score_correlations(frame, "spearman").iloc[0, 1]) if frame is not None else None
        rows.append(
            {
                "method": method,
                "size_a": int(ua.size),
                "size_b": int(ub.size),
                "shared_kept": int(np.intersect1d(ua, ub).size),
                "jaccard": finite(jac),
                "random_jaccard": finite(expected_random_jaccard(ua.size, shared.size, ub.size)),
                "spearman": finite(rho) if rho is not None else None,
            }
        )
    return {
        "runs": [a.run.id, b.run.id],
        "budget": budget,
        "balanced": balanced,
        "shared_uids": int(shared.size),
        "only_in_a": int(a.n - shared.size),
        "only_in_b": int(b.n - shared.size),
        "methods": rows,
    }
