"""A folder of runs: list, open, create, delete."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from prune_core.paths import runs_dir
from prune_core.store.errors import StoreError
from prune_core.store.files import atomic_write, now
from prune_core.store.manifest import FORMAT_VERSION, CheckpointInfo, DatasetInfo, Manifest
from prune_core.store.run import MANIFEST, Run


class RunStore:
    """A folder of runs (default ``data/runs`` or ``$PRUNESCOPE_RUNS_DIR``)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser().resolve() if root else runs_dir()

    def runs(self) -> list[Run]:
        """Every run here, newest first (directories without a readable manifest are skipped)."""
        if not self.root.exists():
            return []
        found = []
        for path in self.root.iterdir():
            if (path / MANIFEST).is_file():
                found.append(Run(path))
        return sorted(found, key=lambda r: (r.path / MANIFEST).stat().st_mtime, reverse=True)

    def has(self, run_id: str) -> bool:
        """True when a run ``run_id`` exists here (its manifest is present)."""
        return (self.root / run_id / MANIFEST).is_file()

    def open(self, run: str | Path) -> Run:
        """A run by id (a directory name here) or by path."""
        candidate = Path(run).expanduser()
        path = candidate if (candidate / MANIFEST).exists() else self.root / str(run)
        if not (path / MANIFEST).exists():
            known = ", ".join(r.id for r in self.runs()[:10]) or "none"
            raise StoreError(f"no run {str(run)!r} in {self.root} (runs here: {known})")
        return Run(path)

    def create(
        self,
        run_id: str,
        fields: dict | None = None,
        *,
        config: dict | None = None,
        dataset: DatasetInfo | dict | None = None,
        model: dict | None = None,
        versions: dict | None = None,
        checkpoints: list[CheckpointInfo] | None = None,
    ) -> Run:
        """Create (or reopen) the run directory ``run_id`` with an initial manifest.

        The manifest's run-level fields come as keywords (or, equivalently, as one ``fields`` mapping);
        reopening an existing run leaves its manifest as it is.
        """
        path = self.root / run_id
        path.mkdir(parents=True, exist_ok=True)
        if not (path / MANIFEST).exists():
            manifest = Manifest(run_id=run_id, format_version=FORMAT_VERSION, created=now())
            typed = {"config": config, "dataset": dataset, "model": model, "versions": versions}
            manifest.update(**(fields or {}), **{k: v for k, v in typed.items() if v is not None})
            if checkpoints is not None:
                manifest.update(checkpoints=checkpoints)
            body = manifest.to_dict()
            atomic_write(
                path / MANIFEST, lambda tmp: tmp.write_text(json.dumps(body, indent=1, sort_keys=True))
            )
        return Run(path)

    def delete(self, run_id: str) -> None:
        run = self.open(run_id)
        with run.lock("delete"):
            pass
        shutil.rmtree(run.path)
