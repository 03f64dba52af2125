"""A folder of evaluation results kept outside any run, so they outlive the run store they came from.

A steps-matched fine-tune evaluation is minutes per job and a full table is hours; a run store is often
not kept (a scratch disk, a fresh machine, a CI checkout). ``evaluate --archive DIR`` writes each result
here as well as into the run, and before training a job it looks here for a result under the job's
exact cache key (the subset's uids, the training or probe settings, the data's hash: see
``evaluate/plan.py``). So a re-computed run that selects the same subsets reuses every matching result,
and one whose subset changed trains that job again: a stale result is never imported.

Layout: ``DIR/<store key>.json``, e.g. ``DIR/evaluation/finetune/el2n/0.1-plain-seed0.json``, the same
JSON the run holds (job, metrics, optimizer steps, seconds, ``key`` and ``key_hash``). Small enough to
commit next to a paper's table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prune_core.store.files import atomic_write_text


class ResultArchive:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def find(self, key: str, key_hash: str) -> dict[str, Any] | None:
        """The archived result stored under ``key`` when it was computed under ``key_hash``, else None
        (absent, unreadable or computed under another key: the job is trained again)."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key_hash") != key_hash:
            return None
        return record

    def save(self, key: str, record: dict[str, Any]) -> None:
        """Write ``record`` under ``key`` unless the archive already holds exactly it."""
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        path = self.path(key)
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except OSError:
            pass
        atomic_write_text(path, text)
