"""One run directory: its manifest, stages, arrays, tables, JSON results, checkpoints and lock."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from prune_core.store.errors import CorruptFileError, RunLockedError, StoreError
from prune_core.store.files import atomic_write, file_sha256, now, save_npy, stable_hash

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ArrayInfo:
    key: str
    shape: tuple[int, ...]
    dtype: str
    stage: str
    meta: dict


class Run:
    """One run directory. Cheap to construct; reads the manifest lazily and re-reads it on every change."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.id = self.path.name
        self._manifest: dict | None = None
        self._verified: dict[str, tuple[float, int]] = {}

    # ----------------------------------------------------------------------------- manifest
    @property
    def manifest(self) -> dict:
        if self._manifest is None:
            self._manifest = self._read_manifest()
        return self._manifest

    def reload(self) -> Run:
        self._manifest = None
        return self

    def _read_manifest(self) -> dict:
        path = self.path / MANIFEST
        try:
            return json.loads(path.read_text())
        except FileNotFoundError as err:
            raise StoreError(f"{self.path} is not a PruneScope run (no {MANIFEST})") from err
        except json.JSONDecodeError as err:
            raise StoreError(f"{path} is not valid JSON ({err}); the run's manifest is damaged") from err

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict]:
        """Read-modify-write the manifest under a short lock so concurrent writers never lose updates."""
        with FileLock(str(self.path / ".manifest.lock"), timeout=60):
            manifest = self._read_manifest()
            yield manifest
            manifest["updated"] = now()
            atomic_write(
                self.path / MANIFEST,
                lambda tmp: tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True)),
            )
            self._manifest = manifest

    def update_manifest(self, **fields: Any) -> None:
        with self._editing() as manifest:
            manifest.update(fields)

    @property
    def config(self) -> dict:
        return self.manifest.get("config", {})

    @property
    def label_names(self) -> list[str]:
        return list(self.manifest.get("dataset", {}).get("label_names", []))

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
    def stage(self, name: str) -> dict:
        return self.manifest.get("stages", {}).get(name, {"status": "missing"})

    def stage_status(self, name: str) -> str:
        return self.stage(name).get("status", "missing")

    def begin_stage(self, name: str, params: dict | None = None) -> None:
        with self._editing() as manifest:
            manifest.setdefault("stages", {})[name] = {
                "status": "running",
                "params": params or {},
                "params_hash": stable_hash(params or {}),
                "started": now(),
                "pid": os.getpid(),
            }

    def finish_stage(self, name: str, seconds: float, **extra: Any) -> None:
        with self._editing() as manifest:
            record = manifest.setdefault("stages", {}).setdefault(name, {})
            record.update(status="done", finished=now(), seconds=round(seconds, 3), **extra)
            record.pop("pid", None)
            record.pop("error", None)

    def fail_stage(self, name: str, error: str) -> None:
        with self._editing() as manifest:
            record = manifest.setdefault("stages", {}).setdefault(name, {})
            record.update(status="failed", error=error, finished=now())
            record.pop("pid", None)

    def stage_files(self, name: str) -> list[str]:
        return [key for key, info in self.manifest.get("files", {}).items() if info.get("stage") == name]

    def stage_is_done(self, name: str, params: dict | None = None, *, verify: bool = True) -> bool:
        """True when the stage finished with these params and every file it wrote is intact."""
        record = self.stage(name)
        if record.get("status") != "done":
            return False
        if params is not None and record.get("params_hash") != stable_hash(params):
            return False
        if verify:
            return not self.problems(self.stage_files(name))
        return True

    # ----------------------------------------------------------------------------- files
    def _file_path(self, key: str) -> Path:
        info = self.manifest.get("files", {}).get(key)
        if info is None:
            raise StoreError(f"run {self.id} has no stored file {key!r}")
        return self.path / info["path"]

    def _register(self, key: str, rel_path: str, stage: str, **info: Any) -> None:
        path = self.path / rel_path
        record = {
            "path": rel_path,
            "stage": stage,
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
            "written": now(),
            **info,
        }
        with self._editing() as manifest:
            manifest.setdefault("files", {})[key] = record
        self._verified[key] = (path.stat().st_mtime, path.stat().st_size)

    def forget_files(self, keys: list[str]) -> None:
        """Drop files from the manifest and disk (used when a stage restarts)."""
        with self._editing() as manifest:
            for key in keys:
                info = manifest.get("files", {}).pop(key, None)
                if info:
                    with contextlib.suppress(FileNotFoundError):
                        (self.path / info["path"]).unlink()

    def has(self, key: str) -> bool:
        return key in self.manifest.get("files", {})

    def keys(self, prefix: str = "", kind: str | None = None) -> list[str]:
        files = self.manifest.get("files", {})
        return sorted(
            k for k, v in files.items() if k.startswith(prefix) and (kind is None or v.get("kind") == kind)
        )

    def file_info(self, key: str) -> dict:
        info = self.manifest.get("files", {}).get(key)
        if info is None:
            raise StoreError(f"run {self.id} has no stored file {key!r}")
        return info

    def problems(self, keys: list[str] | None = None, *, checksum: bool = True) -> dict[str, str]:
        """Files whose size or checksum differ from the manifest (or that are missing): key -> reason."""
        found = {}
        files = self.manifest.get("files", {})
        for key in files if keys is None else keys:
            info = files.get(key)
            reason = self._check(key, info, checksum=checksum) if info else "not in the manifest"
            if reason:
                found[key] = reason
        return found

    def _check(self, key: str, info: dict, *, checksum: bool) -> str | None:
        path = self.path / info["path"]
        if not path.exists():
            return "missing"
        stat = path.stat()
        if stat.st_size != info["bytes"]:
            return f"size {stat.st_size} bytes, expected {info['bytes']} (truncated or altered)"
        if checksum and self._verified.get(key) != (stat.st_mtime, stat.st_size):
            if file_sha256(path) != info["sha256"]:
                return "checksum differs from the manifest (altered)"
            self._verified[key] = (stat.st_mtime, stat.st_size)
        return None

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
            key, rel, stage, kind="array", shape=list(array.shape), dtype=str(array.dtype), meta=meta or {}
        )

    def read_array(self, key: str, *, mmap: bool = True, verify: bool = True) -> np.ndarray:
        """Load an array, memory-mapped; raises CorruptFileError if it no longer matches the manifest."""
        info = self.file_info(key)
        if verify:
            reason = self._check(key, info, checksum=True)
            if reason:
                raise CorruptFileError(self, key, reason)
        try:
            array = np.load(self.path / info["path"], mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise CorruptFileError(self, key, f"unreadable: {err}") from err
        if list(array.shape) != info["shape"] or str(array.dtype) != info["dtype"]:
            raise CorruptFileError(
                self,
                key,
                f"shape {array.shape} / dtype {array.dtype}, expected "
                f"{tuple(info['shape'])} / {info['dtype']}",
            )
        return array

    def array_meta(self, key: str) -> dict:
        return self.file_info(key).get("meta", {})

    def arrays(self, prefix: str = "") -> list[ArrayInfo]:
        return [
            ArrayInfo(k, tuple(v["shape"]), v["dtype"], v["stage"], v.get("meta", {}))
            for k, v in sorted(self.manifest.get("files", {}).items())
            if v.get("kind") == "array" and k.startswith(prefix)
        ]

    # ----------------------------------------------------------------------------- tables and json
    def write_table(self, name: str, frame: pd.DataFrame, *, stage: str, meta: dict | None = None) -> None:
        rel = f"tables/{name}.parquet"
        atomic_write(self.path / rel, lambda tmp: frame.to_parquet(tmp, index=False))
        self._register(
            name,
            rel,
            stage,
            kind="table",
            rows=len(frame),
            columns=list(map(str, frame.columns)),
            meta=meta or {},
        )

    def read_table(self, name: str, *, verify: bool = True, columns: list[str] | None = None) -> pd.DataFrame:
        info = self.file_info(name)
        if verify:
            reason = self._check(name, info, checksum=True)
            if reason:
                raise CorruptFileError(self, name, reason)
        try:
            return pd.read_parquet(self.path / info["path"], columns=columns)
        except Exception as err:  # pyarrow raises several types for damaged files
            raise CorruptFileError(self, name, f"unreadable parquet: {err}") from err

    def write_json(self, name: str, obj: Any, *, stage: str) -> None:
        rel = f"json/{name}.json"
        atomic_write(self.path / rel, lambda tmp: tmp.write_text(json.dumps(obj, indent=1, sort_keys=True)))
        self._register(name, rel, stage, kind="json")

    def read_json(self, name: str, *, verify: bool = True) -> Any:
        info = self.file_info(name)
        if verify:
            reason = self._check(name, info, checksum=True)
            if reason:
                raise CorruptFileError(self, name, reason)
        return json.loads((self.path / info["path"]).read_text())

    # ----------------------------------------------------------------------------- examples
    def examples(self, split: str | None = None) -> pd.DataFrame:
        frame = self.read_table("examples")
        if split is not None:
            frame = frame[frame["split"] == split].reset_index(drop=True)
        return frame

    # ----------------------------------------------------------------------------- checkpoints
    def checkpoint_dir(self, checkpoint_id: str) -> Path:
        return self.path / "checkpoints" / checkpoint_id

    def save_checkpoint(self, checkpoint_id: str, groups: dict[str, dict[str, Any]], state: dict) -> None:
        """Write named tensor groups as safetensors, then ``state.json`` last: a checkpoint without its
        state file is incomplete and ignored on resume."""
        from safetensors.torch import save_file

        folder = self.checkpoint_dir(checkpoint_id)
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (folder / "state.json").unlink()
        for group, tensors in groups.items():
            payload = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
            atomic_write(folder / f"{group}.safetensors", lambda tmp, p=payload: save_file(p, str(tmp)))
        atomic_write(folder / "state.json", lambda tmp: tmp.write_text(json.dumps(state, indent=1)))

    def checkpoint_state(self, checkpoint_id: str) -> dict | None:
        path = self.checkpoint_dir(checkpoint_id) / "state.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def load_checkpoint_group(self, checkpoint_id: str, group: str) -> dict[str, Any]:
        """One tensor group of a checkpoint (safetensors: no pickle, no code execution)."""
        from safetensors.torch import load_file

        path = self.checkpoint_dir(checkpoint_id) / f"{group}.safetensors"
        try:
            return load_file(str(path))
        except Exception as err:
            raise StoreError(f"run {self.id}: checkpoint file {path} is unreadable ({err})") from err

    def has_checkpoint_group(self, checkpoint_id: str, group: str) -> bool:
        return (self.checkpoint_dir(checkpoint_id) / f"{group}.safetensors").exists()

    def drop_checkpoint_group(self, checkpoint_id: str, group: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.checkpoint_dir(checkpoint_id) / f"{group}.safetensors").unlink()

    def complete_checkpoints(self) -> list[str]:
        """Checkpoint ids whose state file was written (i.e. every tensor group before it is whole)."""
        root = self.path / "checkpoints"
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "state.json").exists())

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def describe(self) -> dict:
        """A machine-readable summary (``prune_core info RUN --json``)."""
        m = self.manifest
        return {
            "run_id": self.id,
            "path": str(self.path),
            "created": m.get("created"),
            "dataset": m.get("dataset", {}),
            "model": m.get("model", {}),
            "config": m.get("config", {}),
            "checkpoints": m.get("checkpoints", []),
            "stages": {
                k: {f: v.get(f) for f in ("status", "seconds", "finished", "error") if v.get(f) is not None}
                for k, v in m.get("stages", {}).items()
            },
            "arrays": [
                {"key": a.key, "shape": list(a.shape), "dtype": a.dtype, **a.meta} for a in self.arrays()
            ],
            "tables": {
                k: {"rows": v.get("rows"), "columns": v.get("columns")}
                for k, v in m.get("files", {}).items()
                if v.get("kind") == "table"
            },
            # a damaged methods file is reported by `info`'s health check, not raised from here
            "methods": self.read_json("methods")
            if self.has("methods") and not self.problems(["methods"])
            else {},
            "versions": m.get("versions", {}),
            "size_bytes": self.size_bytes(),
        }
