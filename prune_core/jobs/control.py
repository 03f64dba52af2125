"""Start, list, load and cancel jobs; start the demo run when the store is empty."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from prune_core.jobs.records import Job, JobRequest, child_env, jobs_dir
from prune_core.jobs.status import alive, job_status
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore, StoreError, atomic_write_text

# The demo: 3 epochs (the data map reads training dynamics over epochs and warns below 3), a sample
# small enough for a few minutes on 2 CPU cores, and a fast evaluation at the end so every page has
# something to show. At compute's defaults (lr 5e-5, batch 32) the MiniLM's fresh head barely moves in
# 3 short epochs: validation accuracy 0.535 after 3 epochs on 400 SST-2 examples (chance). With lr 2e-4
# and batch 16 it reached 0.690 after its first epoch on 500 (measured on this 2-core machine).
DEMO_LIMIT = 500
DEMO_EPOCHS = 3
DEMO_LR = 2e-4
DEMO_BATCH_SIZE = 16
# A second training seed after the demo's own steps, so Seed stability and Compare two runs have a run to
# compare with (one more compute + select of the same sample; the demo's pages fill before it starts).
DEMO_EXTRA_SEEDS = (1,)

JOB_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


def start_job(
    request: JobRequest, runs_dir: str | Path | None = None, *, python: str = sys.executable
) -> Job:
    """Write the job record and start its driver detached (own session, output to the job's log)."""
    root = RunStore(runs_dir).root
    job_id = time.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()
    job = Job(jobs_dir(root) / job_id)
    job.path.mkdir(parents=True)
    job.save(
        {
            "id": job_id,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "runs_dir": str(root),
            "request": asdict(request),
            "steps": request.steps(python, root),
            "status": "starting",
            "run_id": None,
            "run_path": None,
            "driver_pid": None,
            "error": None,
        }
    )
    with open(job.log_path, "ab") as log:
        driver = subprocess.Popen(
            [python, "-m", "prune_core.jobs", str(job.path)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=child_env(),
        )
    # Beside the record, not in it: the driver owns the record from its first instruction on.
    atomic_write_text(job.path / "driver.pid", str(driver.pid))
    # The driver is our child: without a wait() it would linger as a zombie under `serve` (or the
    # dashboard) once it ends. A daemon thread waits for it; it never outlives this process's need.
    threading.Thread(target=driver.wait, name=f"reap-job-{job_id}", daemon=True).start()
    return job


def list_jobs(runs_dir: str | Path | None = None) -> list[Job]:
    """Every job of this store, newest first."""
    folder = jobs_dir(runs_dir)
    if not folder.exists():
        return []
    return sorted(
        (Job(p) for p in folder.iterdir() if (p / "job.json").is_file()), key=lambda j: j.id, reverse=True
    )


def extra_seed_runs(runs_dir: str | Path | None = None, recent: int = 20) -> set[str]:
    """Ids of the runs that recent jobs wrote for an extra training seed (``JobRequest.extra_seeds``):
    partners for Seed stability, never the run a dashboard should open first."""
    found = set()
    for job in list_jobs(runs_dir)[:recent]:
        try:
            record = job.record()
        except StoreError:
            continue
        found.update(seed["id"] for seed in record.get("seed_runs", {}).values())
    return found


def is_job_id(value: object) -> bool:
    """True for the ids ``start_job`` makes (e.g. 20260101-120000-a1b2c3): a job id from a URL or a
    command line is checked against this before it is joined to the jobs folder, so ``../x`` or an
    absolute path can never name a folder outside it."""
    return isinstance(value, str) and JOB_ID.fullmatch(value) is not None


def load_job(runs_dir: str | Path | None, job_id: str) -> Job:
    known = lambda: ", ".join(j.id for j in list_jobs(runs_dir)[:5]) or "none"  # noqa: E731
    if not is_job_id(job_id):
        raise StoreError(
            f"no job {str(job_id)[:80]!r}: not a job id (expected e.g. 20260101-120000-a1b2c3; "
            f"recent jobs: {known()})"
        )
    job = Job(jobs_dir(runs_dir) / job_id)
    if not job.record_path.is_file():
        raise StoreError(f"no job {job_id!r} under {jobs_dir(runs_dir)} (recent jobs: {known()})")
    return job


def cancel_job(job: Job) -> None:
    """Stop a running job: SIGTERM to the driver's whole session (it and the step it is running)."""
    atomic_write_text(job.path / "cancelled", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    pid = job.driver_pid()
    if pid and alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)


def ensure_demo_run(
    runs_dir: str | Path | None,
    data_dir: str | Path | None,
    *,
    limit: int = DEMO_LIMIT,
    limit_validation: int = 200,
    epochs: int = DEMO_EPOCHS,
    model: str = "minilm",
    maps: tuple[str, ...] = ("pca", "umap"),
    evaluate_fast: bool = True,
    extra_seeds: tuple[int, ...] = DEMO_EXTRA_SEEDS,
    wait: bool = False,
    timeout: float | None = None,
) -> Job | None:
    """Start a demo run on ``data_dir`` when the store holds no run yet; returns its job (else None).

    Called by ``prunescope serve`` before the dashboard opens (``PRUNESCOPE_DEMO_DATA``), so a
    first visit shows a real run, or its progress bars while it computes; ``extra_seeds`` train the same
    sample again afterwards, for the pages that compare seeds and runs. A demo job already running
    is returned rather than started twice. ``wait=True`` blocks until it finishes (``timeout`` seconds).
    """
    if not data_dir:
        return None
    store = RunStore(runs_dir)
    if store.runs():
        return None
    data = Path(data_dir).expanduser().resolve()
    if not data.exists():
        raise FileNotFoundError(
            f"demo data {data} does not exist (set PRUNESCOPE_DEMO_DATA to a dataset folder "
            "with train.csv, or unset it)"
        )
    for job in list_jobs(store.root):
        record = job.record()
        if record.get("request", {}).get("label") == "demo" and job_status(job).active:
            return _wait(job, timeout) if wait else job
    job = start_job(
        JobRequest(
            data=str(data),
            model=model,
            epochs=epochs,
            limit=limit,
            limit_validation=limit_validation,
            maps=maps,
            label="demo",
            lr=DEMO_LR if model == "minilm" else None,
            batch_size=DEMO_BATCH_SIZE if model == "minilm" else None,
            evaluate_fast=evaluate_fast,
            extra_seeds=tuple(extra_seeds),
        ),
        store.root,
    )
    return _wait(job, timeout) if wait else job


def _wait(job: Job, timeout: float | None) -> Job:
    deadline = None if timeout is None else time.monotonic() + timeout
    while job_status(job).active:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job.id} still running after {timeout} s (log: {job.log_path})")
        time.sleep(0.5)
    return job
