"""Export the uids a method keeps (or its whole keep order) with a manifest that says how they were chosen.

Formats (chosen by the output's extension; ``--format`` overrides, a contradiction is an error):

- ``txt``: one uid per line (as Du et al.'s uid_<r>.txt); a uid with a line break or other control
  character is refused with an error naming it, since no line-based reader could get it back.
- ``csv``: a header and uid, rank, label, label_name (RFC 4180 quoting, so any uid round-trips); a cell a
  spreadsheet would evaluate (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading
  ``'`` as the OWASP CSV-injection guidance asks, and so does a cell already starting with ``'`` so the
  rule can be undone exactly (``read_csv_export``); the manifest records it.
- ``json``: a list of uids; ``jsonl``: uid, rank, label, label_name, text per line (ready to train on);
  ``parquet``: the same columns as jsonl.
- ``datasets``: a small Python file defining ``keep(example)`` for Hugging Face ``datasets``'
  ``Dataset.filter``, which recognises the kept examples of the original data by id or content hash.

Beside the file goes ``<file>.manifest.json`` (e.g. ``subset.csv.manifest.json``, so two exports never
share one): run, method and its parameters, budget, balanced flag, realised size and label histogram, so a
subset can always be traced back and reproduced. Writing follows ``prune_core.export_files``: nothing that
exists is replaced without ``overwrite``.
"""

from __future__ import annotations

import csv
import io
import json
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prune_core import __version__
from prune_core.export_files import OutputPathError, check_target, resolve_output, write_bytes_safely
from prune_core.methods.registry import get_method
from prune_core.results import MissingSelection, Results
from prune_core.select.budget import budget_to_k

FORMATS = ("txt", "csv", "json", "jsonl", "parquet", "datasets")
EXTENSIONS = {
    "txt": ".txt",
    "csv": ".csv",
    "json": ".json",
    "jsonl": ".jsonl",
    "parquet": ".parquet",
    "datasets": ".py",
}
CSV_COLUMNS = ["uid", "rank", "label", "label_name"]
# OWASP CSV injection: cells starting with these are evaluated by spreadsheets; "'" is escaped as well so
# that "strip one leading quote" undoes the escaping exactly.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
CSV_ESCAPING = (
    "OWASP CSV injection: a cell starting with = + - @ TAB CR or ' has a ' prepended; "
    "remove the first ' of any cell that starts with ' to get the value back"
)


class ExportError(ValueError):
    """A bad export request (format, budget or output path)."""


class UnsafeIdError(ExportError):
    """A uid that a format cannot hold so that it reads back identically."""


@dataclass
class Export:
    """The rows to write and the manifest describing them."""

    frame: pd.DataFrame  # uid, rank, label, label_name, text[, text_pair][, response (generation)]
    manifest: dict


def safe_output_path(output: str | Path) -> Path:
    """The real file an export named ``output`` goes to (``..`` and outward symlinks refused)."""
    try:
        return resolve_output(output)
    except OutputPathError as err:
        raise ExportError(str(err)) from err


def format_for(output: str | Path, fmt: str | None) -> str:
    """The format of an export: ``fmt`` when given, else the output's extension; a contradiction is an error."""
    suffix = Path(output).suffix.lower()
    by_extension = next((f for f, ext in EXTENSIONS.items() if ext == suffix), None)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if by_extension is not None and by_extension != fmt:
            raise ExportError(
                f"--format {fmt} contradicts the output's extension {suffix!r} (a {by_extension} file); "
                f"name the file *{EXTENSIONS[fmt]} or drop --format"
            )
        return fmt
    if by_extension is None:
        known = ", ".join(f"{ext} ({f})" for f, ext in EXTENSIONS.items())
        raise ExportError(
            f"cannot tell the format of {str(output)!r} from its extension; use one of {known}, "
            "or give --format"
        )
    return by_extension


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
    if "response" in train:  # generation: text is the prompt, label_name the source
        frame["response"] = train["response"].to_numpy()[positions]
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
        "task": results.run.task,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "prunescope": __version__,
        "dataset_columns": dataset_columns(results.run.config.get("dataset", {})),
    }
    return Export(frame, manifest)


def dataset_columns(spec: dict) -> dict:
    """How the run read its dataset's columns (what the ``datasets`` filter needs to recognise uids)."""
    return {
        "text_column": spec.get("text_column", "text"),
        "text_pair_column": spec.get("text_pair_column"),
        "label_column": spec.get("label_column", "label"),
        "id_column": spec.get("id_column"),
    }


def _unsafe_character(uid: str) -> str | None:
    """The first character of ``uid`` that splits or hides a line (control characters, line separators)."""
    for char in uid:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return char
    return None


def check_ids_for(fmt: str, uids) -> None:
    """Refuse uids that ``fmt`` cannot hold exactly; only ``txt`` is line-based, the others quote."""
    if fmt != "txt":
        return
    for rank, uid in enumerate(uids, 1):
        char = _unsafe_character(uid)
        if char is not None or uid != uid.strip() or uid == "":
            what = f"the control character {char!r}" if char is not None else "leading or trailing spaces"
            raise UnsafeIdError(
                f"uid {uid!r} (rank {rank}) contains {what}; a txt export would not read back as the "
                "same ids: use csv, json, jsonl or parquet, which quote it"
            )


def escape_cell(value: str) -> str:
    """One CSV cell with the OWASP CSV-injection escaping (see ``CSV_ESCAPING``)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") else value


def read_csv_export(source) -> pd.DataFrame:
    """A csv export read back exactly: every cell as text, the spreadsheet escaping undone."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False, na_filter=False)
    for column in ("uid", "label_name"):
        frame[column] = frame[column].map(unescape_cell)
    return frame.astype({"rank": int, "label": int})


def _csv(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    # Text cells always in double quotes (OWASP; and a bare CR would otherwise end the row for some readers).
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    for uid, rank, label, name in frame[CSV_COLUMNS].itertuples(index=False):
        writer.writerow([escape_cell(str(uid)), int(rank), int(label), escape_cell(str(name))])
    return out.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


_FILTER_TEMPLATE = '''"""Keep the {size} examples that PruneScope exported from run {run} ({method}).

Use with Hugging Face datasets on the data the run was computed on, in file order:

    import importlib.util
    spec = importlib.util.spec_from_file_location("subset", "{file}")
    subset = importlib.util.module_from_spec(spec); spec.loader.exec_module(subset)
    kept = dataset.filter(subset.keep)          # one process (num_proc=1), file order

An example is recognised by its id column when the data has one, else by the same content hash the run
used: sha1(text, [text_pair,] label joined by \\x1f)[:16], with -k added for the k-th repeat.
"""

import hashlib
import re
from collections import Counter

UIDS = frozenset(
    [
{uids}
    ]
)
ID_COLUMN = {id_column}
TEXT_COLUMN = {text_column}
TEXT_PAIR_COLUMN = {text_pair_column}
LABEL_COLUMN = {label_column}
_repeats = Counter()


def _label(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return str(int(text)) if re.fullmatch(r"[+-]?\\d+", text) else text


def uid(example):
    column = ID_COLUMN or ("id" if "id" in example else None)
    if column is not None:
        value = example[column]
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    parts = [example[TEXT_COLUMN]]
    if TEXT_PAIR_COLUMN:
        parts.append(example[TEXT_PAIR_COLUMN])
    parts.append(_label(example[LABEL_COLUMN]))
    base = hashlib.sha1("\\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    k = _repeats[base]
    _repeats[base] += 1
    return base if k == 0 else f"{{base}}-{{k}}"


def keep(example):
    return uid(example) in UIDS
'''


def _docstring_safe(value) -> str:
    """Text for the generated file's docstring: no quote, backslash or control character can end it."""
    return "".join(c for c in str(value) if c.isprintable() and c not in '"\\')


def _datasets_filter(export: Export, file_name: str) -> str:
    columns = export.manifest.get("dataset_columns") or dataset_columns({})
    uids = "".join(f"        {ascii(str(u))},\n" for u in export.frame["uid"])[:-1]  # ascii(): exact literals
    return _FILTER_TEMPLATE.format(
        size=len(export.frame),
        run=_docstring_safe(export.manifest.get("run")),
        method=_docstring_safe(export.manifest.get("method")),
        file=_docstring_safe(file_name),
        uids=uids,
        id_column=ascii(columns.get("id_column")),
        text_column=ascii(columns.get("text_column")),
        text_pair_column=ascii(columns.get("text_pair_column")),
        label_column=ascii(columns.get("label_column")),
    )


def render(export: Export, fmt: str, file_name: str = "subset") -> bytes:
    """The file's bytes in one of FORMATS (also what the app offers for download)."""
    frame = export.frame
    check_ids_for(fmt, [str(u) for u in frame["uid"]])
    if fmt == "txt":
        text = "".join(f"{u}\n" for u in frame["uid"])
    elif fmt == "csv":
        text = _csv(frame)
    elif fmt == "json":
        text = json.dumps([str(u) for u in frame["uid"]], indent=0) + "\n"
    elif fmt == "jsonl":
        rows = frame.to_dict(orient="records")
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    elif fmt == "parquet":
        return _parquet(frame)
    elif fmt == "datasets":
        text = _datasets_filter(export, file_name)
    else:
        raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return text.encode("utf-8")


def manifest_path(path: Path) -> Path:
    """``<file>.manifest.json``: each export file has its own manifest, whatever its extension."""
    return path.with_name(f"{path.name}.manifest.json")


def file_manifest(export: Export, fmt: str, file_name: str) -> dict:
    manifest = {**export.manifest, "format": fmt, "file": file_name}
    if fmt == "csv":
        manifest["csv_escaping"] = CSV_ESCAPING
    return manifest


def check_output(output: str | Path, fmt: str | None, *, overwrite: bool = False) -> tuple[str, Path]:
    """The format and real path of an export, after every check that needs no data (run it first)."""
    fmt = format_for(output, fmt)
    path = safe_output_path(output)
    try:
        for target in (path, manifest_path(path)):
            check_target(target, overwrite=overwrite)
    except OutputPathError as err:
        raise ExportError(str(err)) from err
    return fmt, path


def write_export(
    export: Export, fmt: str | None, output: str | Path, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write the file and then its manifest, both atomically, and return their paths.

    Both targets are checked before either is written, so a refusal leaves nothing behind.
    """
    fmt, path = check_output(output, fmt, overwrite=overwrite)
    side = manifest_path(path)
    data = render(export, fmt, path.name)
    manifest = json.dumps(file_manifest(export, fmt, path.name), indent=1).encode("utf-8")
    try:
        write_bytes_safely(path, data, overwrite=overwrite)
        write_bytes_safely(side, manifest, overwrite=overwrite)
    except OutputPathError as err:
        raise ExportError(str(err)) from err
    return path, side
