"""Read a dataset's raw tables (files or a hub id), strictly, with errors naming the file, row and column.

Why strict: a text column of digits parsed as numbers, a literal "NA" turned into a missing value, or a
Latin-1 byte quietly replaced by U+FFFD would all change the data a pruning method sees without anyone
noticing. So CSV/TSV cells are read as text exactly as written (an empty cell stays ""), bytes must decode
as UTF-8, and every failure names the file and, where it can, the 1-based data row and the line in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}


class DataError(ValueError):
    """A dataset problem; str(err) names the file, the row (1-based data row, plus the line in the file where
    that differs or helps) and the column, then says what was expected and what was found."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
    ):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        self.line = line
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.problem}" if where else self.problem


@dataclass
class SourceTable:
    """The rows of one split as read, the name errors show for them, and how to find a row's line."""

    frame: pd.DataFrame
    name: str  # file path or hub id, as shown in error messages
    line_of: Callable[[int], int | None] = lambda row: None  # 1-based data row -> 1-based line in file
    header_line: int | None = None  # 1 for CSV/TSV, where column names live on line 1

    def error(self, row: int | None, column: str | None, problem: str) -> DataError:
        line = None if row is None else self.line_of(row)
        return DataError(problem, path=self.name, row=row, column=column, line=line)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one .csv/.tsv/.jsonl/.json/.parquet file as decoded strict UTF-8, every column as read.

    CSV/TSV cells come back as strings (no number or NA guessing); JSON lines and parquet keep their types.
    """
    return read_source(path).frame


def read_source(path: str | Path) -> SourceTable:
    """Like :func:`read_table`, keeping what error messages need to point at a row's line in the file."""
    path = Path(path)
    extension = path.suffix.lower()
    if path.is_dir():
        raise DataError("expected a file, found a directory", path=path)
    if not path.exists():
        raise DataError("file not found", path=path)
    if extension not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"unsupported file type {path.suffix or '(no extension)'!r}; expected one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)}",
            path=path,
        )
    if extension == ".parquet":
        return SourceTable(_read_parquet(path), str(path))
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"could not read the file: {err.strerror or err}", path=path) from err
    if extension in _DELIMITERS:
        return _parse_delimited(raw, path, _DELIMITERS[extension])
    return _parse_json_records(raw, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow  # pandas' parquet engine; imported here only to name its error type

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pyarrow.ArrowException) as err:
        raise DataError(f"could not read as parquet: {err}", path=path) from err


def _decode_utf8(raw: bytes, path: Path, locate: Callable[[str], tuple[int | None, str | None]]) -> str:
    """Decode strictly; on a bad byte, ``locate(valid_prefix)`` says which (row, column) holds it."""
    if raw.startswith(codecs.BOM_UTF8):  # a BOM is valid UTF-8 metadata, not part of the first column name
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        row, column = locate(raw[: err.start].decode("utf-8"))
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataError(
            f"not valid UTF-8: byte 0x{raw[err.start]:02x} at byte offset {err.start}; save the "
            "file as UTF-8 (it may be Latin-1 or Windows-1252)",
            path=path,
            row=row,
            column=column,
            line=line,
        ) from err


def _is_blank_record(record: list[str]) -> bool:
    # pandas skips empty and whitespace-only lines; count rows the same way.
    return not record or (len(record) == 1 and not record[0].strip())


def _parse_delimited(raw: bytes, path: Path, delimiter: str) -> SourceTable:
    def locate_bad_byte(prefix: str) -> tuple[int | None, str | None]:
        # The record holding the bad byte is the last one the valid prefix starts ("x" stands in for it).
        records = [
            r for r in csv.reader(io.StringIO(prefix + "x"), delimiter=delimiter) if not _is_blank_record(r)
        ]
        header = records[0] if len(records) > 1 else []
        field = len(records[-1]) - 1
        return (len(records) - 1 or None), (header[field] if 0 <= field < len(header) else None)

    text = _decode_utf8(raw, path, locate_bad_byte)
    header = next(
        (r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if not _is_blank_record(r)), None
    )
    if header is None:
        raise DataError("the file is empty; expected a header row naming the columns", path=path)
    if len(header) == 1:
        _refuse_other_delimiter(header[0], delimiter, path)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(
            f"the header repeats column name(s) {repeated}; expected unique names", path=path, line=1
        )
    try:
        with warnings.catch_warnings():
            # pandas only *warns* when every row has more fields than the header, then drops data.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                index_col=False,
                engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        raise _locate_malformed_record(text, delimiter, len(header), path, err) from err
    return SourceTable(frame, str(path), _line_finder(text, delimiter), header_line=1)


_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


def _refuse_other_delimiter(header: str, delimiter: str, path: Path) -> None:
    """A one-column header that holds another delimiter: the file is not separated the way its
    extension says (a ';' CSV from a European-locale spreadsheet, or tabs in a .csv)."""
    found = [d for d in _DELIMITER_NAMES if d != delimiter and d in header]
    if found:
        other = found[0]
        fix = "save it as .tsv" if other == "\t" else f"save it with {_DELIMITER_NAMES[delimiter]}s"
        raise DataError(
            f"the header {header[:80]!r} is one column split by {_DELIMITER_NAMES[other]}s ({other!r}), "
            f"but a {path.suffix} file is read as {_DELIMITER_NAMES[delimiter]}-separated; {fix}",
            path=path,
            line=1,
        )


def _record_lines(text: str, delimiter: str) -> list[int]:
    """First line of every data record (the header excluded), so errors can cite CSV line numbers."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    starts, previous_end = [], 0
    for record in reader:
        if not _is_blank_record(record):
            starts.append(previous_end + 1)
        previous_end = reader.line_num
    return starts[1:]


def _line_finder(text: str, delimiter: str) -> Callable[[int], int | None]:
    cache: list[list[int]] = []

    def line_of(row: int) -> int | None:
        if not cache:  # parsed again only when an error needs it
            cache.append(_record_lines(text, delimiter))
        lines = cache[0]
        return lines[row - 1] if 1 <= row <= len(lines) else None

    return line_of


def _locate_malformed_record(text: str, delimiter: str, width: int, path: Path, err: Exception) -> DataError:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    row, previous_end = 0, 0
    try:
        for index, record in enumerate(reader):
            start, previous_end = previous_end + 1, reader.line_num
            if _is_blank_record(record) or index == 0:
                continue
            row += 1
            if len(record) > width:
                return DataError(
                    f"malformed CSV: expected {width} fields (as in the header), found "
                    f"{len(record)}; quote fields that contain {delimiter!r}",
                    path=path,
                    row=row,
                    line=start,
                )
    except csv.Error as csv_err:
        return DataError(f"malformed CSV: {csv_err}", path=path, row=row + 1, line=previous_end + 1)
    if "EOF inside string" in str(err):  # the unclosed field swallows the rest: it is the last record
        starts = _record_lines(text, delimiter)
        return DataError(
            "malformed CSV: a quoted field is never closed (the file ends inside it)",
            path=path,
            row=len(starts) or None,
            line=starts[-1] if starts else None,
        )
    match = re.search(r"line (\d+)", str(err))
    return DataError(f"malformed CSV: {err}", path=path, line=int(match.group(1)) if match else None)


def _parse_json_records(raw: bytes, path: Path) -> SourceTable:
    """JSON lines (one object per line), or a single top-level JSON array of objects."""

    def locate_bad_byte(prefix: str) -> tuple[int | None, str | None]:
        if prefix.lstrip().startswith("["):
            return None, None  # an array's items are not lines; the line number is all there is
        finished_lines = prefix.split("\n")[:-1]
        return sum(1 for text_line in finished_lines if text_line.strip()) + 1, None

    text = _decode_utf8(raw, path, locate_bad_byte)
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"malformed JSON: {err.msg} at column {err.colno}", path=path, line=err.lineno
            ) from err
        for row, record in enumerate(records, 1):
            if not isinstance(record, dict):
                raise DataError(
                    f"expected a JSON object per array item, found {type(record).__name__}",
                    path=path,
                    row=row,
                )
        return SourceTable(pd.DataFrame.from_records(records), str(path))
    records, lines = [], []
    for line, text_line in enumerate(text.split("\n"), 1):
        if not text_line.strip():
            continue
        try:
            record = json.loads(text_line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"malformed JSON: {err.msg} at column {err.colno}; expected one JSON object per "
                "line (or a single array of objects)",
                path=path,
                row=len(records) + 1,
                line=line,
            ) from err
        if not isinstance(record, dict):
            raise DataError(
                f"expected one JSON object per line, found {type(record).__name__}",
                path=path,
                row=len(records) + 1,
                line=line,
            )
        records.append(record)
        lines.append(line)
    return SourceTable(
        pd.DataFrame.from_records(records),
        str(path),
        lambda row: lines[row - 1] if 1 <= row <= len(lines) else None,
    )


def read_label_names(path: Path) -> list[str]:
    """Label names from labels.json: {"0": "negative", "1": "positive"} (keys 0..K-1) or a list of names."""
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"could not read label names: {err}", path=path) from err
    if isinstance(names, dict):
        expected = [str(i) for i in range(len(names))]
        if sorted(names, key=str) != sorted(expected):
            raise DataError(
                f"expected keys {', '.join(expected)} (class index -> name), found keys "
                f"{', '.join(map(str, names))}",
                path=path,
            )
        names = [names[key] for key in expected]
    if (
        not isinstance(names, list)
        or len(set(names)) != len(names)
        or not all(isinstance(name, str) and name.strip() for name in names)
    ):
        raise DataError(f"expected distinct non-empty label names, found {names!r}", path=path)
    return names


def read_hub(train: str, label_column: str) -> tuple[dict[str, SourceTable], list[str] | None]:
    """The train/validation/test splits of a hub dataset "hf:<id>[:<config>]", and its ClassLabel names."""
    name, _, config = train[len("hf:") :].partition(":")
    if not name:
        raise DataError(f"expected 'hf:<dataset id>' or 'hf:<dataset id>:<config>', found {train!r}")
    try:
        import datasets  # optional and slow to import: only hub ids need it
    except ImportError as err:
        raise DataError("reading a Hugging Face dataset needs the 'datasets' package", path=train) from err
    try:
        loaded = datasets.load_dataset(name, config or None)
    except Exception as err:  # offline, unknown id, bad config...: many types, all meaning "cannot load"
        which = f"{name!r}" + (f" (config {config!r})" if config else "")
        raise DataError(
            f"could not load Hugging Face dataset {which}: {type(err).__name__}: {err}. Check "
            "the id and config name, and that this machine can reach the hub (with "
            "HF_DATASETS_OFFLINE=1 only cached datasets load)",
            path=train,
        ) from err
    if "train" not in loaded:
        raise DataError(f"expected a 'train' split, found splits: {', '.join(loaded)}", path=train)
    tables, names = {}, None
    for split in [s for s in ("train", "validation", "test") if s in loaded]:
        feature = loaded[split].features.get(label_column)
        if isinstance(feature, datasets.ClassLabel) and names is None:
            names = list(feature.names)
        frame = loaded[split].to_pandas()
        if split != "train" and label_column in frame and frame[label_column].isin([-1]).all():
            continue  # hub convention (GLUE test sets): every label -1 means the split is unlabelled
        tables[split] = SourceTable(frame, f"{train} [{split}]")
    return tables, names
