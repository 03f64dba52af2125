"""Load a dataset into one validated table of examples keyed by stable uids.

Two task kinds (``DatasetSpec.task``): ``classification`` (a text [and a second text] with a label) and
``generation`` (a prompt and a response, or a chat ``messages`` list, with an optional source column;
read by ``prompt_data.py``). For generation the table's ``label`` is the example's source (the balance
page and ``--balanced`` work on it) and its ``text`` the prompt, with the ``response`` beside it.

Every later stage (training dynamics, representations, scores, selections, exports) keys its arrays by
uid, so a uid must not depend on row position, sampling or splitting: it is the dataset's own id column
when there is one, else a hash of the example's content. Bad input stops here, with an error naming the
file, row and column, because a bad row found after an hour of fine-tuning costs far more to fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prune_core.data_readers import (
    SUPPORTED_EXTENSIONS,
    DataError,
    SourceTable,
    read_hub,
    read_label_names,
    read_source,
    read_table,
)
from prune_core.prompt_data import (
    MessageRenderer,
    generation_source_column,
    read_generation_columns,
    source_index,
)

__all__ = ["DataError", "Dataset", "DatasetSpec", "load_dataset", "read_table", "stratified_counts"]

SPLITS = ("train", "validation", "test")
_SPLIT_STEMS = {"train": ("train",), "validation": ("validation", "dev", "val"), "test": ("test",)}
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
# Cells that mean "no label" in the files people export from pandas, R, SQL or spreadsheets; one is a
# class only when labels.json names it.
_MISSING_LABELS = ("nan", "null", "none")
# One random stream per purpose, so changing one split's limit never changes another split's sample.
_STREAMS = {"hold_out": 0, "train": 1, "validation": 2, "test": 3}


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset is and how to read it; ``to_dict()`` goes into the run's config hash."""

    train: str
    validation: str | None = None
    test: str | None = None
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    id_column: str | None = None
    limit: int | None = None
    limit_validation: int | None = None
    limit_test: int | None = None
    validation_fraction: float = 0.1
    seed: int = 0
    # Generation only (prompt_data.py); left out of to_dict() for classification so run ids stay stable.
    task: str = "classification"
    prompt_column: str = "prompt"
    response_column: str = "response"
    messages_column: str = "messages"
    source_column: str | None = None

    def __post_init__(self) -> None:
        for name in ("train", "validation", "test"):  # accept Path objects, store plain strings
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, os.fspath(value))
        if not self.train:
            raise ValueError("--data: expected a file, a directory or 'hf:<id>', found ''")
        for name in ("limit", "limit_validation", "limit_test"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                flag = "--" + name.replace("_", "-")
                raise ValueError(f"{flag}: expected a whole number of examples >= 1, found {value!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                "--validation-fraction: expected a number between 0 and 1 "
                f"(exclusive), found {self.validation_fraction!r}"
            )
        if self.task not in TASK_KINDS:
            raise ValueError(f"--task: expected one of {', '.join(TASK_KINDS)}, found {self.task!r}")
        if self.text_pair_column is not None and self.text_pair_column == self.text_column:
            raise ValueError(
                f"--text-pair-column: expected a column other than --text-column, "
                f"found {self.text_pair_column!r} for both"
            )

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if self.task == "classification":
            for name in _GENERATION_FIELDS:
                out.pop(name)
        else:
            for name in ("text_column", "text_pair_column", "label_column"):
                out.pop(name)
        return out


TASK_KINDS = ("classification", "generation")
_GENERATION_FIELDS = ("task", "prompt_column", "response_column", "messages_column", "source_column")


@dataclass
class Dataset:
    """All examples of all splits in one table (columns uid, split, label, text, [text_pair], length;
    for generation: uid, split, label (the source), text (the prompt), response, length)."""

    examples: pd.DataFrame
    label_names: list[str]
    fingerprint: str
    sources: dict[str, str]
    task: str = "classification"

    def split(self, name: str) -> pd.DataFrame:
        """Rows of one split, index reset; a split the dataset does not have gives zero rows."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return self.examples[self.examples["split"] == name].reset_index(drop=True)

    @property
    def sizes(self) -> dict[str, int]:
        """Examples per split, for the splits present, in train/validation/test order."""
        counts = self.examples["split"].value_counts()
        return {name: int(counts[name]) for name in SPLITS if name in counts.index}


@dataclass
class _SplitColumns:
    """One split's validated values in file order; labels as written (whole numbers in canonical form)."""

    texts: list[str]
    pairs: list[str] | None
    labels: list[str]
    ids: list[str] | None
    id_column: str | None
    responses: list[str] | None = None  # generation: the response of each prompt in ``texts``


def load_dataset(spec: DatasetSpec, render_messages: MessageRenderer | None = None) -> Dataset:
    """Read, validate, label-index, uid, split and sample a dataset as ``spec`` describes; deterministic.

    ``render_messages`` turns a chat's messages before the last reply into the prompt text (generation
    with a ``messages`` column; default: the plain template of ``prompt_data.py``)."""
    generation = spec.task == "generation"
    tables, sources, names_hint = _locate_sources(spec)
    if generation:
        columns = {
            split: read_generation_columns(tables[split], spec, render_messages)
            for split in SPLITS
            if split in tables
        }
        label_names, index_of = source_index(columns["train"].labels)
    else:
        columns = {
            split: _read_columns(tables[split], spec, names_hint) for split in SPLITS if split in tables
        }
        label_names, index_of = _label_index(
            columns["train"].labels, tables["train"], spec.label_column, names_hint
        )
    label_column = generation_source_column(tables["train"], spec) if generation else spec.label_column
    frames, repeats, first_seen = {}, Counter(), {}
    for split, cols in columns.items():
        labels = _label_indices(cols.labels, index_of, tables[split], label_column, tables["train"].name)
        uids = cols.ids if cols.ids is not None else _hashed_uids(cols, repeats)
        _check_unique(uids, tables[split], cols.id_column, first_seen)
        frames[split] = _split_frame(split, uids, labels, cols)
    if "validation" not in frames:
        frames["train"], frames["validation"] = _hold_out(frames["train"], spec, tables["train"].name)
        sources["validation"] = sources["train"]
    for split, limit in (
        ("train", spec.limit),
        ("validation", spec.limit_validation),
        ("test", spec.limit_test),
    ):
        if split in frames and limit is not None and limit < len(frames[split]):
            rng = np.random.default_rng([spec.seed, _STREAMS[split]])
            kept = _stratified_sample(frames[split]["label"].to_numpy(), limit, rng)
            frames[split] = frames[split].iloc[kept]
    examples = pd.concat([frames[s] for s in SPLITS if s in frames], ignore_index=True)
    return Dataset(
        examples,
        label_names,
        _fingerprint(examples, label_names),
        {s: sources[s] for s in SPLITS if s in sources},
        task=spec.task,
    )


def stratified_counts(counts: np.ndarray, n: int, caps: np.ndarray | None = None) -> np.ndarray:
    """How many of ``n`` examples to take from each label: largest-remainder shares of ``counts``.

    Each label gets floor(n * count / total), at least 1 when n >= the number of labels (so a small sample
    keeps every class), then the leftover examples go one by one to the label furthest below its quota
    (Hamilton's largest-remainder method). ``caps`` (default ``counts``) bounds each label's take.
    """
    counts = np.asarray(counts, dtype=np.int64)
    caps = counts.copy() if caps is None else np.asarray(caps, dtype=np.int64)
    if n < 0:
        raise ValueError(f"expected a sample size >= 0, found {n}")
    if n >= caps.sum():
        return caps.copy()
    quota = n * counts / counts.sum()
    take = np.minimum(np.floor(quota).astype(np.int64), caps)
    eligible = caps >= 1
    if n >= eligible.sum():
        take = np.where(eligible, np.maximum(take, 1), take)
    while take.sum() > n:  # the at-least-one rule overshot: give back from the label furthest above quota
        take[np.argmax(np.where(take > 1, take - quota, -np.inf))] -= 1
    while take.sum() < n:
        take[np.argmax(np.where(take < caps, quota - take, -np.inf))] += 1
    return take


def _stratified_sample(
    labels: np.ndarray, n: int, rng: np.random.Generator, keep_one: bool = False
) -> np.ndarray:
    """Sorted positions of a label-stratified sample of ``n``; ``keep_one`` leaves >= 1 of each label out."""
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = stratified_counts(counts, n, counts - 1 if keep_one else None)
    chosen = [
        rng.choice(np.flatnonzero(inverse == k), size=int(t), replace=False) for k, t in enumerate(take) if t
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _hold_out(train: pd.DataFrame, spec: DatasetSpec, train_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``validation_fraction`` of train off as validation, stratified and seeded; file order kept."""
    size = max(1, math.floor(spec.validation_fraction * len(train) + 0.5))
    rng = np.random.default_rng([spec.seed, _STREAMS["hold_out"]])
    held = _stratified_sample(train["label"].to_numpy(), size, rng, keep_one=True)
    if len(held) == 0:
        raise DataError(
            f"no validation file, and {len(train)} training rows are too few to hold out a "
            "validation split while keeping every label in train; give a validation file",
            path=train_name,
        )
    is_held = np.zeros(len(train), dtype=bool)
    is_held[held] = True
    return train[~is_held], train[is_held].assign(split="validation")


def _locate_sources(spec: DatasetSpec) -> tuple[dict[str, SourceTable], dict[str, str], list[str] | None]:
    """Read each split's table; say where it came from; find label names (labels.json / ClassLabel)."""
    tables, sources, names_hint, files = {}, {}, None, {}
    if spec.train.startswith("hf:"):
        tables, names_hint = read_hub(spec.train, spec.label_column if spec.task == "classification" else "")
        sources = {split: spec.train for split in tables}
    else:
        train = Path(spec.train)
        if train.is_dir():
            files = {split: found for split in SPLITS if (found := _find_split_file(train, split))}
            if "train" not in files:
                expected = ", ".join(f"train{ext}" for ext in SUPPORTED_EXTENSIONS)
                present = ", ".join(sorted(p.name for p in train.iterdir())) or "nothing"
                raise DataError(
                    f"no training file; expected one of {expected} in this directory, found: {present}",
                    path=train,
                )
        else:
            files = {"train": train}
        labels_file = (train if train.is_dir() else train.parent) / "labels.json"
        if labels_file.is_file():
            names_hint = read_label_names(labels_file)
    for split, explicit in (("validation", spec.validation), ("test", spec.test)):
        if explicit is not None:
            if explicit.startswith("hf:"):
                raise DataError(
                    f"expected a file for the {split} split, found a hub id; hub ids work only "
                    "as train (their own splits are used)",
                    path=explicit,
                )
            files[split] = Path(explicit)
    for split, file in files.items():
        tables[split], sources[split] = read_source(file), str(file)
    return tables, sources, names_hint


def _find_split_file(directory: Path, split: str) -> Path | None:
    found = [
        directory / f"{stem}{ext}"
        for stem in _SPLIT_STEMS[split]
        for ext in SUPPORTED_EXTENSIONS
        if (directory / f"{stem}{ext}").is_file()
    ]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataError(
            f"several {split} files ({names}); expected one: remove the others or name one "
            f"explicitly as {split}=",
            path=directory,
        )
    return found[0] if found else None


def _read_columns(
    table: SourceTable, spec: DatasetSpec, names_hint: list[str] | None = None
) -> _SplitColumns:
    frame = table.frame
    if len(frame) == 0:
        raise table.error(None, None, "no data rows; expected a header and at least one example")
    wanted = {
        "text_column": spec.text_column,
        "text_pair_column": spec.text_pair_column,
        "label_column": spec.label_column,
        "id_column": spec.id_column,
    }
    for field, column in wanted.items():
        if column is not None and column not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise DataError(
                f"missing column; found columns {found} (name another with --{field.replace('_', '-')})",
                path=table.name,
                line=table.header_line,
                column=column,
            )
    id_column = spec.id_column or ("id" if "id" in frame.columns else None)
    return _SplitColumns(
        texts=_texts(table, spec.text_column),
        pairs=_texts(table, spec.text_pair_column) if spec.text_pair_column else None,
        labels=_labels_as_written(table, spec.label_column, names_hint),
        ids=_ids(table, id_column) if id_column else None,
        id_column=id_column,
    )


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _texts(table: SourceTable, column: str) -> list[str]:
    values = table.frame[column].tolist()
    for row, value in enumerate(values, 1):
        if isinstance(value, str) and value.strip():
            continue
        if isinstance(value, str):
            problem = "empty text" if value == "" else "the text is only whitespace"
        elif _is_missing(value):
            problem = "missing text (null or no value)"
        else:
            problem = f"expected text, found {type(value).__name__} {value!r:.60}"
        raise table.error(row, column, problem + "; expected a non-empty string")
    return values


def _labels_as_written(table: SourceTable, column: str, names_hint: list[str] | None = None) -> list[str]:
    """Labels as strings; whole numbers (int, 3.0, "03") in canonical form so CSV and JSON agree.

    An empty cell, JSON null or NaN, and the texts NaN / null / None (any case) are missing labels, not
    a class of their own, unless labels.json names that text as a class.
    """
    out = []
    named = set(names_hint or ())
    for row, value in enumerate(table.frame[column].tolist(), 1):
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if text.lower() in _MISSING_LABELS and text not in named:
                raise table.error(
                    row,
                    column,
                    f"missing label ({text!r} means no value); every example needs a label "
                    f"(if {text!r} is a real class, name it in labels.json)",
                )
            out.append(str(int(text)) if _WHOLE_NUMBER.fullmatch(text) else text)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            out.append(str(int(value)))
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        elif _is_missing(value) or isinstance(value, str):
            raise table.error(row, column, "missing label; every example needs a label")
        else:
            raise table.error(
                row,
                column,
                f"expected a class index (a whole number) or a label name, found "
                f"{type(value).__name__} {value!r:.60}",
            )
    return out


def _ids(table: SourceTable, column: str) -> list[str]:
    out = []
    for row, value in enumerate(table.frame[column].tolist(), 1):
        if isinstance(value, str) and value.strip():
            out.append(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            out.append(str(int(value)))
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        else:
            raise table.error(
                row, column, f"expected an id (non-empty text or a whole number), found {value!r:.60}"
            )
    return out


def _label_index(
    labels: list[str], train: SourceTable, column: str, names_hint: list[str] | None
) -> tuple[list[str], dict[str, int]]:
    """Label names, and label-as-written -> index for every training label.

    Whole numbers are class indices (names from labels.json / ClassLabel, else str(index)); other strings
    are names (ordered as in labels.json when it names them all, else sorted).
    """
    distinct = sorted(set(labels))
    if len(distinct) < 2:
        raise DataError(
            f"a single class: all {len(labels)} rows (rows 1-{len(labels)}) have label "
            f"{distinct[0]!r}; expected at least 2 distinct labels to train a classifier",
            path=train.name,
            column=column,
        )
    numeric = [bool(_WHOLE_NUMBER.fullmatch(v)) for v in labels]
    if any(numeric) and not all(numeric):
        return _mixed_label_index(labels, numeric, train, column, names_hint)
    if all(numeric):
        indices = [int(v) for v in labels]
        names = names_hint or [str(i) for i in range(max(indices) + 1)]
        for row, index in enumerate(indices, 1):
            if index < 0:
                raise train.error(
                    row,
                    column,
                    f"negative class index {index}; expected a whole number >= 0 "
                    "(hub datasets mark unlabelled rows with -1)",
                )
            if index >= len(names):
                raise train.error(
                    row,
                    column,
                    f"class index {index} has no name; labels.json (or the hub's "
                    f"ClassLabel feature) names classes 0..{len(names) - 1}",
                )
        return names, {v: int(v) for v in distinct}
    names = names_hint if names_hint and set(distinct) <= set(names_hint) else distinct
    return list(names), {v: names.index(v) for v in distinct}


def _mixed_label_index(
    labels: list[str], numeric: list[bool], train: SourceTable, column: str, names_hint: list[str] | None
) -> tuple[list[str], dict[str, int]]:
    """Class indices and names in one column: allowed only when labels.json maps both to one class list."""
    first_number = numeric.index(True) + 1
    first_name = numeric.index(False) + 1
    names_ok = names_hint is not None and all(
        (int(v) < len(names_hint) and int(v) >= 0) if is_number else v in names_hint
        for v, is_number in zip(labels, numeric)
    )
    if not names_ok:
        raise train.error(
            first_number,
            column,
            f"mixed label types: row {first_number} has the class index {labels[first_number - 1]!r} "
            f"and row {first_name} the label name {labels[first_name - 1]!r}; use one kind in the whole "
            "column, or a labels.json that names every class (index -> name) to map both",
        )
    index_of = {v: (int(v) if is_number else names_hint.index(v)) for v, is_number in zip(labels, numeric)}
    return list(names_hint), index_of


def _label_indices(
    labels: list[str], index_of: dict[str, int], table: SourceTable, column: str, train_name: str
) -> np.ndarray:
    for row, label in enumerate(labels, 1):
        if label not in index_of:
            raise table.error(
                row,
                column,
                f"label {label!r} never occurs in the training data "
                f"({train_name}); expected one of {sorted(index_of)}",
            )
    return np.array([index_of[label] for label in labels], dtype=np.int64)


def _hashed_uids(cols: _SplitColumns, repeats: Counter) -> list[str]:
    """sha1(text \\x1f [text_pair \\x1f] label)[:16], with -k on the k-th repeat of an identical example
    (generation: the response takes the text pair's place and the source the label's)."""
    uids = []
    rows = zip(cols.texts, cols.pairs or cols.responses or [None] * len(cols.texts), cols.labels)
    for text, pair, label in rows:
        parts = (text, label) if pair is None else (text, pair, label)
        base = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
        k = repeats[base]
        repeats[base] += 1
        uids.append(base if k == 0 else f"{base}-{k}")
    return uids


def _check_unique(
    uids: list[str], table: SourceTable, column: str | None, first_seen: dict[str, tuple[SourceTable, int]]
) -> None:
    """Record each uid's file and row; a uid already recorded (this split or an earlier one) is an error."""
    for row, uid in enumerate(uids, 1):
        if uid in first_seen:
            other, other_row = first_seen[uid]
            other_line = other.line_of(other_row)
            where = f"{other.name} row {other_row}" + (f" (line {other_line})" if other_line else "")
            raise table.error(row, column, f"duplicate id {uid!r}, also at {where}; expected unique ids")
        first_seen[uid] = (table, row)


def _split_frame(split: str, uids: list[str], labels: np.ndarray, cols: _SplitColumns) -> pd.DataFrame:
    length = np.array([len(t.split()) for t in cols.texts], dtype=np.int64)
    data = {"uid": uids, "split": split, "label": labels, "text": cols.texts}
    if cols.responses is not None:
        data["response"] = cols.responses
        length += np.array([len(t.split()) for t in cols.responses], dtype=np.int64)
    if cols.pairs is not None:
        data["text_pair"] = cols.pairs
        length += np.array([len(t.split()) for t in cols.pairs], dtype=np.int64)
    return pd.DataFrame({**data, "length": length})


def _fingerprint(examples: pd.DataFrame, label_names: list[str]) -> str:
    """sha256 over label names, then each row's uid, split, label and text(s), in table order."""
    digest = hashlib.sha256(json.dumps(label_names, ensure_ascii=False).encode("utf-8"))
    names = ("uid", "split", "label", "text", "text_pair", "response")
    columns = [examples[c].tolist() for c in names if c in examples]
    for row in zip(*columns):
        digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()
