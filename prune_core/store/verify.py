"""Is a run whole? Damaged files, interrupted stages, and the command that heals each (``info``).

``check_run`` compares every file the manifest lists with its recorded size (always) and sha256 (with
``checksum=True``, which reads the whole run: slow on large runs, so ``info`` does it only with
``--verify``). A stage recorded as "running" whose process is gone was
interrupted (killed, power loss): it is reported as such, not as running forever. Every problem comes
with the exact command from ``prune_core.store.remedy`` that rewrites it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from prune_core.store.remedy import file_command, files_of, stage_command, stages_of


@dataclass
class Problem:
    """One damaged file or interrupted stage and what heals it."""

    kind: str  # "damaged" | "interrupted"
    what: str  # file key or stage name
    stage: str | None
    reason: str
    command: str


@dataclass
class Health:
    run_id: str
    checksums: bool
    files: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checksums_verified": self.checksums,
            "files_checked": self.files,
            "problems": [asdict(p) for p in self.problems],
        }


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def stage_state(record: dict) -> str:
    """The stage's status, with a "running" stage whose process is gone shown as "interrupted"."""
    status = record.get("status", "missing")
    if status == "running" and not pid_alive(record.get("pid")):
        return "interrupted"
    return status


def stage_states(run) -> dict[str, str]:
    return {name: stage_state(record) for name, record in stages_of(run).items()}


def check_run(run, *, checksum: bool) -> Health:
    """Every file against the manifest, and every stage's owner; problems in manifest order."""
    files = files_of(run)
    health = Health(run.id, checksum, len(files))
    for key, reason in run.problems(checksum=checksum).items():
        stage = (files.get(key) or {}).get("stage")
        health.problems.append(Problem("damaged", key, stage, reason, file_command(run, key)))
    for name, state in stage_states(run).items():
        if state == "interrupted":
            pid = stages_of(run)[name].get("pid")
            health.problems.append(
                Problem(
                    "interrupted",
                    name,
                    name,
                    f"recorded as running by pid {pid}, which is no longer computing",
                    stage_command(run, name),
                )
            )
    return health
