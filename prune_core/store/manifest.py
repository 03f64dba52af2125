"""The typed manifest of a run: what ``manifest.json`` holds, as dataclasses.

Only the store reads and writes the JSON; everything else sees these records through ``Run``. The
on-disk layout is the one format 1 wrote (the same field names), so runs written before the records were
typed still open; format 2 adds nothing but registered checkpoint files (``kind="checkpoint"``).
Fields a newer writer added and this code does not know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

FORMAT_VERSION = 2
STATUSES = ("missing", "running", "done", "failed")
FILE_KINDS = ("array", "table", "json", "checkpoint", "shard")


def _split(raw: dict, cls) -> tuple[dict, dict]:
    """``raw`` divided into the dataclass's own fields and the rest."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return {k: v for k, v in raw.items() if k in names}, {k: v for k, v in raw.items() if k not in names}


def _compact(record, skip: tuple[str, ...] = ()) -> dict:
    """A record as its JSON object: ``None`` fields left out, ``extra`` merged back in."""
    body = {
        f.name: getattr(record, f.name)
        for f in fields(record)
        if f.name not in ("extra", *skip) and getattr(record, f.name) is not None
    }
    return {**getattr(record, "extra", {}), **body}


@dataclass
class StageRecord:
    """One stage's state: ``missing`` → ``running`` → ``done`` or ``failed``, with its parameters' hash."""

    name: str
    status: str = "missing"
    params: dict = field(default_factory=dict)
    params_hash: str | None = None
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    pid: int | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)  # what the stage reported on finishing (sizes, history...)

    @classmethod
    def from_dict(cls, name: str, raw: dict) -> StageRecord:
        known, extra = _split(raw, cls)
        known.pop("name", None)
        return cls(name=name, **known, extra=extra)

    def to_dict(self) -> dict:
        return _compact(self, skip=("name",))


@dataclass
class FileRecord:
    """One stored file: where it is, which stage wrote it, and what it must still match on read."""

    key: str
    path: str  # relative to the run folder
    stage: str
    kind: str  # one of FILE_KINDS
    bytes: int
    sha256: str
    written: str | None = None
    shape: list[int] | None = None  # arrays
    dtype: str | None = None  # arrays
    rows: int | None = None  # tables
    columns: list[str] | None = None  # tables
    meta: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, key: str, raw: dict) -> FileRecord:
        known, extra = _split(raw, cls)
        known.pop("key", None)
        known.setdefault("kind", "json")
        known.setdefault("meta", {})
        return cls(key=key, **known, extra=extra)

    def to_dict(self) -> dict:
        return _compact(self, skip=("key",))


@dataclass
class CheckpointInfo:
    """A model checkpoint the run recorded: the pre-trained model (epoch 0) or the end of an epoch."""

    id: str
    epoch: int
    step: int | None = None
    lr: float | None = None  # mean learning rate over the epoch (weights gradient checkpoints)
    gradients: bool = False  # gradient features were computed at this checkpoint
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict) -> CheckpointInfo:
        known, extra = _split(raw, cls)
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        body = _compact(self)
        body.setdefault("lr", None)  # format 1 always wrote it
        return body


@dataclass
class DatasetInfo:
    fingerprint: str | None = None
    label_names: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict) -> DatasetInfo:
        known, extra = _split(raw, cls)
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        return _compact(self)


@dataclass
class Manifest:
    """Everything ``manifest.json`` records about a run."""

    run_id: str
    format_version: int = FORMAT_VERSION
    created: str | None = None
    updated: str | None = None
    config: dict = field(default_factory=dict)  # what the run was computed with (free-form per writer)
    dataset: DatasetInfo = field(default_factory=DatasetInfo)
    model: dict = field(default_factory=dict)  # the model's description (name, class, parameters, device)
    versions: dict = field(default_factory=dict)
    checkpoints: list[CheckpointInfo] = field(default_factory=list)
    stages: dict[str, StageRecord] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict, run_id: str = "") -> Manifest:
        known, extra = _split(raw, cls)
        known.setdefault("run_id", run_id)
        known.setdefault("format_version", 1)  # format 1 runs written before the field existed
        known["dataset"] = DatasetInfo.from_dict(known.get("dataset") or {})
        known["checkpoints"] = [CheckpointInfo.from_dict(c) for c in known.get("checkpoints") or []]
        known["stages"] = {k: StageRecord.from_dict(k, v) for k, v in (known.get("stages") or {}).items()}
        known["files"] = {k: FileRecord.from_dict(k, v) for k, v in (known.get("files") or {}).items()}
        known["config"] = known.get("config") or {}
        known["model"] = known.get("model") or {}
        known["versions"] = known.get("versions") or {}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        body = {
            **self.extra,
            "run_id": self.run_id,
            "format_version": self.format_version,
            "config": self.config,
            "dataset": self.dataset.to_dict(),
            "model": self.model,
            "versions": self.versions,
            "checkpoints": [c.to_dict() for c in self.checkpoints],
            "stages": {k: v.to_dict() for k, v in self.stages.items()},
            "files": {k: v.to_dict() for k, v in self.files.items()},
        }
        for name in ("created", "updated"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        return body

    def update(self, **values: Any) -> None:
        """Set top-level fields, converting plain values of the typed ones (unknown names go to ``extra``)."""
        for name, value in values.items():
            if name == "dataset" and isinstance(value, dict):
                value = DatasetInfo.from_dict(value)
            elif name == "checkpoints":
                value = [c if isinstance(c, CheckpointInfo) else CheckpointInfo.from_dict(c) for c in value]
            elif name in ("stages", "files"):
                raise ValueError(
                    f"the manifest's {name} change only through the run's stage and file methods"
                )
            if name in {f.name for f in fields(self)} - {"extra"}:
                setattr(self, name, value)
            else:
                self.extra[name] = value
