"""The driver process (``python -m prune_core.jobs <job dir>``): run each step, record what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from prune_core.jobs.records import Job, child_env
from prune_core.jobs.status import log_tail
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore


def _find_run_of(runs_dir: str, pid: int) -> str | None:
    """The run whose lock the process ``pid`` holds (compute writes ``run.lock.owner`` before any stage)."""
    for run in RunStore(runs_dir).runs():
        try:
            owner = (run.path / "run.lock.owner").read_text()
        except OSError:
            continue
        if f" pid {pid} " in f"{owner} ":
            return str(run.path)
    return None


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_job(job_dir: str | Path) -> int:
    """The driver: run each step, record pids, exit statuses and the run being written."""
    job = Job(Path(job_dir))
    record = job.record()
    record.update(status="running", driver_pid=os.getpid())
    job.save(record)

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        stopped_by = None
        for step in record["steps"]:
            if not _run_step(job, record, step):
                stopped_by = step["name"]
                break
        for step in record["steps"]:  # what a failed compute left undone never ran: say so
            if step["status"] == "pending":
                step.update(status="skipped", note=f"not run: {stopped_by or 'compute'} failed")
        failed = [s for s in record["steps"] if s["status"] == "failed"]
        record["status"] = "failed" if failed else "done"
        if failed and not record.get("error"):
            record["error"] = f"step {failed[0]['name']} failed: {failed[0]['note']}"
    except SystemExit:
        record["status"], record["error"] = "cancelled", "cancelled by the user"
        for step in record["steps"]:
            if step["status"] == "running":
                step.update(status="cancelled", finished=time.time())
    job.save(record)
    return 0 if record["status"] == "done" else 1


def _step_argv(record: dict, step: dict) -> list[str] | None:
    """The step's command with its run placeholders filled in; None when a run it needs was not written
    (``{run}``: the job's run; ``{run@seed-1}``: the run of the extra seed's compute)."""
    runs = {"{run}": record.get("run_path")}
    runs.update({f"{{run@{name}}}": seed["path"] for name, seed in record.get("seed_runs", {}).items()})
    argv = []
    for arg in step["argv"]:
        if arg.startswith("{run"):
            if not runs.get(arg):
                return None
            arg = runs[arg]
        argv.append(arg)
    return argv


def _is_compute(step: dict) -> bool:
    return step["name"] == "compute" or step["name"].endswith(":compute")


def _run_of_step(record: dict, step: dict) -> str | None:
    """The run a compute step writes, once known."""
    if step["name"] == "compute":
        return record.get("run_path")
    return record.get("seed_runs", {}).get(step["name"].split(":", 1)[0], {}).get("path")


def _record_run(record: dict, step: dict, path: str) -> None:
    """Remember the run a compute step writes: the job's run, or (kept apart, so the job's pages keep
    showing its own run) an extra seed's run under ``seed_runs``."""
    if step["name"] == "compute":
        record.update(run_path=path, run_id=Path(path).name)
    else:
        seed = step["name"].split(":", 1)[0]
        record.setdefault("seed_runs", {})[seed] = {"path": path, "id": Path(path).name}


def _run_step(job: Job, record: dict, step: dict) -> bool:
    """Run one step; False stops the job (a compute failed: nothing after it can work)."""
    argv = _step_argv(record, step)
    if argv is None:
        step.update(status="skipped", note="no run to work on")
        return False
    stdout_path = job.path / f"{step['name'].replace(':', '-')}.stdout"
    with open(job.log_path, "ab") as log, open(stdout_path, "wb") as out:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        child = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=log, env=child_env()
        )
        step.update(status="running", pid=child.pid, started=time.time())
        job.save(record)
        try:
            while child.poll() is None:
                if _is_compute(step) and not _run_of_step(record, step):
                    found = _find_run_of(record["runs_dir"], child.pid)
                    if found:
                        _record_run(record, step, found)
                        job.save(record)
                time.sleep(0.3)
        except SystemExit:
            child.terminate()
            child.wait(timeout=30)
            raise
    step.update(rc=child.returncode, finished=time.time())
    if _is_compute(step):
        if child.returncode == 0:
            _record_run(record, step, _last_line(stdout_path))
            step["status"] = "done"
        else:
            tail = log_tail(job.log_path, 1)
            step.update(status="failed", note=tail[-1] if tail else f"exit status {child.returncode}")
            record["error"] = f"{step['name']} failed: {step['note']}"
        job.save(record)
        return step["status"] == "done"
    if child.returncode == 0:
        step["status"] = "done"
    elif step["name"].endswith("select") and child.returncode == 1:  # some methods failed, others stored
        step.update(status="done", note="done; some methods failed (see the log)")
    else:
        tail = log_tail(job.log_path, 1)
        step.update(status="failed", note=tail[-1] if tail else f"exit status {child.returncode}")
    job.save(record)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python -m prune_core.jobs <job folder>  (started by prune_core.jobs.start_job)",
            file=sys.stderr,
        )
        return 2
    return run_job(args[0])
