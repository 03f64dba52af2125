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

from prune_core.jobs.control import (
    cancel_job,
    ensure_demo_run,
    extra_seed_runs,
    list_jobs,
    load_job,
    start_job,
)
from prune_core.jobs.driver import run_job
from prune_core.jobs.records import ACTIVE, JOBS_FOLDER, Job, JobRequest, JobStatus, StageView, jobs_dir
from prune_core.jobs.status import compute_stage_names, job_producing, job_status, log_tail, stage_views

__all__ = [
    "ACTIVE",
    "JOBS_FOLDER",
    "Job",
    "JobRequest",
    "JobStatus",
    "StageView",
    "cancel_job",
    "compute_stage_names",
    "ensure_demo_run",
    "extra_seed_runs",
    "job_producing",
    "job_status",
    "jobs_dir",
    "list_jobs",
    "load_job",
    "log_tail",
    "run_job",
    "stage_views",
    "start_job",
]
