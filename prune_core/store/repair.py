"""Rebuild a damaged ``manifest.json`` from what survives of it and the files on disk (``repair RUN``).

The manifest is written as indented JSON with sorted keys (``Run._editing``), one member per line group,
so damage (a truncated write, flipped bytes) usually spoils a few members and leaves the rest readable.
``salvage`` reads every top-level member that still parses, and inside a spoilt ``files`` or ``stages``
member every record that still parses. Then each file on disk is checked against its salvaged record:
the sha256 must match, so a kept file is exactly what its stage wrote. A file without a surviving record,
or whose checksum differs, is left out of the manifest and its stage is marked missing, so the command
``prune_core.store.remedy`` names for that stage recomputes it. The damaged manifest is kept beside the
new one as ``manifest.json.damaged-<time>``; nothing else is deleted.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from prune_core.store.errors import StoreError
from prune_core.store.files import atomic_write, file_sha256, now
from prune_core.store.remedy import stage_command
from prune_core.store.run import MANIFEST, Run

_MEMBER = re.compile(r'^( +)"')
FILE_ROOTS = ("arrays", "tables", "json", "checkpoints")


@dataclass
class RepairReport:
    path: Path
    intact: bool
    reason: str = ""
    lost_sections: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # relative path -> why
    commands: list[str] = field(default_factory=list)
    backup: Path | None = None
    problems: list = field(default_factory=list)  # from check_run when the manifest was intact

    @property
    def ok(self) -> bool:
        return not self.left_out and not self.lost_sections and not self.problems

    def lines(self) -> list[str]:
        if self.intact:
            out = [f"{self.path / MANIFEST} is intact (valid JSON); files checked against it by sha256:"]
            out += [f"  {p.kind} {p.what}: {p.reason}\n    repair: {p.command}" for p in self.problems]
            return out + ([] if self.problems else ["  every file matches"])
        out = [
            f"{self.path / MANIFEST} was damaged ({self.reason}); rebuilt from the files on disk",
            f"  kept {len(self.verified)} files whose sha256 matches the surviving record",
        ]
        if self.backup:
            out.append(f"  the damaged manifest is kept as {self.backup.name}")
        if self.lost_sections:
            out.append(f"  lost (unreadable) manifest sections: {', '.join(self.lost_sections)}")
        for rel, why in self.left_out.items():
            out.append(f"  left out {rel}: {why}")
        for command in self.commands:
            out.append(f"  recompute: {command}")
        return out


def locate_run(store, run: str | Path) -> Path:
    """The run folder, found even when its manifest is unreadable or gone."""
    for path in (Path(run).expanduser(), store.root / str(run)):
        if path.is_dir() and any((path / name).exists() for name in (MANIFEST, *FILE_ROOTS)):
            return path
    raise StoreError(f"no run {str(run)!r} in {store.root}")


_STAGE_OF = [
    (re.compile(r"arrays/dynamics/"), lambda m: "train"),
    (
        re.compile(r"arrays/(?:outputs|hidden|head_input|grads|grad_norms)/[^/]+/([^/.]+)"),
        lambda m: f"represent:{m.group(1)}",
    ),
    (
        re.compile(r"arrays/(?:scores|rankings|selections)/([^/]+?)(?:\.npy|/)"),
        lambda m: f"select:{m.group(1)}",
    ),
    (re.compile(r"arrays/maps/([^/]+)/([^/.]+)"), lambda m: f"map:{m.group(1)}:{m.group(2)}"),
    (re.compile(r"tables/examples\.parquet"), lambda m: "data"),
    (re.compile(r"(?:tables/scores\.parquet|json/methods\.json)"), lambda m: "select:summary"),
    (re.compile(r"json/evaluation/([^/]+)/"), lambda m: f"evaluate:{m.group(1)}"),
    (re.compile(r"tables/evaluations\.parquet"), lambda m: "evaluate:summary"),
]


def stage_of_path(rel: str) -> str | None:
    """Which stage writes a file, from its path alone (when its manifest record is lost)."""
    for pattern, name in _STAGE_OF:
        match = pattern.match(rel)
        if match:
            return name(match)
    return None


def _members(lines: list[str], indent: int) -> dict[str, list[str]]:
    """Group lines into members that start at exactly ``indent`` spaces: ``"name": value``."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = _MEMBER.match(line)
        if match and len(match.group(1)) == indent:
            current = [line]
            groups[f"#{len(groups)}"] = current
        elif current is not None:
            current.append(line)
    return groups


def _parse_member(chunk: list[str], indent: int) -> tuple[str, object] | None:
    """One ``"name": value`` member, or None when it no longer parses."""
    lines = list(chunk)
    # the last member of an object also holds the object's closing bracket: drop lines shallower than it
    while (
        lines
        and len(lines[-1]) - len(lines[-1].lstrip(" ")) < indent
        and lines[-1].strip()
        in (
            "}",
            "},",
            "]",
            "],",
        )
    ):
        lines.pop()
    body = "\n".join(lines).rstrip().rstrip(",")
    try:
        parsed = json.loads("{" + body + "}")
    except json.JSONDecodeError:
        return None
    return next(iter(parsed.items())) if isinstance(parsed, dict) and len(parsed) == 1 else None


def salvage(text: str) -> tuple[dict, list[str]]:
    """Top-level members that still parse; ``files`` / ``stages`` record by record. Returns the salvaged
    manifest and the names of members (or ``files``/``stages`` records) that were lost."""
    lines = text.splitlines()
    manifest: dict = {}
    lost: list[str] = []
    for chunk in _members(lines, 1).values():
        parsed = _parse_member(chunk, 1)
        if parsed is not None:
            manifest[parsed[0]] = parsed[1]
            continue
        name = re.match(r'^ "([^"]*)"', chunk[0])
        name = name.group(1) if name else "?"
        if name in ("files", "stages"):
            records = {}
            for sub in _members(chunk[1:], 2).values():
                item = _parse_member(sub, 2)
                if item is not None and isinstance(item[1], dict):
                    records[item[0]] = item[1]
            manifest[name] = records
            lost.append(f"{name} (partly: {len(records)} records recovered)")
        else:
            lost.append(name)
    return manifest, lost


def _files_on_disk(path: Path) -> list[str]:
    found = []
    for root in FILE_ROOTS:
        folder = path / root
        if folder.is_dir():
            found += [p.relative_to(path).as_posix() for p in folder.rglob("*") if p.is_file()]
    # checkpoint folders also hold an unregistered state.json: only their tensor files are recorded
    return sorted(
        f
        for f in found
        if not Path(f).name.startswith(".")
        and (not f.startswith("checkpoints/") or f.endswith(".safetensors"))
    )


def rebuild_manifest(path: Path) -> RepairReport:
    """Rebuild ``path/manifest.json`` if it is damaged (see the module docstring)."""
    manifest_file = path / MANIFEST
    try:
        text = manifest_file.read_text(encoding="utf-8", errors="replace")
        json.loads(text)
        intact, reason = True, ""
    except FileNotFoundError:
        text, intact, reason = "", False, "missing"
    except json.JSONDecodeError as err:
        intact, reason = False, f"not valid JSON: {err.msg} at line {err.lineno}"
    if intact:
        from prune_core.store.verify import check_run

        return RepairReport(path, True, problems=check_run(Run(path), checksum=True).problems)

    from filelock import FileLock, Timeout

    lock = FileLock(str(path / "run.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout as err:
        raise StoreError(
            f"run {path.name} is busy (another process holds its lock); repair it later"
        ) from err
    try:
        return _rebuild(path, text, reason)
    finally:
        lock.release()


def _rebuild(path: Path, text: str, reason: str) -> RepairReport:
    from prune_core.store.runs import FORMAT_VERSION

    salvaged, lost = salvage(text)
    report = RepairReport(path, False, reason, lost_sections=lost)
    records = salvaged.get("files") if isinstance(salvaged.get("files"), dict) else {}
    by_path = {info.get("path"): (key, info) for key, info in records.items() if isinstance(info, dict)}
    files, dropped_stages = {}, set()
    for rel in _files_on_disk(path):
        key, info = by_path.get(rel, (None, None))
        if info is None or not info.get("sha256"):
            report.left_out[rel] = "no surviving record (its checksum is lost)"
            dropped_stages.add(stage_of_path(rel))
            continue
        if file_sha256(path / rel) != info["sha256"]:
            report.left_out[rel] = "sha256 differs from the surviving record (altered)"
            dropped_stages.add(info.get("stage"))
            continue
        files[key] = info
        report.verified.append(rel)
    # A file recorded but not on disk is dropped too: its stage must recompute it.
    for key, info in records.items():
        if isinstance(info, dict) and key not in files and info.get("path") not in report.left_out:
            if not (path / str(info.get("path"))).exists():
                report.left_out[str(info.get("path"))] = "recorded but missing on disk"
                dropped_stages.add(info.get("stage"))
    stages = salvaged.get("stages") if isinstance(salvaged.get("stages"), dict) else {}
    kept_stages = {s for s in (i.get("stage") for i in files.values()) if s}
    if "stages" in [s.split(" ")[0] for s in lost] or not stages:
        # stage records lost: a stage whose files all verified counts as done, but without its settings
        # hash, so the command that made it recomputes it (settings cannot be checked any more)
        for stage in kept_stages - set(stages):
            stages[stage] = {"status": "done", "params": {}, "params_hash": None, "restored": now()}
    for stage in dropped_stages:
        if stage:
            stages.pop(stage, None)
            files = {k: v for k, v in files.items() if v.get("stage") != stage}
    rebuilt = {
        **salvaged,
        "format_version": salvaged.get("format_version", FORMAT_VERSION),
        "run_id": salvaged.get("run_id", path.name),
        "created": salvaged.get("created", now()),
        "files": files,
        "stages": stages,
        "repaired": {"at": now(), "reason": reason, "left_out": sorted(report.left_out)},
    }
    if (path / MANIFEST).exists():
        report.backup = path / f"{MANIFEST}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        shutil.copy2(path / MANIFEST, report.backup)
    atomic_write(path / MANIFEST, lambda tmp: tmp.write_text(json.dumps(rebuilt, indent=1, sort_keys=True)))
    run = Run(path)
    order = ("data", "train", "represent:", "select:", "map:", "evaluate:")  # what needs what
    stages_to_redo = sorted(
        (stage for stage in dropped_stages if stage),
        key=lambda stage: (next((i for i, p in enumerate(order) if stage.startswith(p)), 9), stage),
    )
    report.commands = list(dict.fromkeys(stage_command(run, stage) for stage in stages_to_redo))
    return report
