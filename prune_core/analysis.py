"""The dashboard's numbers: how methods' scores correlate, how their subsets overlap, what they do to
the label balance, and where one example ranks under every method.

Du et al. (2025) compare methods by Spearman correlation of their per-example scores and find that
methods with the same nominal objective select different instances; a reviewer asked whether Pearson
tells the same story, and set-based selectors (S2L, k-center, ...) have no score, so subsets are also
compared by Jaccard and overlap. Score tables are pandas DataFrames with one
column per method id and one row per uid, already oriented higher = keep; NaN scores are replaced by
the column's minimum first, exactly as before selection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, rankdata

from prune_core.scores.arrays import as_labels, nan_to_min

CORRELATION_METHODS = ("spearman", "pearson", "kendall")


def _clean_scores(scores: pd.DataFrame, where: str) -> np.ndarray:
    """[n, k] float64 matrix of a score table with NaN -> column minimum; checks numeric columns."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(
            f"{where}: expected a pandas DataFrame (uids x method ids), found {type(scores).__name__}"
        )
    for col in scores.columns:
        if not (pd.api.types.is_numeric_dtype(scores[col]) or pd.api.types.is_bool_dtype(scores[col])):
            raise TypeError(
                f"{where}: column {col!r} should hold numeric scores, found dtype {scores[col].dtype}"
            )
    if scores.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one example (row), found none")
    matrix = np.zeros(scores.shape, dtype=np.float64)
    for j, col in enumerate(scores.columns):
        matrix[:, j] = nan_to_min(scores[col].to_numpy(dtype=np.float64, na_value=np.nan))
    return matrix


def _pearson(matrix: np.ndarray) -> np.ndarray:
    """Pearson correlation of every pair of columns; any pair with a constant column is NaN."""
    centred = matrix - matrix.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    constant = norms <= 1e-12 * np.maximum(1.0, np.abs(matrix).max(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (centred.T @ centred) / np.outer(norms, norms)
    corr = np.clip(corr, -1.0, 1.0)
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    np.fill_diagonal(corr, np.where(constant, np.nan, 1.0))
    return corr


def score_correlations(scores: pd.DataFrame, method: str = "spearman") -> pd.DataFrame:
    """Correlation between every pair of methods' per-example scores (method ids x method ids).

    ``spearman``: columns are ranked once (average ranks for ties, as scipy.stats.spearmanr) and the
    ranks are Pearson-correlated; ``pearson``: on the raw scores; ``kendall``: scipy.stats.kendalltau
    (tau-b) per pair, O(n log n) each. A method whose score is constant correlates with nothing: its
    row and column (diagonal included) are NaN, as scipy returns for constant input.
    """
    if method not in CORRELATION_METHODS:
        raise ValueError(f"score_correlations: method must be one of {CORRELATION_METHODS}, found {method!r}")
    matrix = _clean_scores(scores, "score_correlations")
    names = list(scores.columns)
    if method == "pearson":
        corr = _pearson(matrix)
    elif method == "spearman":
        corr = _pearson(rankdata(matrix, method="average", axis=0))
    else:
        k = matrix.shape[1]
        constant = np.array([np.all(matrix[:, j] == matrix[0, j]) for j in range(k)], dtype=bool)
        corr = np.full((k, k), np.nan)
        for a in range(k):
            if constant[a]:
                continue
            corr[a, a] = 1.0
            for b in range(a + 1, k):
                if not constant[b]:
                    corr[a, b] = corr[b, a] = kendalltau(matrix[:, a], matrix[:, b]).statistic
    return pd.DataFrame(corr, index=pd.Index(names), columns=pd.Index(names))


def _membership(selections: Mapping[str, Iterable]) -> tuple[list[str], np.ndarray]:
    """Method names and a [k, U] 0/1 float64 matrix of which element of the union each method keeps."""
    if not isinstance(selections, Mapping):
        raise TypeError(f"expected a dict of method id -> selected uids, found {type(selections).__name__}")
    names = list(selections)
    members = [
        pd.unique(np.asarray(list(v) if isinstance(v, (set, frozenset)) else v).ravel())
        for v in selections.values()
    ]
    sizes = [len(m) for m in members]
    pooled = np.concatenate([np.asarray(m, dtype=object) for m in members]) if members else np.array([])
    codes, universe = pd.factorize(pooled) if pooled.size else (np.array([], dtype=np.int64), [])
    matrix = np.zeros((len(names), len(universe)), dtype=np.float64)
    rows = np.repeat(np.arange(len(names)), sizes)
    matrix[rows, codes] = 1.0
    return names, matrix


def jaccard_matrix(selections: Mapping[str, Iterable]) -> pd.DataFrame:
    """Jaccard similarity |A & B| / |A | B| between every pair of selected sets (method ids x method ids).

    Two empty sets have an undefined similarity: NaN.
    """
    names, matrix = _membership(selections)
    inter = matrix @ matrix.T
    sizes = np.diag(inter)
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, inter / np.where(union > 0, union, 1.0), np.nan)
    return pd.DataFrame(jac, index=pd.Index(names), columns=pd.Index(names))


def overlap_matrix(selections: Mapping[str, Iterable], k: int | None = None) -> pd.DataFrame:
    """Overlap |A & B| / min(|A|, |B|) between every pair of selected sets, or |A & B| / k when k is given.

    With k = the budget this is the "share of the k kept examples two methods agree on" of Du et al.
    (2025); min(|A|, |B|) handles quantile selections whose sizes differ slightly with ties. An empty
    set gives NaN (undefined) under the min rule.
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0):
        raise ValueError(f"overlap_matrix: k must be a positive count of kept examples, found {k!r}")
    names, matrix = _membership(selections)
    inter = matrix @ matrix.T
    sizes = np.diag(inter)
    denom = np.full_like(inter, float(k)) if k is not None else np.minimum(sizes[:, None], sizes[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        ov = np.where(denom > 0, inter / np.where(denom > 0, denom, 1.0), np.nan)
    return pd.DataFrame(ov, index=pd.Index(names), columns=pd.Index(names))


def largest_intersections(
    selections: Mapping[str, Iterable], top: int | None = 10, max_order: int = 3
) -> pd.DataFrame:
    """UpSet-style exclusive intersections: combinations of methods that share the most examples.

    Each kept example belongs to exactly one combination: the set of methods that keep it. Returns the
    ``top`` combinations of at most ``max_order`` methods by size (ties: fewer methods first, then by
    name), with columns ``methods`` (tuple of method ids), ``label`` ("a & b"), ``order`` and ``size``.
    """
    if max_order < 1:
        raise ValueError(f"largest_intersections: max_order must be >= 1, found {max_order}")
    names, matrix = _membership(selections)
    columns = ["methods", "label", "order", "size"]
    if matrix.shape[1] == 0:
        return pd.DataFrame(columns=columns)
    patterns, counts = np.unique(matrix.T.astype(bool), axis=0, return_counts=True)
    rows = []
    for pattern, count in zip(patterns, counts):
        combo = tuple(name for name, keep in zip(names, pattern) if keep)
        if 1 <= len(combo) <= max_order:
            rows.append((combo, " & ".join(map(str, combo)), len(combo), int(count)))
    rows.sort(key=lambda r: (-r[3], r[2], r[1]))
    table = pd.DataFrame(rows[:top] if top is not None else rows, columns=columns)
    return table.astype({"order": np.int64, "size": np.int64})


def label_histogram(labels_of_subset, n_labels: int) -> np.ndarray:
    """Number of kept examples per label id 0..n_labels-1, int64."""
    values = np.asarray(labels_of_subset).ravel()
    y = as_labels(values, "label_histogram labels", n=values.size, n_classes=n_labels)
    return np.bincount(y, minlength=n_labels).astype(np.int64)


def label_distribution(labels_of_subset, n_labels: int) -> np.ndarray:
    """Share of each label among the kept examples (sums to 1; all NaN for an empty subset)."""
    counts = label_histogram(labels_of_subset, n_labels)
    total = counts.sum()
    return counts / total if total else np.full(n_labels, np.nan)


def total_variation(p, q) -> float:
    """Total-variation distance 0.5 * sum |p - q| between two label distributions (0 = same, 1 = disjoint)."""
    a, b = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"total_variation: expected two distributions of the same length, found shapes "
            f"{a.shape} and {b.shape}"
        )
    if np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    for name, d in (("p", a), ("q", b)):
        if np.any(d < 0) or abs(d.sum() - 1.0) > 1e-6:
            raise ValueError(
                f"total_variation: {name} should be non-negative shares summing to 1, found sum "
                f"{d.sum():.6g} and minimum {d.min():.3g} (pass label_distribution, not counts)"
            )
    return float(0.5 * np.abs(a - b).sum())


def _indices(selected, n: int, name: str) -> np.ndarray:
    """Row positions of a selection given as positions or as a boolean mask of length n."""
    arr = np.asarray(list(selected) if isinstance(selected, (set, frozenset)) else selected)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise ValueError(
                f"label_balance_table[{name!r}]: a boolean mask must have length {n}, found shape {arr.shape}"
            )
        return np.flatnonzero(arr)
    arr = arr.ravel()
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"label_balance_table[{name!r}]: expected integer row positions, found dtype {arr.dtype}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(
            f"label_balance_table[{name!r}]: positions must lie in [0, {n}), found {arr.min()}..{arr.max()}"
        )
    return arr.astype(np.int64)


def label_balance_table(
    selections: Mapping[str, Iterable], labels, label_names, include_full: bool = False
) -> pd.DataFrame:
    """One row per method: subset size, count and share of every label, and TV distance from the full data.

    Du et al. (2025) found LESS's subset concentrated on one class of CAD (fixed by label-balanced
    selection), so the realised label balance is shown next to every budget.
    Selections are row positions into ``labels`` (or boolean masks); ``include_full`` adds a first
    row "(full data)" as the reference.
    """
    names = [str(x) for x in label_names]
    y = as_labels(labels, "label_balance_table labels", n=len(np.asarray(labels)), n_classes=len(names))
    full = label_distribution(y, len(names))
    rows = {}
    entries = ([("(full data)", np.arange(y.size))] if include_full else []) + list(selections.items())
    for method, selected in entries:
        sub = y[_indices(selected, y.size, str(method))]
        counts = label_histogram(sub, len(names))
        shares = label_distribution(sub, len(names))
        row = {"size": int(sub.size)}
        row.update({f"count_{nm}": int(c) for nm, c in zip(names, counts)})
        row.update({f"share_{nm}": float(s) for nm, s in zip(names, shares)})
        row["tv_from_full"] = total_variation(shares, full)
        rows[method] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "method"
    return table


def example_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Every example's rank (1 = kept first, ties by average rank) and percentile under every method.

    Columns are a two-level index: ``("rank", method)`` and ``("percentile", method)``; the percentile is
    100 * (n + 1 - rank) / n, i.e. the share of examples scored at or below it (100 = the top example).
    """
    matrix = _clean_scores(scores, "example_ranks")
    n = matrix.shape[0]
    ranks = rankdata(-matrix, method="average", axis=0)
    percentile = 100.0 * (n + 1 - ranks) / n
    columns = pd.MultiIndex.from_tuples(
        [("rank", c) for c in scores.columns] + [("percentile", c) for c in scores.columns]
    )
    return pd.DataFrame(np.hstack([ranks, percentile]), index=scores.index, columns=columns)


def example_profile(scores: pd.DataFrame, uid) -> pd.DataFrame:
    """One example under every method: its score (as stored), rank (1 = kept first) and percentile.

    Computed by counting (O(n) per method), with the same tie and NaN rules as ``example_ranks``.
    """
    matrix = _clean_scores(scores, "example_profile")
    if not scores.index.is_unique:
        raise ValueError(
            "example_profile: the score table's index (uids) has duplicates; expected one row per uid"
        )
    if uid not in scores.index:
        raise KeyError(f"example_profile: uid {uid!r} is not in the score table ({len(scores)} uids)")
    pos = scores.index.get_loc(uid)
    value = matrix[pos]
    n = matrix.shape[0]
    rank = (matrix > value).sum(axis=0) + ((matrix == value).sum(axis=0) + 1) / 2.0
    return pd.DataFrame(
        {
            "score": scores.iloc[pos].to_numpy(dtype=np.float64),
            "rank": rank,
            "percentile": 100.0 * (n + 1 - rank) / n,
        },
        index=pd.Index(list(scores.columns), name="method"),
    )
