"""One run directory: its manifest, stages, arrays, tables, JSON results, checkpoints and lock."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from prune_core.store import keys
from prune_core.store.errors import CorruptFileError, RunLockedError, StoreError
from prune_core.store.files import atomic_write, file_sha256, now, save_npy, stable_hash
from prune_core.store.manifest import (
    FORMAT_VERSION,
    CheckpointInfo,
    DatasetInfo,
    FileRecord,
    Manifest,
    StageRecord,
)
from prune_core.store.stage import Stage

MANIFEST = "manifest.json"


class Run:
    """One run directory. Cheap to construct; reads the manifest lazily and re-reads it on every change.

    The manifest is typed (:mod:`prune_core.store.manifest`) and private to the store: callers read it
    through the properties and methods below (``config``, ``dataset``, ``checkpoints``, ``stages()``,
    ``file_info(key)``...) and change it only through stages, file writes and :meth:`update_manifest`.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.id = self.path.name
        self._manifest: Manifest | None = None
        self._verified: dict[str, tuple[float, int]] = {}

    # ----------------------------------------------------------------------------- manifest
    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = self._read_manifest()
        return self._manifest

    def reload(self) -> Run:
        self._manifest = None
        return self

    def _read_manifest(self) -> Manifest:
        path = self.path / MANIFEST
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError as err:
            raise StoreError(f"{self.path} is not a PruneScope run (no {MANIFEST})") from err
        except json.JSONDecodeError as err:
            raise StoreError(f"{path} is not valid JSON ({err}); the run's manifest is damaged") from err
        if not isinstance(raw, dict):
            raise StoreError(f"{path} is not a PruneScope manifest (a JSON object was expected)")
        version = raw.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StoreError(
                f"{path} has run format {version!r}, newer than this PruneScope reads "
                f"(format {FORMAT_VERSION}); upgrade PruneScope to open it"
            )
        try:
            return Manifest.from_dict(raw, self.id)
        except (TypeError, AttributeError, ValueError) as err:
            raise StoreError(f"{path} does not have the fields of a PruneScope manifest ({err})") from err

    @contextlib.contextmanager
    def _editing(self) -> Iterator[Manifest]:
        """Read-modify-write the manifest under a short lock so concurrent writers never lose updates."""
        with FileLock(str(self.path / ".manifest.lock"), timeout=60):
            manifest = self._read_manifest()
            yield manifest
            manifest.updated = now()
            body = manifest.to_dict()
            atomic_write(
                self.path / MANIFEST,
                lambda tmp: tmp.write_text(json.dumps(body, indent=1, sort_keys=True)),
            )
            self._manifest = manifest

    def update_manifest(self, **fields: Any) -> None:
        """Record run-level facts (``model``, ``checkpoints``, ``config``...); typed fields are converted."""
        with self._editing() as manifest:
            manifest.update(**fields)

    @property
    def config(self) -> dict:
        return self.manifest.config

    @property
    def dataset(self) -> DatasetInfo:
        return self.manifest.dataset

    @property
    def label_names(self) -> list[str]:
        return list(self.manifest.dataset.label_names)

    @property
    def task(self) -> str:
        """``classification`` or ``generation`` (prune_core/tasks); runs from before tasks classify."""
        return (self.manifest.config.get("dataset") or {}).get("task") or "classification"

    @property
    def model_info(self) -> dict:
        return self.manifest.model

    @property
    def checkpoints(self) -> list[CheckpointInfo]:
        return list(self.manifest.checkpoints)

    @property
    def versions(self) -> dict:
        return self.manifest.versions

    @property
    def created(self) -> str | None:
        return self.manifest.created

    @property
    def updated(self) -> str | None:
        return self.manifest.updated

    # ----------------------------------------------------------------------------- lock
    @contextlib.contextmanager
    def lock(self, what: str = "compute") -> Iterator[None]:
        """Exclusive lock for a computation on this run; a second one fails at once with a clear message."""
        lock = FileLock(str(self.path / "run.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout as err:
            holder = (
                (self.path / "run.lock.owner").read_text() if (self.path / "run.lock.owner").exists() else "?"
            )
            raise RunLockedError(
                f"run {self.id} is busy: another computation holds its lock ({holder}); "
                "wait for it to finish or stop it"
            ) from err
        try:
            (self.path / "run.lock.owner").write_text(f"{what} pid {os.getpid()} since {now()}")
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                (self.path / "run.lock.owner").unlink()
            lock.release()

    def is_locked(self) -> bool:
        lock = FileLock(str(self.path / "run.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return True
        lock.release()
        return False

    # ----------------------------------------------------------------------------- progress
    def write_progress(self, status: dict) -> None:
        """The running stage's progress (not a result: not in the manifest, overwritten freely)."""
        body = {**status, "pid": os.getpid(), "updated": time.time()}
        atomic_write(self.path / "progress.json", lambda tmp: tmp.write_text(json.dumps(body)))

    def read_progress(self) -> dict | None:
        try:
            return json.loads((self.path / "progress.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # ----------------------------------------------------------------------------- stages
    def stage(
        self,
        name: str,
        params: dict | None = None,
        *,
        errors: str = "raise",
        keep: Callable[[FileRecord], bool] | None = None,
    ) -> Stage:
        """The lifecycle of one stage (check done, begin, record failure, finish): see ``store/stage.py``."""
        return Stage(self, name, params, errors=errors, keep=keep)

    def stages(self, prefix: str = "") -> dict[str, StageRecord]:
        """Every stage record whose name starts with ``prefix``, by name."""
        return {k: v for k, v in self.manifest.stages.items() if k.startswith(prefix)}

    def stage_record(self, name: str) -> StageRecord:
        return self.manifest.stages.get(name) or StageRecord(name)

    def stage_status(self, name: str) -> str:
        return self.stage_record(name).status

    def begin_stage(self, name: str, params: dict | None = None) -> None:
        with self._editing() as manifest:
            manifest.stages[name] = StageRecord(
                name,
                status="running",
                params=params or {},
                params_hash=stable_hash(params or {}),
                started=now(),
                pid=os.getpid(),
            )

    def finish_stage(self, name: str, seconds: float, **extra: Any) -> None:
        with self._editing() as manifest:
            record = manifest.stages.setdefault(name, StageRecord(name))
            record.status, record.finished, record.seconds = "done", now(), round(seconds, 3)
            record.pid = record.error = None
            record.extra.update(extra)

    def fail_stage(self, name: str, error: str) -> None:
        with self._editing() as manifest:
            record = manifest.stages.setdefault(name, StageRecord(name))
            record.status, record.error, record.finished, record.pid = "failed", error, now(), None

    def stage_files(self, name: str) -> list[str]:
        return [key for key, info in self.manifest.files.items() if info.stage == name]

    def stage_is_done(self, name: str, params: dict | None = None, *, verify: bool = True) -> bool:
        """True when the stage finished with these params and every file it wrote is intact."""
        record = self.stage_record(name)
        if record.status != "done":
            return False
        if params is not None and record.params_hash != stable_hash(params):
            return False
        if verify:
            return not self.problems(self.stage_files(name))
        return True

    # ----------------------------------------------------------------------------- files
    def _register(self, key: str, rel_path: str, stage: str, kind: str, **info: Any) -> None:
        path = self.path / rel_path
        stat = path.stat()
        record = FileRecord(
            key=key,
            path=rel_path,
            stage=stage,
            kind=kind,
            bytes=stat.st_size,
            sha256=file_sha256(path),
            written=now(),
            **info,
        )
        with self._editing() as manifest:
            manifest.files[key] = record
        self._verified[key] = (stat.st_mtime, stat.st_size)

    def forget_files(self, keys_: list[str]) -> None:
        """Drop files from the manifest and disk (used when a stage restarts)."""
        with self._editing() as manifest:
            for key in keys_:
                info = manifest.files.pop(key, None)
                if info:
                    with contextlib.suppress(FileNotFoundError):
                        (self.path / info.path).unlink()

    def has(self, key: str) -> bool:
        return key in self.manifest.files

    def keys(self, prefix: str = "", kind: str | None = None) -> list[str]:
        return sorted(
            k
            for k, v in self.manifest.files.items()
            if k.startswith(prefix) and (kind is None or v.kind == kind)
        )

    def files(self, prefix: str = "", kind: str | None = None) -> list[FileRecord]:
        """The records of the stored files whose keys start with ``prefix`` (of one ``kind``), by key."""
        return [self.manifest.files[k] for k in self.keys(prefix, kind)]

    def file_info(self, key: str) -> FileRecord:
        info = self.manifest.files.get(key)
        if info is None:
            raise StoreError(f"run {self.id} has no stored file {key!r}")
        return info

    def checksum(self, *names: str) -> str:
        """Hash of the recorded sha256 of the files whose keys equal or start with any of ``names``."""
        parts = [
            f"{key}:{info.sha256}"
            for key, info in sorted(self.manifest.files.items())
            if any(key == n or key.startswith(n) for n in names)
        ]
        return stable_hash(parts, 16)

    def problems(self, keys_: list[str] | None = None, *, checksum: bool = True) -> dict[str, str]:
        """Files whose size or checksum differ from the manifest (or that are missing): key -> reason."""
        found = {}
        files = self.manifest.files
        for key in files if keys_ is None else keys_:
            info = files.get(key)
            reason = self._check(key, info, checksum=checksum) if info else "not in the manifest"
            if reason:
                found[key] = reason
        return found

    def _check(self, key: str, info: FileRecord, *, checksum: bool) -> str | None:
        path = self.path / info.path
        if not path.exists():
            return "missing"
        stat = path.stat()
        if stat.st_size != info.bytes:
            return f"size {stat.st_size} bytes, expected {info.bytes} (truncated or altered)"
        if checksum and self._verified.get(key) != (stat.st_mtime, stat.st_size):
            if file_sha256(path) != info.sha256:
                return "checksum differs from the manifest (altered)"
            self._verified[key] = (stat.st_mtime, stat.st_size)
        return None

    def _verified_path(self, key: str, verify: bool = True) -> tuple[FileRecord, Path]:
        """The record and path of a stored file, after checking it still matches the manifest."""
        info = self.file_info(key)
        if verify:
            reason = self._check(key, info, checksum=True)
            if reason:
                raise CorruptFileError(self, key, reason)
        return info, self.path / info.path

    # ----------------------------------------------------------------------------- arrays
    def write_array(
        self, key: str, array: np.ndarray, *, stage: str, dtype: str | None = None, meta: dict | None = None
    ) -> None:
        """Store a dense array as ``arrays/<key>.npy`` (cast to ``dtype``, e.g. float16 for big matrices)."""
        array = np.ascontiguousarray(array if dtype is None else np.asarray(array).astype(dtype))
        if array.dtype == object:
            raise StoreError(f"refusing to store {key!r}: object arrays would need pickle")
        rel = f"arrays/{key}.npy"
        atomic_write(self.path / rel, lambda tmp: save_npy(tmp, array))
        self._register(
            key, rel, stage, "array", shape=list(array.shape), dtype=str(array.dtype), meta=meta or {}
        )

    def read_array(self, key: str, *, mmap: bool = True, verify: bool = True) -> np.ndarray:
        """Load an array, memory-mapped; raises CorruptFileError if it no longer matches the manifest."""
        info, path = self._verified_path(key, verify)
        try:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise CorruptFileError(self, key, f"unreadable: {err}") from err
        if list(array.shape) != list(info.shape or []) or str(array.dtype) != info.dtype:
            raise CorruptFileError(
                self,
                key,
                f"shape {array.shape} / dtype {array.dtype}, expected "
                f"{tuple(info.shape or [])} / {info.dtype}",
            )
        return array

    def array_meta(self, key: str) -> dict:
        return self.file_info(key).meta

    def arrays(self, prefix: str = "") -> list[FileRecord]:
        return self.files(prefix, kind="array")

    # ----------------------------------------------------------------------------- tables and json
    def write_table(self, name: str, frame: pd.DataFrame, *, stage: str, meta: dict | None = None) -> None:
        rel = f"tables/{name}.parquet"
        atomic_write(self.path / rel, lambda tmp: frame.to_parquet(tmp, index=False))
        self._register(
            name,
            rel,
            stage,
            "table",
            rows=len(frame),
            columns=list(map(str, frame.columns)),
            meta=meta or {},
        )

    def read_table(self, name: str, *, verify: bool = True, columns: list[str] | None = None) -> pd.DataFrame:
        _, path = self._verified_path(name, verify)
        try:
            return pd.read_parquet(path, columns=columns)
        except Exception as err:  # pyarrow raises several types for damaged files
            raise CorruptFileError(self, name, f"unreadable parquet: {err}") from err

    def write_json(self, name: str, obj: Any, *, stage: str) -> None:
        rel = f"json/{name}.json"
        atomic_write(self.path / rel, lambda tmp: tmp.write_text(json.dumps(obj, indent=1, sort_keys=True)))
        self._register(name, rel, stage, "json")

    def read_json(self, name: str, *, verify: bool = True) -> Any:
        _, path = self._verified_path(name, verify)
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CorruptFileError(self, name, f"unreadable JSON: {err}") from err

    # ----------------------------------------------------------------------------- shards
    # A distributed representation pass (``prune_core/distributed/``) writes one shard per block: every
    # output of a set of examples, in one safetensors file (no pickle), written atomically by the worker
    # and registered with its own sha256 like every other file. The driver merges a split's shards into
    # the ordinary arrays (``merge`` below is the one logical array readers see), then drops them.
    def write_shard(
        self, key: str, arrays: dict[str, np.ndarray], *, stage: str, meta: dict | None = None
    ) -> None:
        from safetensors.numpy import save_file

        payload = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
        rel = f"{key}.safetensors"
        atomic_write(self.path / rel, lambda tmp: save_file(payload, str(tmp)))
        rows = len(next(iter(payload.values()))) if payload else 0
        self._register(key, rel, stage, "shard", shape=[rows], meta=meta or {})

    def read_shard(self, key: str, *, verify: bool = True) -> dict[str, np.ndarray]:
        """One shard's arrays, after checking its checksum against the manifest."""
        from safetensors.numpy import load_file

        _, path = self._verified_path(key, verify)
        try:
            return load_file(str(path))
        except Exception as err:  # safetensors raises its own error types for damaged files
            raise CorruptFileError(self, key, f"unreadable shard: {err}") from err

    def shards(self, prefix: str) -> list[FileRecord]:
        """The shard records under ``prefix`` (``keys.prefix(keys.SHARDS, split, checkpoint)``), by key."""
        return self.files(prefix, kind="shard")

    # ----------------------------------------------------------------------------- examples
    def examples(self, split: str | None = None) -> pd.DataFrame:
        frame = self.read_table(keys.EXAMPLES)
        if split is not None:
            frame = frame[frame["split"] == split].reset_index(drop=True)
        return frame

    # ----------------------------------------------------------------------------- checkpoints
    # Each tensor group (``weights``, ``optimizer``, ``dynamics``, ``adam``) is one safetensors file and
    # ``state`` one JSON file, all registered like every other file (checksum verified on read) under the
    # stage that saved them. Runs of format 1 saved checkpoints without registering them: those files are
    # still read, without a checksum to verify.
    def checkpoint_dir(self, checkpoint_id: str) -> Path:
        return self.path / "checkpoints" / checkpoint_id

    def _checkpoint_rel(self, checkpoint_id: str, group: str) -> str:
        suffix = ".json" if group == keys.CHECKPOINT_STATE else ".safetensors"
        return f"checkpoints/{checkpoint_id}/{group}{suffix}"

    def save_checkpoint(
        self, checkpoint_id: str, groups: dict[str, dict[str, Any]], state: dict, *, stage: str = "train"
    ) -> None:
        """Write named tensor groups as safetensors, then ``state.json`` last: a checkpoint without its
        state file is incomplete and ignored on resume."""
        from safetensors.torch import save_file

        state_key = keys.checkpoint(checkpoint_id, keys.CHECKPOINT_STATE)
        self.forget_files([state_key])
        with contextlib.suppress(FileNotFoundError):
            (self.path / self._checkpoint_rel(checkpoint_id, keys.CHECKPOINT_STATE)).unlink()
        for group, tensors in groups.items():
            payload = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
            rel = self._checkpoint_rel(checkpoint_id, group)
            atomic_write(self.path / rel, lambda tmp, p=payload: save_file(p, str(tmp)))
            self._register(keys.checkpoint(checkpoint_id, group), rel, stage, "checkpoint")
        rel = self._checkpoint_rel(checkpoint_id, keys.CHECKPOINT_STATE)
        atomic_write(self.path / rel, lambda tmp: tmp.write_text(json.dumps(state, indent=1)))
        self._register(state_key, rel, stage, "checkpoint")

    def _checkpoint_path(self, checkpoint_id: str, group: str) -> Path | None:
        """The verified path of one checkpoint file, or None when the run does not hold it."""
        key = keys.checkpoint(checkpoint_id, group)
        if self.has(key):
            return self._verified_path(key)[1]
        legacy = self.path / self._checkpoint_rel(checkpoint_id, group)
        return legacy if self.manifest.format_version < 2 and legacy.exists() else None

    def checkpoint_state(self, checkpoint_id: str) -> dict | None:
        """The state saved with a checkpoint; None when the checkpoint is incomplete, missing or damaged."""
        try:
            path = self._checkpoint_path(checkpoint_id, keys.CHECKPOINT_STATE)
            return json.loads(path.read_text()) if path else None
        except (CorruptFileError, FileNotFoundError, json.JSONDecodeError):
            return None

    def load_checkpoint_group(self, checkpoint_id: str, group: str) -> dict[str, Any]:
        """One tensor group of a checkpoint (safetensors: no pickle, no code execution), verified first."""
        from safetensors.torch import load_file

        path = self._checkpoint_path(checkpoint_id, group)
        if path is None:
            raise StoreError(
                f"run {self.id} has no checkpoint file {keys.checkpoint(checkpoint_id, group)!r}; "
                "the stage 'train' will recompute it on the next `compute`"
            )
        try:
            return load_file(str(path))
        except Exception as err:
            raise StoreError(f"run {self.id}: checkpoint file {path} is unreadable ({err})") from err

    def has_checkpoint_group(self, checkpoint_id: str, group: str) -> bool:
        key = keys.checkpoint(checkpoint_id, group)
        if self.has(key):
            return not self.problems([key])
        return self._checkpoint_path(checkpoint_id, group) is not None

    def drop_checkpoint_group(self, checkpoint_id: str, group: str) -> None:
        self.forget_files([keys.checkpoint(checkpoint_id, group)])
        with contextlib.suppress(FileNotFoundError):
            (self.path / self._checkpoint_rel(checkpoint_id, group)).unlink()

    def complete_checkpoints(self) -> list[str]:
        """Checkpoint ids whose state file was written (i.e. every tensor group before it is whole)."""
        root = self.path / "checkpoints"
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if self.checkpoint_state(p.name) is not None)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def describe(self) -> dict:
        """A machine-readable summary (``prune_core info RUN --json``)."""
        m = self.manifest
        return {
            "run_id": self.id,
            "path": str(self.path),
            "format_version": m.format_version,
            "created": m.created,
            "dataset": m.dataset.to_dict(),
            "model": m.model,
            "config": m.config,
            "checkpoints": [c.to_dict() for c in m.checkpoints],
            "stages": {
                k: {
                    f: getattr(v, f)
                    for f in ("status", "seconds", "finished", "error")
                    if getattr(v, f) is not None
                }
                for k, v in m.stages.items()
            },
            "arrays": [
                {"key": a.key, "shape": list(a.shape or []), "dtype": a.dtype, **a.meta}
                for a in self.arrays()
            ],
            "tables": {t.key: {"rows": t.rows, "columns": t.columns} for t in self.files(kind="table")},
            # a damaged methods file is reported by `info`'s health check, not raised from here
            "methods": self.read_json(keys.METHODS)
            if self.has(keys.METHODS) and not self.problems([keys.METHODS])
            else {},
            "versions": m.versions,
            "size_bytes": self.size_bytes(),
        }
