"""Which run (and which background job) the user is looking at, shared by every page.

The choice lives in session state (kept while the user moves between pages) and in the URL's query
parameters ``?run=<id>`` / ``?job=<id>`` (kept across a browser reload, which starts a new session).
"""

from __future__ import annotations

import streamlit as st

from prune_core.jobs.control import is_job_id
from prune_core.store import Run, RunStore, StoreError

RUN_PARAM = "run"
JOB_PARAM = "job"
RUN_KEY = "run_picker"
JOB_KEY = "job_id"


def store() -> RunStore:
    """The run store (``$PRUNESCOPE_RUNS_DIR`` or ``data/runs``), resolved on every rerun."""
    return RunStore()


def default_run(ids: list[str], partners: set[str]) -> str:
    """The run to open first: the newest one that is not a partner run (an extra training seed a job
    computed for Seed stability), else the newest."""
    return next((i for i in ids if i not in partners), ids[0])


def run_picker(runs: list[Run], partners: set[str] = frozenset()) -> Run | None:
    """The sidebar's run selector; restores the choice from the URL after a reload and writes it back.
    ``partners``: runs never opened by default (see ``default_run``)."""
    ids = [r.id for r in runs]
    if not ids:
        st.sidebar.caption("No run yet.")
        return None
    if st.session_state.get(RUN_KEY) not in ids:
        wanted = st.query_params.get(RUN_PARAM)
        st.session_state[RUN_KEY] = wanted if wanted in ids else default_run(ids, set(partners))
    chosen = st.sidebar.selectbox("Run", ids, key=RUN_KEY, help="Runs in the store, newest first.")
    st.query_params[RUN_PARAM] = chosen
    return runs[ids.index(chosen)]


def current_run() -> Run | None:
    """The run picked in the sidebar (None when the store is empty or the run disappeared)."""
    run_id = st.session_state.get(RUN_KEY)
    if not run_id:
        return None
    try:
        return store().open(run_id)
    except StoreError:
        return None


def open_run(run_id: str) -> None:
    """Make ``run_id`` the current run (call from a button callback, before the picker is drawn)."""
    st.session_state[RUN_KEY] = run_id


def current_job_id() -> str | None:
    """The followed job; a ``?job=`` value that is not a job id is ignored (never joined to a path)."""
    job_id = st.session_state.get(JOB_KEY) or st.query_params.get(JOB_PARAM)
    return job_id if is_job_id(job_id) else None


def follow_job(job_id: str | None) -> None:
    """Remember the job to follow (also in the URL, so a reload shows its progress again)."""
    st.session_state[JOB_KEY] = job_id
    if job_id:
        st.query_params[JOB_PARAM] = job_id
    elif JOB_PARAM in st.query_params:
        del st.query_params[JOB_PARAM]
