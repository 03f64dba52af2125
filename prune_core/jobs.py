"""Background jobs: run ``compute`` -> ``select`` -> ``maps`` in a detached process the app can follow.

Why a separate process: the dashboard must never train on a page rerun, and a browser reload must not
lose a computation that takes minutes. ``start_job`` writes a job record (JSON under
``<runs_dir>/.jobs/<job id>/job.json``) and starts a driver (``python -m prune_core.jobs <job dir>``)
in its own session, so it outlives the Streamlit script run, the browser tab and even the server. The
driver runs each step as an ordinary CLI command (output appended to ``log.txt`` beside the record),
notes which run the ``compute`` step is writing as soon as that run takes its lock, and records every
step's exit status. Anyone can re-read the record later: ``job_status`` combines it with the run's
``progress.json`` and the manifest's stage statuses into one progress bar per stage.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore, StoreError, atomic_write_text

JOBS_FOLDER = ".jobs"
ACTIVE = ("starting", "running")
LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class JobRequest:
    """What a "New run" asks for: a dataset (path or ``hf:<id>``), a model and how much to compute."""

    data: str
    model: str = "minilm"
    epochs: int = 3
    limit: int | None = None
    limit_validation: int | None = None
    maps: tuple[str, ...] = ("pca", "umap")   # PCA first: a quick map while UMAP is still fitting
    methods: tuple[str, ...] = ()             # empty: every preset
    label: str = ""

    def steps(self, python: str, runs_dir: Path) -> list[dict]:
        """The commands the driver runs in order; ``{run}`` is replaced by the run that compute wrote."""
        cli = [python, "-m", "prune_core"]
        compute = cli + ["compute", "--data", self.data, "--model", self.model, "--epochs", str(self.epochs),
                         "--runs-dir", str(runs_dir)]
        if self.limit:
            compute += ["--limit", str(self.limit)]
        if self.limit_validation:
            compute += ["--limit-validation", str(self.limit_validation)]
        select = cli + ["select", "{run}", "--runs-dir", str(runs_dir)]
        if self.methods:
            select += ["--methods", ",".join(self.methods)]
        steps = [("compute", compute), ("select", select)]
        steps += [(f"maps:{m}", cli + ["maps", "{run}", "--runs-dir", str(runs_dir), "--method", m])
                  for m in self.maps]
        return [{"name": name, "argv": argv, "status": "pending", "rc": None, "pid": None, "started": None,
                 "finished": None, "note": ""} for name, argv in steps]


@dataclass
class StageView:
    """One progress bar: a stage of the job, how far it got and a short line of detail."""

    name: str
    status: str           # pending | running | done | failed | cached
    fraction: float
    detail: str = ""


@dataclass
class JobStatus:
    id: str
    status: str           # starting | running | done | failed | cancelled
    request: dict
    run_id: str | None
    stages: list[StageView] = field(default_factory=list)
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    created: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Job:
    """A handle on a job folder; everything else is re-read from disk (so it survives reloads)."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def record_path(self) -> Path:
        return self.path / "job.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.txt"

    def driver_pid(self) -> int | None:
        """The driver's process id (also its session and process group), as soon as it was started."""
        try:
            return int((self.path / "driver.pid").read_text())
        except (FileNotFoundError, ValueError):
            return self.record().get("driver_pid")

    def record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text())
        except FileNotFoundError as err:
            raise StoreError(f"job {self.id}: no record at {self.record_path}") from err
        except json.JSONDecodeError as err:
            raise StoreError(f"job {self.id}: record {self.record_path} is not valid JSON ({err})") from err

    def save(self, record: dict) -> None:
        record["updated"] = time.time()
        atomic_write_text(self.record_path, json.dumps(record, indent=1))


# ---------------------------------------------------------------------------------------------- starting
def jobs_dir(runs_dir: str | Path | None = None) -> Path:
    return RunStore(runs_dir).root / JOBS_FOLDER


def start_job(request: JobRequest, runs_dir: str | Path | None = None, *, python: str = sys.executable) -> Job:
    """Write the job record and start its driver detached (own session, output to the job's log)."""
    root = RunStore(runs_dir).root
    job_id = time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
    job = Job(jobs_dir(root) / job_id)
    job.path.mkdir(parents=True)
    job.save({"id": job_id, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs_dir": str(root),
              "request": asdict(request), "steps": request.steps(python, root), "status": "starting",
              "run_id": None, "run_path": None, "driver_pid": None, "error": None})
    with open(job.log_path, "ab") as log:
        driver = subprocess.Popen([python, "-m", "prune_core.jobs", str(job.path)], cwd=REPO_ROOT,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                  env=_child_env())
    # Beside the record, not in it: the driver owns the record from its first instruction on.
    atomic_write_text(job.path / "driver.pid", str(driver.pid))
    return job


def _child_env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}


def list_jobs(runs_dir: str | Path | None = None) -> list[Job]:
    """Every job of this store, newest first."""
    folder = jobs_dir(runs_dir)
    if not folder.exists():
        return []
    return sorted((Job(p) for p in folder.iterdir() if (p / "job.json").is_file()), key=lambda j: j.id, reverse=True)


def load_job(runs_dir: str | Path | None, job_id: str) -> Job:
    job = Job(jobs_dir(runs_dir) / job_id)
    if not job.record_path.is_file():
        known = ", ".join(j.id for j in list_jobs(runs_dir)[:5]) or "none"
        raise StoreError(f"no job {job_id!r} under {jobs_dir(runs_dir)} (recent jobs: {known})")
    return job


def cancel_job(job: Job) -> None:
    """Stop a running job: SIGTERM to the driver's whole session (it and the step it is running)."""
    atomic_write_text(job.path / "cancelled", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    pid = job.driver_pid()
    if pid and _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)


# ---------------------------------------------------------------------------------------------- status
def _alive(pid: int) -> bool:
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


def stage_views(record: dict, stages: dict, progress: dict | None, expected_methods: int | None = None
                ) -> list[StageView]:
    """One progress bar per stage from the job record, the manifest's stages and ``progress.json``.

    Pure (dicts in, views out), so the rules are testable: a stage finished in the manifest is full;
    the running stage takes ``done / total`` from ``progress.json`` (whose stage name starts with the
    manifest's name, e.g. ``represent:epoch-1 gradients``); ``select`` and ``maps`` count finished
    method / representation stages; a step that exited is full (done) or marked failed.
    """
    steps = {s["name"]: s for s in record.get("steps", [])}
    views = []
    for name in compute_stage_names(int(record.get("request", {}).get("epochs", 1))):
        views.append(_manifest_stage_view(name, stages.get(name, {}), progress, steps.get("compute", {})))
    select_step = steps.get("select")
    if select_step:
        found = [k for k in stages if k.startswith("select:") and k != "select:summary"]
        finished = [k for k in found if stages[k].get("status") in ("done", "failed")]
        total = max(expected_methods or 0, len(found), 1)
        views.append(_counted_view("select", select_step, len(finished), total, "methods"))
    for name, step in steps.items():
        if name.startswith("maps:"):
            method = name.split(":", 1)[1]
            found = [k for k in stages if k.startswith("map:") and k.endswith(f":{method}")]
            finished = [k for k in found if stages[k].get("status") in ("done", "failed")]
            views.append(_counted_view(name, step, len(finished), max(len(found), 1), "representations"))
    return views


def _manifest_stage_view(name: str, record: dict, progress: dict | None, step: dict) -> StageView:
    status = record.get("status", "missing")
    if status == "done":
        return StageView(name, "done", 1.0, f"{record.get('seconds', 0):.1f} s")
    if status == "failed":
        return StageView(name, "failed", 0.0, str(record.get("error", "")))
    if status == "running" and progress and str(progress.get("stage", "")).startswith(name):
        total = max(int(progress.get("total") or 0), 1)
        done = min(int(progress.get("done") or 0), total)
        part = str(progress["stage"])[len(name):].strip()  # e.g. "gradients" of "represent:epoch-1 gradients"
        return StageView(name, "running", done / total, f"{part + ': ' if part else ''}{done:,} / {total:,}")
    if status == "running":
        return StageView(name, "running", 0.0, "starting")
    if step.get("status") == "done":
        return StageView(name, "cached", 1.0, "already computed")
    return StageView(name, "pending", 0.0, "")


def _counted_view(name: str, step: dict, finished: int, total: int, unit: str) -> StageView:
    status = step.get("status", "pending")
    if status == "done":
        return StageView(name, "done", 1.0, step.get("note") or f"{finished} {unit}")
    if status in ("failed", "cancelled"):
        return StageView(name, "failed", finished / total, step.get("note") or f"exit status {step.get('rc')}")
    if status == "running":
        return StageView(name, "running", min(finished / total, 1.0), f"{finished} / {total} {unit}")
    return StageView(name, status, 0.0, "")


def job_status(job: Job) -> JobStatus:
    """The job's state now: its record, liveness of its driver, the run's progress, and the log's tail."""
    record = job.record()
    status = record.get("status", "starting")
    error = record.get("error")
    pid = job.driver_pid()
    if status in ACTIVE and pid and not _alive(pid):
        if (job.path / "cancelled").exists():  # stopped before its driver could record it
            status, error = "cancelled", "cancelled by the user"
        else:
            status, error = "failed", "the job's process ended without finishing (killed?); see the log below"
    stages, progress = {}, None
    if record.get("run_path"):
        try:
            run = RunStore(record["runs_dir"]).open(record["run_path"])
            stages, progress = run.manifest.get("stages", {}), run.read_progress()
        except StoreError as err:
            error = error or str(err)
    return JobStatus(job.id, status, record.get("request", {}), record.get("run_id"),
                     stage_views(record, stages, progress, len(record.get("request", {}).get("methods") or ())
                                 or _expected_methods()), error,
                     log_tail(job.log_path), record.get("created", ""))


# ---------------------------------------------------------------------------------------------- demo
def ensure_demo_run(runs_dir: str | Path | None, data_dir: str | Path | None, *, limit: int = 2000,
                    limit_validation: int = 500, epochs: int = 2, model: str = "minilm",
                    maps: tuple[str, ...] = ("pca", "umap"), wait: bool = False,
                    timeout: float | None = None) -> Job | None:
    """Start a demo run on ``data_dir`` when the store holds no run yet; returns its job (else None).

    Called by ``python -m prune_core serve`` before the dashboard opens (``PRUNESCOPE_DEMO_DATA``), so a
    first visit shows a real run, or its progress bars while it computes. A demo job already running
    is returned rather than started twice. ``wait=True`` blocks until it finishes (``timeout`` seconds).
    """
    if not data_dir:
        return None
    store = RunStore(runs_dir)
    if store.runs():
        return None
    data = Path(data_dir).expanduser().resolve()
    if not data.exists():
        raise FileNotFoundError(f"demo data {data} does not exist (set PRUNESCOPE_DEMO_DATA to a dataset folder "
                                "with train.csv, or unset it)")
    for job in list_jobs(store.root):
        record = job.record()
        if record.get("request", {}).get("label") == "demo" and job_status(job).active:
            return _wait(job, timeout) if wait else job
    job = start_job(JobRequest(data=str(data), model=model, epochs=epochs, limit=limit,
                               limit_validation=limit_validation, maps=maps, label="demo"), store.root)
    return _wait(job, timeout) if wait else job


def _wait(job: Job, timeout: float | None) -> Job:
    deadline = None if timeout is None else time.monotonic() + timeout
    while job_status(job).active:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job.id} still running after {timeout} s (log: {job.log_path})")
        time.sleep(0.5)
    return job


# ---------------------------------------------------------------------------------------------- driver
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
        for step in record["steps"]:
            if not _run_step(job, record, step):
                break
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


def _run_step(job: Job, record: dict, step: dict) -> bool:
    """Run one step; False stops the job (compute failed: nothing after it can work)."""
    if "{run}" in " ".join(step["argv"]) and not record.get("run_path"):
        step.update(status="skipped", note="no run to work on")
        return False
    argv = [record["run_path"] if a == "{run}" else a for a in step["argv"]]
    stdout_path = job.path / f"{step['name'].replace(':', '-')}.stdout"
    with open(job.log_path, "ab") as log, open(stdout_path, "wb") as out:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        child = subprocess.Popen(argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=log,
                                 env=_child_env())
        step.update(status="running", pid=child.pid, started=time.time())
        job.save(record)
        try:
            while child.poll() is None:
                if step["name"] == "compute" and not record.get("run_path"):
                    found = _find_run_of(record["runs_dir"], child.pid)
                    if found:
                        record.update(run_path=found, run_id=Path(found).name)
                        job.save(record)
                time.sleep(0.3)
        except SystemExit:
            child.terminate()
            child.wait(timeout=30)
            raise
    step.update(rc=child.returncode, finished=time.time())
    if step["name"] == "compute":
        if child.returncode == 0:
            path = _last_line(stdout_path)
            record.update(run_path=path, run_id=Path(path).name)
            step["status"] = "done"
        else:
            tail = log_tail(job.log_path, 1)
            step.update(status="failed", note=tail[-1] if tail else f"exit status {child.returncode}")
            record["error"] = f"compute failed: {step['note']}"
        job.save(record)
        return step["status"] == "done"
    if child.returncode == 0:
        step["status"] = "done"
    elif step["name"] == "select" and child.returncode == 1:  # some methods failed, the others are stored
        step.update(status="done", note="done; some methods failed (see the log)")
    else:
        tail = log_tail(job.log_path, 1)
        step.update(status="failed", note=tail[-1] if tail else f"exit status {child.returncode}")
    job.save(record)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m prune_core.jobs <job folder>  (started by prune_core.jobs.start_job)",
              file=sys.stderr)
        return 2
    return run_job(args[0])


if __name__ == "__main__":
    sys.exit(main())
