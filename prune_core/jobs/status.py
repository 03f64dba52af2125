"""A job's state now: liveness of its driver, the run's progress and stages, one bar per stage."""

from __future__ import annotations

import os
from pathlib import Path

from prune_core.jobs.records import ACTIVE, LOG_TAIL_LINES, Job, JobStatus, StageView
from prune_core.store import RunStore, StoreError


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (reaping it first if it is our own exited child, so no zombie lingers)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last lines of a log, each progress-bar line reduced to its latest update (text after ``\\r``)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 32_000))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    cleaned = [line.rstrip("\r").rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    return [line for line in cleaned if line][-lines:]


def compute_stage_names(epochs: int) -> list[str]:
    """The stages ``compute`` runs, in order (as prune_core.pipeline names them)."""
    return ["data", "train", "represent:pretrained"] + [f"represent:epoch-{e}" for e in range(1, epochs + 1)]


def _expected_methods() -> int | None:
    try:
        from prune_core.methods.registry import PRESETS
    except ImportError:  # the registry is optional for following a job; the bar then counts what it sees
        return None
    return len(PRESETS)


def stage_views(
    record: dict,
    stages: dict,
    progress: dict | None,
    expected_methods: int | None = None,
    seed_progress: dict[str, dict | None] | None = None,
) -> list[StageView]:
    """One progress bar per stage from the job record, the manifest's stages and ``progress.json``.

    Pure (dicts in, views out), so the rules are testable: a stage finished in the manifest is full;
    the running stage takes ``done / total`` from ``progress.json`` (whose stage name starts with the
    manifest's name, e.g. ``represent:epoch-1 gradients``); ``select`` and ``maps`` count finished
    method / representation stages; an extra seed's steps read that seed's run's progress
    (``seed_progress``, by ``seed-<n>``); a step that exited is full (done) or marked failed.
    """
    steps = {s["name"]: s for s in record.get("steps", [])}
    views = []
    compute_step = steps.get("compute", {})
    for name in compute_stage_names(int(record.get("request", {}).get("epochs", 1))):
        views.append(_manifest_stage_view(name, stages.get(name, {}), progress, compute_step))
    if compute_step.get("status") in ("failed", "cancelled"):
        views = _after_a_failed_compute(views, compute_step)
    select_step = steps.get("select")
    if select_step:
        found = [k for k in stages if k.startswith("select:") and k != "select:summary"]
        finished = [k for k in found if stages[k].get("status") in ("done", "failed")]
        total = max(expected_methods or 0, len(found), 1)
        views.append(_counted_view("select", select_step, len(finished), total, "methods"))
    evaluate_step = steps.get("evaluate:fast")
    if evaluate_step:
        views.append(_evaluate_view(evaluate_step, stages.get("evaluate:fast", {}), progress))
    for name, step in steps.items():
        if name.startswith("maps:"):
            method = name.split(":", 1)[1]
            found = [k for k in stages if k.startswith("map:") and k.endswith(f":{method}")]
            finished = [k for k in found if stages[k].get("status") in ("done", "failed")]
            views.append(_counted_view(name, step, len(finished), max(len(found), 1), "representations"))
    for name, step in steps.items():
        if name.startswith("seed-"):
            seed = name.split(":", 1)[0]
            views.append(_seed_view(name, step, (seed_progress or {}).get(seed), record))
    return views


def _seed_view(name: str, step: dict, progress: dict | None, record: dict) -> StageView:
    """An extra training seed's compute or select (``seed-1:compute``): its own run's progress."""
    seed, verb = name.split(":", 1)
    number = seed.removeprefix("seed-")
    status = step.get("status", "pending")
    if status == "running" and verb == "compute":
        if progress and progress.get("total"):
            total = max(int(progress["total"]), 1)
            done = min(int(progress.get("done") or 0), total)
            detail = progress_detail("", progress, done, total)
            return StageView(name, "running", done / total, f"training seed {number} · {detail}")
        return StageView(name, "running", 0.0, f"training seed {number}: starting")
    if status == "running":
        return StageView(name, "running", 0.0, f"selecting on seed {number}'s run")
    if status == "done":
        run_id = record.get("seed_runs", {}).get(seed, {}).get("id")
        note = step.get("note") or (f"run {run_id}" if verb == "compute" and run_id else "done")
        return StageView(name, "done", 1.0, note)
    return _counted_view(name, step, 0, 1, "")


def _after_a_failed_compute(views: list[StageView], step: dict) -> list[StageView]:
    """A compute that stopped before its stages said so (bad data fails before the run exists): the
    first unfinished stage is the one that failed, with the step's last log line as the reason, and
    the ones after it never started (instead of every stage reading "pending")."""
    if any(v.status == "failed" for v in views):
        failed_seen = False
    else:
        failed_seen = None
    out = []
    for view in views:
        if view.status in ("done", "cached"):
            out.append(view)
        elif failed_seen is None:
            why = "cancelled" if step.get("status") == "cancelled" else step.get("note") or "failed"
            out.append(StageView(view.name, "failed", view.fraction, why))
            failed_seen = True
        elif view.status == "failed":
            out.append(view)
            failed_seen = True
        else:
            out.append(StageView(view.name, "not started", 0.0, ""))
    return out


def _manifest_stage_view(name: str, record: dict, progress: dict | None, step: dict) -> StageView:
    status = record.get("status", "missing")
    if status == "done":
        return StageView(name, "done", 1.0, f"{record.get('seconds', 0):.1f} s")
    if status == "failed":
        return StageView(name, "failed", 0.0, str(record.get("error", "")))
    if status == "running" and progress and str(progress.get("stage", "")).startswith(name):
        total = max(int(progress.get("total") or 0), 1)
        done = min(int(progress.get("done") or 0), total)
        return StageView(name, "running", done / total, progress_detail(name, progress, done, total))
    if status == "running":
        return StageView(name, "running", 0.0, "starting")
    if step.get("status") == "done":
        return StageView(name, "cached", 1.0, "already computed")
    return StageView(name, "pending", 0.0, "")


def duration_text(seconds: float) -> str:
    """``45 s``, ``3 min``, ``1 h 05 min``: an ETA at the precision it deserves."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def progress_detail(name: str, progress: dict, done: int, total: int) -> str:
    """The line under a running bar: the part of the stage, epoch and running loss when training,
    examples done, and the time left at the rate so far."""
    part = str(progress.get("stage", ""))[len(name) :].strip()  # "gradients" of "represent:epoch-1 gradients"
    pieces = []
    if progress.get("epoch"):
        pieces.append(f"epoch {progress['epoch']}/{progress.get('epochs', progress['epoch'])}")
    if progress.get("loss") is not None:
        pieces.append(f"loss {float(progress['loss']):.3f}")
    pieces.append(f"{done:,} / {total:,}")
    if progress.get("eta") is not None and done < total:
        pieces.append(f"about {duration_text(progress['eta'])} left")
    return (f"{part}: " if part else "") + " · ".join(pieces)


def _evaluate_view(step: dict, stage: dict, progress: dict | None) -> StageView:
    """The fast evaluation at a job's end: jobs done from ``progress.json`` while it runs."""
    status = step.get("status", "pending")
    if status == "running" and progress and str(progress.get("stage", "")) == "evaluate:fast":
        total = max(int(progress.get("total") or 0), 1)
        done = min(int(progress.get("done") or 0), total)
        return StageView(
            "evaluate:fast", "running", done / total, progress_detail("evaluate:fast", progress, done, total)
        )
    if status == "done":
        took = stage.get("seconds")
        return StageView("evaluate:fast", "done", 1.0, "" if took is None else f"{took:.1f} s")
    return _counted_view("evaluate:fast", step, 0, 1, "")


def _counted_view(name: str, step: dict, finished: int, total: int, unit: str) -> StageView:
    status = step.get("status", "pending")
    if status == "done":
        return StageView(name, "done", 1.0, step.get("note") or f"{finished} {unit}")
    if status in ("failed", "cancelled"):
        return StageView(
            name, "failed", finished / total, step.get("note") or f"exit status {step.get('rc')}"
        )
    if status == "running":
        return StageView(name, "running", min(finished / total, 1.0), f"{finished} / {total} {unit}")
    if status == "skipped":
        return StageView(name, "skipped", 0.0, step.get("note", ""))
    return StageView(name, status, 0.0, "")


def engine_line(progress: dict | None) -> str | None:
    """One line on a distributed pass: engine and workers, shards done, the latest shard and its time
    (from the ``engine`` and ``shards`` that ``prune_core/distributed/engine.py`` writes to progress)."""
    if not progress or not progress.get("engine"):
        return None
    pieces = [str(progress["engine"])]
    shards = progress.get("shards") or {}
    if shards.get("total"):
        pieces.append(f"shards {int(shards.get('done') or 0)} / {int(shards['total'])}")
    recent = (shards.get("recent") or [None])[0]
    if recent:
        pieces.append(
            f"last {recent.get('key')}: {int(recent.get('examples') or 0)} examples in "
            f"{float(recent.get('seconds') or 0):.1f} s on {recent.get('worker')}"
        )
    return " · ".join(pieces)


def job_status(job: Job) -> JobStatus:
    """The job's state now: its record, liveness of its driver, the run's progress, and the log's tail."""
    record = job.record()
    status = record.get("status", "starting")
    error = record.get("error")
    pid = job.driver_pid()
    if status in ACTIVE and pid and not alive(pid):
        if (job.path / "cancelled").exists():  # stopped before its driver could record it
            status, error = "cancelled", "cancelled by the user"
        else:
            status, error = "failed", "the job's process ended without finishing (killed?); see the log below"
    stages, progress = {}, None
    if record.get("run_path"):
        try:
            run = RunStore(record["runs_dir"]).open(record["run_path"])
            stages = {name: record.to_dict() for name, record in run.stages().items()}
            progress = run.read_progress()
        except StoreError as err:
            error = error or str(err)
    seed_progress = {}
    for seed, where in record.get("seed_runs", {}).items():
        try:
            seed_progress[seed] = RunStore(record["runs_dir"]).open(where["path"]).read_progress()
        except StoreError:
            seed_progress[seed] = None
    return JobStatus(
        job.id,
        status,
        record.get("request", {}),
        record.get("run_id"),
        stage_views(
            record,
            stages,
            progress,
            len(record.get("request", {}).get("methods") or ()) or _expected_methods(),
            seed_progress,
        ),
        error,
        log_tail(job.log_path),
        record.get("created", ""),
        engine_line(progress),
    )


# Which job steps produce what a page needs (the ``verb`` of app/needs.py's Need).
STEPS_OF_VERB = {
    "compute": ("compute",),
    "select": ("select",),
    "maps": ("maps:",),
    "evaluate": ("evaluate:",),
    "seeds": ("seed-",),  # the runs of extra training seeds (Seed stability, Compare two runs)
}


def job_producing(runs_dir, run_id: str, verbs) -> tuple[Job, JobStatus, str] | None:
    """The active job that is writing ``run_id`` and has yet to finish a step making one of ``verbs``,
    with its status and that step's name; None when no job will produce it (then the user must)."""
    from prune_core.jobs.control import list_jobs

    prefixes = tuple(p for verb in verbs for p in STEPS_OF_VERB.get(verb, ()))
    for job in list_jobs(runs_dir)[:20]:
        try:
            record = job.record()
        except StoreError:
            continue
        if record.get("run_id") != run_id or record.get("status") not in ACTIVE:
            continue
        status = job_status(job)
        if not status.active:
            continue
        for step in record.get("steps", []):
            if step.get("status") in ("pending", "running") and step["name"].startswith(prefixes):
                return job, status, step["name"]
    return None
