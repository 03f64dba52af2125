"""Export the uids a method keeps (or its whole keep order) with a manifest that says how they were chosen.

Formats: ``txt`` (one uid per line, as Du et al.'s uid_<r>.txt), ``csv`` (uid, rank, label), ``json`` (a
list of uids), ``jsonl`` (uid, rank, label, text — ready to train on). Beside the file goes
``<name>.manifest.json``: run, method and its parameters, budget, balanced flag, realised size and label
histogram, so a subset can always be traced back and reproduced.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prune_core import __version__
from prune_core.methods.registry import get_method
from prune_core.results import MissingSelection, Results
from prune_core.select.budget import budget_to_k
from prune_core.store import atomic_write_text

FORMATS = ("csv", "json", "txt", "jsonl")


class ExportError(ValueError):
    """A bad export request (format, budget or output path)."""


@dataclass
class Export:
    """The rows to write and the manifest describing them."""

    frame: pd.DataFrame  # uid, rank, label, label_name, text[, text_pair]
    manifest: dict


def safe_output_path(output: str | Path) -> Path:
    """The output file, refused when it would land outside the directory the user named.

    ``..`` segments are refused outright, and an existing symlink may not point out of its directory.
    """
    path = Path(output).expanduser()
    if any(part == ".." for part in path.parts):
        raise ExportError(
            f"output path {str(output)!r} climbs out of its directory with '..'; name the directory directly"
        )
    if path.name in ("", ".") or path.is_dir():
        raise ExportError(f"output {str(output)!r} must be a file name, not a directory")
    directory = path.parent.resolve()
    target = path.resolve()
    if target.parent != directory:
        raise ExportError(f"output {str(output)!r} resolves to {target}, outside {directory} (a symlink?)")
    return directory / path.name


def selection_for_export(
    results: Results, method: str, budget: float | int | None, balanced: bool, ranking: bool
) -> np.ndarray:
    """Positions to export; budgets or methods not cached are computed in memory from the run."""
    try:
        if ranking:
            return results.ranking(method, balanced)
        return results.selection(method, budget, balanced)
    except MissingSelection:
        from prune_core.methods.inputs import Representations
        from prune_core.methods.runner import MethodRunner

        spec = get_method(method)  # an unknown id raises a clear UnknownMethod here
        chosen_budget = 1.0 if ranking else budget
        result = MethodRunner(Representations(results.run), [chosen_budget]).run(spec)
        variant = "balanced" if balanced else "plain"
        return result.rankings[variant] if ranking else result.selections[variant][0]


def build_export(
    results: Results,
    method: str,
    budget: float | int | None = None,
    *,
    balanced: bool = False,
    ranking: bool = False,
) -> Export:
    get_method(method)  # fail early and clearly on an unknown method id
    if not ranking:
        if budget is None:
            raise ExportError("an export needs --budget (a fraction in (0, 1] or a count), or --ranking")
        budget_to_k(budget, results.n)  # raises BudgetError for a budget outside (0, 1]
    positions = selection_for_export(results, method, budget, balanced, ranking)
    train = results.train
    frame = pd.DataFrame(
        {
            "uid": train["uid"].to_numpy()[positions],
            "rank": np.arange(1, len(positions) + 1),
            "label": train["label"].to_numpy()[positions],
        }
    )
    names = results.label_names
    frame["label_name"] = [names[i] if i < len(names) else str(i) for i in frame["label"]]
    frame["text"] = train["text"].to_numpy()[positions]
    if "text_pair" in train:
        frame["text_pair"] = train["text_pair"].to_numpy()[positions]
    info = results.methods.get(method) or get_method(method).describe()
    histogram = {
        names[i] if i < len(names) else str(i): int(c)
        for i, c in enumerate(np.bincount(frame["label"], minlength=len(names)))
    }
    manifest = {
        "run": results.run.id,
        "dataset_fingerprint": results.fingerprint,
        "method": method,
        "title": info.get("title"),
        "representation": info.get("representation"),
        "selector": info.get("selector"),
        "parameters": info.get("params", {}),
        "budget": None if ranking else budget,
        "ranking": ranking,
        "balanced": balanced,
        "size": int(len(frame)),
        "of": int(results.n),
        "label_histogram": histogram,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "prunescope": __version__,
    }
    return Export(frame, manifest)


def render(export: Export, fmt: str) -> str:
    """The file's text in one of FORMATS (also what the app offers for download)."""
    frame = export.frame
    if fmt == "txt":
        return "".join(f"{u}\n" for u in frame["uid"])
    if fmt == "csv":
        return frame[["uid", "rank", "label", "label_name"]].to_csv(index=False)
    if fmt == "json":
        return json.dumps(frame["uid"].tolist(), indent=0) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame.to_dict(orient="records"))
    raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def manifest_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.manifest.json")


def write_export(export: Export, fmt: str, output: str | Path) -> tuple[Path, Path]:
    """Write the file and its manifest (both atomically) and return their paths."""
    path = safe_output_path(output)
    text = render(export, fmt)
    manifest = {**export.manifest, "format": fmt, "file": path.name}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    side = manifest_path(path)
    atomic_write_text(side, json.dumps(manifest, indent=1))
    return path, side
