"""Plain data shaping for the pages: method order, budgets, tables of examples, a selection's export.

No Streamlit and no file I/O here, so each rule is tested on hand data: pages call these between a
cached loader and a plot builder.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from app.figures.text import from_plot_text
from prune_core import __version__
from prune_core.export import Export, dataset_columns
from prune_core.results import MapSource
from prune_core.store import StageRecord
from prune_core.store.keys import parse_stage

# Rows of the correlation and overlap heatmaps: representation family first (Du et al.'s first axis),
# then the nominal objective (their second), so same-representation blocks sit together.
FAMILY_ORDER = ("training dynamics", "hidden states", "gradients", "baseline")
OBJECTIVE_ORDER = ("difficulty", "diversity", "relevance", "baseline")
MANUAL_SELECTION = "manual-selection"


def _position(value: str | None, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


def order_methods(methods: Mapping[str, dict], ids: Iterable[str] | None = None) -> list[str]:
    """Method ids ordered by representation family, representation, objective, then id."""
    chosen = list(methods) if ids is None else [m for m in ids]
    return sorted(
        chosen,
        key=lambda m: (
            _position(methods.get(m, {}).get("family"), FAMILY_ORDER),
            str(methods.get(m, {}).get("representation", "")),
            _position(methods.get(m, {}).get("objective"), OBJECTIVE_ORDER),
            m,
        ),
    )


def method_groups(methods: Mapping[str, dict]) -> dict[str, str]:
    """method id -> representation family (the heatmaps draw a line where it changes)."""
    return {m: str(info.get("family", "")) for m, info in methods.items()}


def method_notes(methods: Mapping[str, dict]) -> dict[str, str]:
    """method id -> "title: how its raw score was oriented" for hover text."""
    return {m: f"{info.get('title', m)}; {info.get('direction', '')}" for m, info in methods.items()}


def spread(ids: list[str], methods: Mapping[str, dict], count: int) -> list[str]:
    """Up to ``count`` methods taken round-robin across representation families (a varied default)."""
    families: dict[str, list[str]] = {}
    for method in ids:
        families.setdefault(str(methods.get(method, {}).get("family", "")), []).append(method)
    picked: list[str] = []
    while len(picked) < min(count, len(ids)):
        for members in families.values():
            remaining = [m for m in members if m not in picked]
            if remaining and len(picked) < count:
                picked.append(remaining[0])
    return picked


def method_label(method: str, methods: Mapping[str, dict]) -> str:
    info = methods.get(method, {})
    title = info.get("title")
    return f"{title} ({method})" if title and title != method else method


def budget_text(budget: float) -> str:
    """0.1 -> "10 %" (fractions); 500 -> "500 examples" (counts)."""
    if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool) and budget > 1:
        return f"{int(budget):,} examples"
    return f"{float(budget) * 100:.4g} %"


def common_budgets(budget_lists: Iterable[Iterable[float]]) -> list[float]:
    """Budgets cached for every method (rounded to 6 decimals), ascending; empty when there is none."""
    sets = [{round(float(b), 6) for b in budgets} for budgets in budget_lists]
    return sorted(set.intersection(*sets)) if sets else []


def default_budget(budgets: list[float], preferred: float = 0.3) -> float:
    """The cached budget closest to ``preferred`` (a 30 % subset shows disagreement well)."""
    if not budgets:
        raise ValueError("default_budget: expected at least one cached budget, found none")
    return min(budgets, key=lambda b: (abs(b - preferred), b))


def stage_table(stages: Mapping[str, StageRecord]) -> pd.DataFrame:
    """The run's stage records as rows (stage, status, seconds, error) in pipeline order."""
    kinds = ("data", "train", "represent", "select", "map")

    def order(name: str) -> tuple:
        parsed = parse_stage(name)
        rest = parsed.checkpoint or ""
        epoch = (
            -1
            if rest == "pretrained"
            else int(rest[6:])
            if rest.startswith("epoch-") and rest[6:].isdigit()
            else 0
        )
        return _position(parsed.kind, kinds), epoch, name

    rows = [
        {
            "stage": name,
            "status": info.status,
            "seconds": None if info.seconds is None else round(float(info.seconds), 1),
            "error": info.error or "",
        }
        for name, info in sorted(stages.items(), key=lambda kv: order(kv[0]))
    ]
    return pd.DataFrame(rows, columns=["stage", "status", "seconds", "error"])


def stage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """``stage_table`` with the many ``select:<method>`` and ``map:<rep>:<m>`` rows folded into one row each.

    Seconds add up; the status is the worst one (failed > running > missing > done).
    """
    worst = ("failed", "running", "missing", "done")

    def group(stage: str) -> str:
        kind = parse_stage(stage).kind
        if kind in ("select", "map"):
            count = int(table["stage"].str.startswith(kind + ":").sum())
            return f"{'select' if kind == 'select' else 'maps'} ({count} {'methods' if kind == 'select' else 'maps'})"
        return stage

    grouped = table.assign(group=table["stage"].map(group))
    rows = [
        {
            "stage": name,
            "seconds": float(part["seconds"].fillna(0).sum()),
            "status": min(part["status"], key=lambda s: worst.index(s) if s in worst else 0),
        }
        for name, part in grouped.groupby("group", sort=False)
    ]
    return pd.DataFrame(rows, columns=["stage", "status", "seconds"])


def group_noun(run) -> str:
    """What subsets are balanced over: a run's ``label``, or for generation runs its ``source`` (where each
    prompt/response pair comes from; prune_core/prompt_data.py)."""
    return "source" if getattr(run, "task", "classification") == "generation" else "label"


def label_counts(examples: pd.DataFrame, label_names: list[str]) -> pd.DataFrame:
    """Examples per label (rows, by name) and split (columns: train, validation, test as present)."""
    names = [str(n) for n in label_names] or sorted(map(str, examples["label"].unique()))
    table = pd.crosstab(examples["label"], examples["split"]).reindex(range(len(names)), fill_value=0)
    table.index = names
    splits = [s for s in ("train", "validation", "test") if s in table.columns]
    return table[splits + [c for c in table.columns if c not in splits]]


def selection_frame(
    train: pd.DataFrame,
    positions: np.ndarray,
    label_names: list[str],
    extra: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The selected training examples (uid, label, text, and any per-row ``extra`` columns), in order."""
    positions = np.asarray(positions, dtype=np.int64)
    labels = train["label"].to_numpy()[positions]
    frame = pd.DataFrame(
        {
            "uid": train["uid"].to_numpy()[positions],
            "label": [label_names[i] if i < len(label_names) else str(i) for i in labels],
            "text": train["text"].to_numpy()[positions],
        }
    )
    if "response" in train:  # generation: text is the prompt, label the source
        frame["response"] = train["response"].to_numpy()[positions]
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values)[positions]
    return frame


def selection_export(
    train: pd.DataFrame,
    positions: np.ndarray,
    label_names: list[str],
    *,
    run_id: str,
    fingerprint: str | None,
    source: Mapping[str, object],
    dataset_spec: Mapping[str, object] | None = None,
) -> Export:
    """An export of arbitrary selected rows in the shape ``prune_core.export.build_export`` gives a method.

    The frame has the same columns (uid, rank, label, label_name, text[, text_pair]) so ``render`` writes
    the same files; the manifest says the subset was picked by hand on a map (``source`` names the map,
    colouring and selection geometry) instead of naming a method and budget.
    """
    positions = np.asarray(positions, dtype=np.int64)
    labels = train["label"].to_numpy()[positions]
    names = [str(n) for n in label_names]
    frame = pd.DataFrame(
        {"uid": train["uid"].to_numpy()[positions], "rank": np.arange(1, len(positions) + 1), "label": labels}
    )
    frame["label_name"] = [names[i] if i < len(names) else str(i) for i in labels]
    frame["text"] = train["text"].to_numpy()[positions]
    if "text_pair" in train:
        frame["text_pair"] = train["text_pair"].to_numpy()[positions]
    if "response" in train:
        frame["response"] = train["response"].to_numpy()[positions]
    histogram = {
        names[i] if i < len(names) else str(i): int(c)
        for i, c in enumerate(np.bincount(labels.astype(np.int64), minlength=len(names)))
    }
    manifest = {
        "run": run_id,
        "dataset_fingerprint": fingerprint,
        "method": MANUAL_SELECTION,
        "title": "Examples selected on the embedding map",
        "representation": source.get("representation"),
        "selector": "box / lasso selection in the dashboard",
        "parameters": dict(source),
        "budget": None,
        "ranking": False,
        "balanced": False,
        "size": len(frame),
        "of": len(train),
        "label_histogram": histogram,
        "task": str(dict(dataset_spec or {}).get("task") or "classification"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "prunescope": __version__,
        "dataset_columns": dataset_columns(dict(dataset_spec or {})),
    }
    return Export(frame, manifest)


def search_examples(train: pd.DataFrame, query: str, limit: int = 50) -> pd.DataFrame:
    """Examples whose uid equals ``query`` first, then those whose text contains it (case-insensitive).

    Returns up to ``limit`` rows of the training split with their row position in a ``row`` column.
    """
    query = query.strip()
    if not query:
        return train.iloc[:0].assign(row=pd.Series(dtype=np.int64))
    uids = train["uid"].astype(str)
    exact = np.flatnonzero(uids.to_numpy() == query)
    found = train["text"].astype(str).str.contains(query, case=False, regex=False).to_numpy(copy=True)
    if "response" in train:
        found = found | train["response"].astype(str).str.contains(query, case=False, regex=False).to_numpy()
    contains = np.flatnonzero(found | uids.str.contains(query, case=False, regex=False).to_numpy())
    rows = list(dict.fromkeys([*exact.tolist(), *contains.tolist()]))[:limit]
    return train.iloc[rows].assign(row=np.asarray(rows, dtype=np.int64)).reset_index(drop=True)


def rank_profile(
    row: int,
    rank_of: Mapping[str, np.ndarray],
    score_of: Mapping[str, float],
    kept: Mapping[str, np.ndarray],
    methods: Mapping[str, dict],
) -> pd.DataFrame:
    """One example (row position) under every method: score, rank (1 = kept first), percentile, kept.

    ``rank_of[m][row]`` is the example's 0-based position in method m's keep order; ``score_of[m]`` its
    score (score methods only); ``kept[m]`` the boolean membership at the chosen budget. Percentile =
    100 (n + 1 - rank) / n, as ``prune_core.analysis.example_ranks``.
    """
    columns = ["title", "objective", "family", "score", "rank", "percentile", "kept"]
    records = []
    for method in order_methods(methods, [m for m in methods if m in rank_of]):
        n = len(rank_of[method])
        rank = int(rank_of[method][row]) + 1
        records.append(
            {
                "method": method,
                "title": methods[method].get("title", method),
                "objective": methods[method].get("objective", ""),
                "family": methods[method].get("family", ""),
                "score": float(score_of[method]) if method in score_of else np.nan,
                "rank": rank,
                "percentile": 100.0 * (n + 1 - rank) / n,
                "kept": bool(kept[method][row]) if method in kept else None,
            }
        )
    if not records:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="method"))
    return pd.DataFrame(records).set_index("method")[columns]


def map_choices(
    sources: Iterable[MapSource], representation_titles: Mapping[str, str]
) -> dict[str, MapSource]:
    """Map sources the embedding page offers, label -> source, best first.

    Cached UMAP maps, then cached PCA maps, each in the order of ``representation_titles`` (hidden states
    first: what "embedding" usually means), then hidden states of any checkpoint (``kind="live"``) that
    the page projects with PCA itself.
    """
    known = list(representation_titles)
    sources = list(sources)
    cached = sorted(
        (s for s in sources if s.kind == "cached"),
        key=lambda s: (
            s.method != "umap",
            known.index(s.representation) if s.representation in known else len(known),
            s.key,
        ),
    )
    choices = {}
    for source in cached:
        title = representation_titles.get(source.representation, source.representation)
        choices[f"{source.method.upper()} · {title} ({source.representation})"] = source
    for source in sorted((s for s in sources if s.kind == "live"), key=lambda s: s.key):
        choices[f"PCA here · hidden states at checkpoint {source.checkpoint}"] = source
    return choices


def clicked_cell(event) -> tuple[str, str] | None:
    """(row, column) of the first clicked heatmap cell in a Streamlit plotly selection event, if any.

    Read with dict access: the event may be a plain dict (AppTest injects one) or Streamlit's state object.
    Categories are drawn escaped (app/figures/text.py); the method ids are returned as the data has them.
    """
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        if point.get("x") is not None and point.get("y") is not None:
            return from_plot_text(point["y"]), from_plot_text(point["x"])
    return None


def selected_rows(event, positions: np.ndarray) -> np.ndarray:
    """Training rows picked by a box / lasso selection on a chart whose trace 0 draws ``positions`` in order.

    Plotly reports point indices per trace; only trace 0 holds examples (the others are legend entries
    or overlays), so points of other traces are ignored. Returns sorted unique row positions.
    """
    try:
        selection = event["selection"]
    except (KeyError, TypeError):
        return np.empty(0, dtype=np.int64)
    points = selection.get("points") or []
    if points:
        indices = [
            p.get("point_index", p.get("point_number")) for p in points if p.get("curve_number", 0) == 0
        ]
    else:
        indices = list(selection.get("point_indices") or [])
    indices = np.asarray([i for i in indices if isinstance(i, (int, np.integer))], dtype=np.int64)
    indices = indices[(indices >= 0) & (indices < len(positions))]
    return np.unique(np.asarray(positions, dtype=np.int64)[indices])


def tie_note(scores: np.ndarray, k: int) -> str | None:
    """A sentence when a top-k cut falls inside a block of equal scores (None when the score decides)."""
    from prune_core.select.topk import boundary_tie

    tie = boundary_tie(np.asarray(scores, dtype=np.float64), int(k))
    if tie["block"] == 0:
        return None
    return (
        f"The cut falls inside a block of {tie['block']:,} examples with the same score; "
        f"{tie['kept']:,} of them ({tie['kept'] / max(int(k), 1):.0%} of the subset) are kept by the "
        "method's tie-break, not by the score itself."
    )


def gradient_checkpoints_used(method: str, info: Mapping, checkpoints: list[dict]) -> int | None:
    """How many gradient checkpoints a method's numbers come from (None when it uses no gradients).

    GraNd takes the earliest gradient checkpoint and the last-layer methods the final one; every other
    method on gradient features (grad, grad-sgd) combines all of them.
    """
    representation = str(info.get("representation", ""))
    if representation == "head":
        return 1
    if representation not in ("grad", "grad-sgd"):
        return None
    if method == "grand":
        return 1
    return sum(1 for c in checkpoints if c.get("gradients")) or None


CAPTURE_TEXT = {
    "step": "taken at the training step that used each example (TracIn's original definition; "
    "validation at each epoch's end)",
    "checkpoint": "recomputed at each end-of-epoch checkpoint after training",
}


def gradient_capture_text(capture: str | None, epochs: list[int]) -> str | None:
    """One line saying how and when a run's gradient features were taken (None without gradients)."""
    if capture is None or not epochs:
        return None
    how = CAPTURE_TEXT.get(capture, capture)
    when = ", ".join(str(e) for e in epochs)
    return f"{capture} capture: {how}; epoch{'s' if len(epochs) > 1 else ''} {when}"


def run_state(stages: dict) -> str:
    """A run's state in a few words, from its manifest stages: what is computed, running or failed
    (instead of a count of finished stages that means nothing to a user)."""

    def done(prefix: str) -> list[str]:
        return [k for k, v in stages.items() if k.startswith(prefix) and v.get("status") == "done"]

    running = [k for k, v in stages.items() if v.get("status") == "running"]
    failed = [k for k, v in stages.items() if v.get("status") == "failed"]
    if running:
        return f"computing {running[0]}"
    computed = bool(done("represent:")) and bool(done("train"))
    if not computed:
        return f"compute failed at {failed[0]}" if failed else "compute not finished"
    parts = ["computed"]
    methods = [k for k in done("select:") if k != "select:summary"]
    parts.append(f"{len(methods)} methods selected" if methods else "not selected yet")
    maps = sorted({k.rsplit(":", 1)[-1] for k in done("map:")})
    if maps:
        parts.append("maps " + "/".join(maps))
    evaluations = sorted(k.split(":", 1)[1] for k in done("evaluate:"))
    if evaluations:
        parts.append("evaluated (" + ", ".join(evaluations) + ")")
    failures = [k for k in failed if k.startswith("select:")]
    if failures:
        parts.append(f"{len(failures)} methods failed")
    return " · ".join(parts)


def rows_in_selection(coords: np.ndarray, event, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows whose map point lies inside the event's boxes or lassos (union), from the geometry alone.

    Used when the map is drawn as a density image: plotly reports the box ranges and lasso vertices in
    data coordinates, and every point inside counts, drawn or not. ``rows`` limits the candidates (the
    rows in the visible range). A lasso is closed and tested by the even-odd rule. Sorted unique rows.
    """
    try:
        selection = event["selection"]
    except (KeyError, TypeError):
        return np.empty(0, dtype=np.int64)
    candidates = np.arange(len(coords), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    xy = np.asarray(coords, dtype=np.float64)[candidates]
    inside = np.zeros(len(candidates), dtype=bool)
    for box in selection.get("box") or []:
        (x0, x1), (y0, y1) = sorted(box["x"][:2]), sorted(box["y"][:2])
        inside |= (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    for lasso in selection.get("lasso") or []:
        vx, vy = np.asarray(lasso["x"], dtype=np.float64), np.asarray(lasso["y"], dtype=np.float64)
        if len(vx) < 3:
            continue
        near = (
            (xy[:, 0] >= vx.min()) & (xy[:, 0] <= vx.max()) & (xy[:, 1] >= vy.min()) & (xy[:, 1] <= vy.max())
        )
        idx = np.flatnonzero(near & ~inside)
        px, py = xy[idx, 0], xy[idx, 1]
        odd = np.zeros(len(idx), dtype=bool)
        for ax, ay, bx, by in zip(vx, vy, np.roll(vx, -1), np.roll(vy, -1)):
            crosses = (ay > py) != (by > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                at_x = ax + (py - ay) * (bx - ax) / (by - ay)
            odd ^= crosses & (px < at_x)
        inside[idx[odd]] = True
    return np.sort(candidates[inside])


def rows_in_range(coords: np.ndarray, x_range, y_range) -> np.ndarray:
    """Rows whose map point lies in the closed rectangle x_range x y_range (sorted)."""
    xy = np.asarray(coords)
    keep = (
        (xy[:, 0] >= x_range[0])
        & (xy[:, 0] <= x_range[1])
        & (xy[:, 1] >= y_range[0])
        & (xy[:, 1] <= y_range[1])
    )
    return np.flatnonzero(keep).astype(np.int64)


def page_slice(n_rows: int, page: int, page_rows: int) -> slice:
    """The rows of 1-based ``page`` (clipped to the pages that exist) of a table of ``n_rows``."""
    pages = max(1, -(-n_rows // page_rows))
    page = min(max(1, int(page)), pages)
    return slice((page - 1) * page_rows, min(n_rows, page * page_rows))
