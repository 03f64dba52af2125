"""Evaluation results as tables: one row per result, seed means with spread, a leaderboard at one budget.

Pure pandas (no files): the run's ``evaluations`` table is built from the stored results by
:func:`result_rows`; the CLI report and the app's page aggregate it with :func:`aggregate` and rank it
with :func:`leaderboard`. Each row carries the subset's label counts and its total-variation distance
from the full data's label shares, so a score can be read next to the label balance that may explain it
(LESS vs LESS-balanced in Du et al. 2025).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from prune_core.analysis import total_variation
from prune_core.evaluate.plan import FULL_DATA, RANDOM_BAND, is_deterministic

SPLITS = ("validation", "test")
METRICS = {"accuracy": "accuracy", "macro_f1": "macro-F1"}
# Generation runs (prune_core/evaluate/generation.py): response-token perplexity and loss, lower is better.
GENERATION_METRICS = {"perplexity": "perplexity", "loss": "response-token loss", "rouge_l": "ROUGE-L"}
LOWER_IS_BETTER = frozenset({"perplexity", "loss"})


def metrics_for(task: str) -> dict[str, str]:
    """The metrics (name -> title) a run of ``task`` is evaluated by."""
    return GENERATION_METRICS if task == "generation" else METRICS


KEYS = ["mode", "method", "balanced", "budget"]


def metric_column(split: str, metric: str) -> str:
    if split not in SPLITS or (metric not in METRICS and metric not in GENERATION_METRICS):
        raise ValueError(
            f"metric_column: expected a split in {SPLITS} and a metric in "
            f"{tuple(METRICS) + tuple(GENERATION_METRICS)}, "
            f"found {split!r} and {metric!r}"
        )
    return f"{split}_{metric}"


def series_name(method: str, balanced: bool) -> str:
    """How a line is named on charts and in tables: "less", "less (balanced)", "full data"."""
    if method == FULL_DATA:
        return "full data"
    name = "random band" if method == RANDOM_BAND else method
    return f"{name} (balanced)" if balanced else name


def result_rows(
    records: Iterable[Mapping],
    label_names: list[str],
    full_counts: np.ndarray,
    metrics: Mapping[str, str] = METRICS,
) -> pd.DataFrame:
    """One row per stored result: the job, the subset's size, label counts and TV distance, the metrics
    (``metrics``: ``metrics_for(task)``; generation runs have no predicted labels to count)."""
    names = [str(n) for n in label_names]
    full = np.asarray(full_counts, dtype=np.float64)
    full_shares = full / full.sum()
    rows = []
    for record in records:
        job = record["job"]
        counts = np.asarray(record["label_counts"], dtype=np.int64)
        row = {
            "mode": job["mode"],
            "method": job["method"],
            "balanced": bool(job["balanced"]),
            "budget": float(job["budget"]),
            "seed": int(job["seed"]),
            "size": int(record["size"]),
        }
        for split in SPLITS:
            scores = record["metrics"].get(split) or {}
            for metric in metrics:
                row[metric_column(split, metric)] = float(scores.get(metric, np.nan))
            # how many labels the model predicts at all: 1 means it collapsed to a constant answer
            predicted = scores.get("predicted_counts")
            row[f"{split}_labels_predicted"] = float(np.count_nonzero(predicted)) if predicted else np.nan
        row.update({f"count_{n}": int(c) for n, c in zip(names, counts)})
        row["tv_from_full"] = (
            total_variation(counts / max(counts.sum(), 1), full_shares) if counts.sum() else np.nan
        )
        steps = record.get("steps")
        row.update(
            steps=float(steps) if steps is not None else np.nan,
            seconds=float(record.get("seconds", np.nan)),
            key_hash=str(record.get("key_hash", "")),
        )
        rows.append(row)
    columns = [
        "mode",
        "method",
        "balanced",
        "budget",
        "seed",
        "size",
        *[metric_column(s, m) for s in SPLITS for m in metrics],
        *[f"{s}_labels_predicted" for s in SPLITS],
        *[f"count_{n}" for n in names],
        "tv_from_full",
        "steps",
        "seconds",
        "key_hash",
    ]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["mode", "method", "balanced", "budget", "seed"], ignore_index=True)


def one_run_of_deterministic_series(table: pd.DataFrame) -> pd.DataFrame:
    """Drop repeats of a result that cannot vary with the seed (fast mode, every series but the random
    band), keeping the lowest seed: tables written before fast mode ran such series once still hold one
    copy per seed, which would read as a spread of exactly 0 over several seeds."""
    if table.empty:
        return table
    fixed = np.array([is_deterministic(m, mode) for m, mode in zip(table["method"], table["mode"])])
    repeat = table[fixed].sort_values("seed").duplicated(KEYS)
    return table.drop(index=repeat[repeat].index)


def aggregate(table: pd.DataFrame, column: str, label_names: list[str]) -> pd.DataFrame:
    """Mean, sample standard deviation (ddof 1; 0 for one seed), min and max of ``column`` over seeds for
    every (mode, method, balanced, budget), with the mean subset size, label shares and TV distance.
    Deterministic series (fast mode) count once whatever seeds were asked for."""
    names = [str(n) for n in label_names]
    count_columns = [f"count_{n}" for n in names]
    if table.empty:
        return pd.DataFrame(
            columns=[
                *KEYS,
                "series",
                "mean",
                "std",
                "min",
                "max",
                "seeds",
                "size",
                *[f"share_{n}" for n in names],
                "tv_from_full",
            ]
        )
    table = one_run_of_deterministic_series(table)
    grouped = table.groupby(KEYS, sort=True)
    out = grouped[column].agg(["mean", "std", "min", "max", "count"]).rename(columns={"count": "seeds"})
    out["std"] = out["std"].fillna(0.0)
    out["size"] = grouped["size"].mean()
    counts = grouped[count_columns].sum()
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
    out[[f"share_{n}" for n in names]] = shares.to_numpy()
    out["tv_from_full"] = grouped["tv_from_full"].mean()
    split = column.split("_", 1)[0]
    if f"{split}_labels_predicted" in table:
        out["labels_predicted"] = grouped[f"{split}_labels_predicted"].min()
    out = out.reset_index()
    out.insert(4, "series", [series_name(m, b) for m, b in zip(out["method"], out["balanced"])])
    return out


def leaderboard(summary: pd.DataFrame, budget: float, *, lower_is_better: bool = False) -> pd.DataFrame:
    """Every series at ``budget`` (plus the full-data ceiling) ranked by mean score, best first, with the
    gap to the random band of the same variant and to the full data. ``summary`` holds one mode.
    ``lower_is_better``: the metric is a loss or perplexity (generation runs)."""
    modes = summary["mode"].unique()
    if len(modes) > 1:
        raise ValueError(f"leaderboard: expected the results of one mode, found {sorted(modes)}")
    at = summary[np.isclose(summary["budget"], budget) | (summary["method"] == FULL_DATA)].copy()
    band = at[at["method"] == RANDOM_BAND].set_index("balanced")["mean"]
    ceiling = at.loc[at["method"] == FULL_DATA, "mean"]
    at["vs_random"] = [m - band.get(b, np.nan) for m, b in zip(at["mean"], at["balanced"])]
    at["vs_full"] = at["mean"] - (float(ceiling.iloc[0]) if len(ceiling) else np.nan)
    at = at.sort_values(["mean", "series"], ascending=[lower_is_better, True], ignore_index=True)
    at.insert(0, "rank", np.arange(1, len(at) + 1))
    return at


def paired_vs_random(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Each method's difference from the random band, paired by seed (same mode, budget and variant).

    Seed s of a method and seed s of the random band share the training seed (initial head, data
    order, dropout), so their difference removes that source of noise. Per series and budget: the
    number of paired seeds, the mean and sample std of the differences, how many seeds beat the band
    (a lower value wins for perplexity and loss), and a two-sided paired t-test p-value (NaN below two
    seeds or when every difference is equal).
    Fine-tune rows only: in fast mode a method's probe is deterministic (one row, no training seed),
    so there is nothing to pair with the band's random draws.
    """
    columns = [*KEYS, "series", "pairs", "mean_diff", "std_diff", "wins", "p_value"]
    table = table[table["mode"] == "finetune"] if "mode" in table else table
    if table.empty:
        return pd.DataFrame(columns=columns)
    band = table[table["method"] == RANDOM_BAND].set_index(["mode", "balanced", "budget", "seed"])[column]
    lower_wins = column.split("_", 1)[-1] in LOWER_IS_BETTER  # "test_perplexity" -> "perplexity"
    rows = []
    others = table[~table["method"].isin([RANDOM_BAND, FULL_DATA])]
    for keys, group in others.groupby(KEYS, sort=True):
        mode, method, balanced, budget = keys
        diffs = []
        for seed, value in zip(group["seed"], group[column]):
            reference = band.get((mode, balanced, budget, seed))
            if reference is not None and np.isfinite(value) and np.isfinite(reference):
                diffs.append(float(value) - float(reference))
        if not diffs:
            continue
        d = np.asarray(diffs)
        p_value = np.nan
        if len(d) > 1 and np.std(d) > 0:
            from scipy.stats import ttest_1samp

            p_value = float(ttest_1samp(d, 0.0).pvalue)
        rows.append(
            {
                "mode": mode,
                "method": method,
                "balanced": balanced,
                "budget": budget,
                "series": series_name(method, balanced),
                "pairs": len(d),
                "mean_diff": float(d.mean()),
                "std_diff": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                "wins": int((d < 0).sum() if lower_wins else (d > 0).sum()),
                "p_value": p_value,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def paired_metrics(task: str) -> list[str]:
    """The metrics the CLI pairs against the random band. Classification gets accuracy and macro-F1
    both: on an imbalanced set (Davidson is 77 % one label) accuracy mostly rewards the majority
    class, and macro-F1 is the number to read. Generation gets perplexity."""
    return ["perplexity"] if task == "generation" else list(METRICS)


def paired_text(paired: pd.DataFrame) -> pd.DataFrame:
    """The paired comparison as printed by the CLI: "+0.031 ± 0.012", wins "3/3", p-value."""
    return pd.DataFrame(
        {
            "mode": paired["mode"],
            "series": paired["series"],
            "budget": paired["budget"],
            "vs random (paired)": [
                f"{m:+.3f} ± {s:.3f}" for m, s in zip(paired["mean_diff"], paired["std_diff"])
            ],
            "wins": [f"{w}/{n}" for w, n in zip(paired["wins"], paired["pairs"])],
            "p": paired["p_value"].round(3),
        }
    )


def mean_std_text(mean: float, std: float) -> str:
    return "—" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}"


def score_text(mean: float, std: float, deterministic: bool) -> str:
    """``0.934`` for a deterministic result (no spread to show), ``0.944 ± 0.007`` otherwise."""
    if deterministic:
        return "—" if np.isnan(mean) else f"{mean:.3f}"
    return mean_std_text(mean, std)


def runs_text(mode: str, method: str, runs: int) -> str:
    """What a score is an average of: seeds of training, random draws of the band, or one fixed run."""
    if is_deterministic(method, mode):
        return "1 (deterministic)"
    if mode == "fast":  # only the random band varies in fast mode: by the subset drawn
        return f"{runs} random draws"
    return f"{runs} seed{'s' if runs != 1 else ''}"


def report_frame(table: pd.DataFrame, label_names: list[str], split: str = "test") -> pd.DataFrame:
    """One line per (mode, series, budget) of ``split``: accuracy and macro-F1 (mean ± std over seeds,
    or over random draws for the fast mode's random band, or the one value of a deterministic series),
    what the score averages, the mean subset size and the TV distance of its labels from the full data
    (the CLI's printout)."""
    columns = [
        "mode",
        "series",
        "budget",
        "accuracy",
        "macro-F1",
        "runs",
        "size",
        "label TV",
        "labels predicted",
    ]
    if table.empty:
        return pd.DataFrame(columns=columns)
    if metric_column(split, "accuracy") not in table:
        return _generation_report(table, label_names, split)
    accuracy = aggregate(table, metric_column(split, "accuracy"), label_names)
    f1 = aggregate(table, metric_column(split, "macro_f1"), label_names)
    fixed = [is_deterministic(m, mode) for m, mode in zip(accuracy["method"], accuracy["mode"])]
    frame = pd.DataFrame(
        {
            "mode": accuracy["mode"],
            "series": accuracy["series"],
            "budget": accuracy["budget"],
            "accuracy": [score_text(m, s, d) for m, s, d in zip(accuracy["mean"], accuracy["std"], fixed)],
            "macro-F1": [score_text(m, s, d) for m, s, d in zip(f1["mean"], f1["std"], fixed)],
            "runs": [
                runs_text(mode, m, int(n))
                for mode, m, n in zip(accuracy["mode"], accuracy["method"], accuracy["seeds"])
            ],
            "size": accuracy["size"].round().astype(int),
            "label TV": accuracy["tv_from_full"].round(3),
            "labels predicted": accuracy.get("labels_predicted", pd.Series(np.nan, index=accuracy.index)),
        },
        columns=columns,
    )
    baseline_last = [(m == FULL_DATA, m == RANDOM_BAND) for m in accuracy["method"]]
    order = sorted(
        range(len(frame)),
        key=lambda i: (frame["mode"][i], *baseline_last[i], frame["series"][i], frame["budget"][i]),
    )
    return frame.iloc[order].reset_index(drop=True)


def _generation_report(table: pd.DataFrame, label_names: list[str], split: str) -> pd.DataFrame:
    """``report_frame`` of a generation run: perplexity and response-token loss (lower is better) and
    the TV distance of the subset's sources from the full data."""
    perplexity = aggregate(table, metric_column(split, "perplexity"), label_names)
    loss = aggregate(table, metric_column(split, "loss"), label_names)
    fixed = [is_deterministic(m, mode) for m, mode in zip(perplexity["method"], perplexity["mode"])]
    frame = pd.DataFrame(
        {
            "mode": perplexity["mode"],
            "series": perplexity["series"],
            "budget": perplexity["budget"],
            "perplexity": [
                score_text(m, s, d) for m, s, d in zip(perplexity["mean"], perplexity["std"], fixed)
            ],
            "loss": [score_text(m, s, d) for m, s, d in zip(loss["mean"], loss["std"], fixed)],
            "runs": [
                runs_text(mode, m, int(n))
                for mode, m, n in zip(perplexity["mode"], perplexity["method"], perplexity["seeds"])
            ],
            "size": perplexity["size"].round().astype(int),
            "source TV": perplexity["tv_from_full"].round(3),
        }
    )
    baseline_last = [(m == FULL_DATA, m == RANDOM_BAND) for m in perplexity["method"]]
    order = sorted(
        range(len(frame)),
        key=lambda i: (frame["mode"][i], *baseline_last[i], frame["series"][i], frame["budget"][i]),
    )
    return frame.iloc[order].reset_index(drop=True)


def report_heading(table: pd.DataFrame, split: str) -> str:
    """The line above the CLI's table: what the ± means in each mode the table holds."""
    notes = []
    generation = metric_column(split, "accuracy") not in table
    if generation:
        notes.append(
            "response-token perplexity and loss of a model fine-tuned on each subset (lower is better); "
            "fast mode trains for the run's epochs over the subset with seed 0, fine-tune mode for the "
            "steps-matched budget"
        )
    elif (table["mode"] == "fast").any():
        notes.append(
            "fast mode: one deterministic probe per method (seeds cannot change it); the random band is "
            "the only row with a spread: mean ± std over random subsets of the same size"
        )
    if (table["mode"] == "finetune").any():
        notes.append("fine-tune mode: mean ± std over training seeds")
    return f"{split} split; " + "; ".join(notes)


def grid_table(
    board: pd.DataFrame, methods: Mapping[str, Mapping], *, lower_is_better: bool = False
) -> pd.DataFrame:
    """Du et al.'s grid at one budget: one row per representation family, one column per nominal objective,
    each cell the best evaluated series there with its mean score ("" where nothing was evaluated)."""
    cells: dict[tuple[str, str], tuple[float, str]] = {}
    for series, method, mean in zip(board["series"], board["method"], board["mean"]):
        if method in (RANDOM_BAND, FULL_DATA) or np.isnan(mean):
            continue
        info = methods.get(method, {})
        cell = (str(info.get("family", "unknown")), str(info.get("objective", "unknown")))
        if cell not in cells or (mean < cells[cell][0] if lower_is_better else mean > cells[cell][0]):
            cells[cell] = (float(mean), str(series))
    families = sorted({f for f, _ in cells})
    objectives = sorted({o for _, o in cells})
    grid = pd.DataFrame("", index=pd.Index(families, name="representation"), columns=objectives)
    for (family, objective), (mean, series) in cells.items():
        grid.loc[family, objective] = f"{series}: {mean:.3f}"
    return grid
