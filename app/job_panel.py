"""The "New run" form and the progress view of background jobs (the Runs page's two halves).

Submitting the form starts ``prune_core.jobs.start_job`` (compute -> select -> maps in a detached
process) and records the job id in the session and the URL; the progress view re-reads the job record
once a second inside a fragment, so only the bars refresh, and a reload finds the job again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from app import state
from app.plain import alert, md
from prune_core.jobs import Job, JobRequest, JobStatus, cancel_job, job_status, start_job
from prune_core.store import RunStore

UPLOADS = ".uploads"
STATUS_ICON = {
    "starting": ":material/hourglass_empty:",
    "running": ":material/sync:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
}


def save_upload(root: Path, name: str, data: bytes) -> Path:
    """Keep an uploaded dataset file under ``<runs_dir>/.uploads/<sha256 prefix>-<name>`` for compute to read."""
    folder = root / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name) or "data.csv"
    path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe}"
    if not path.exists():
        path.write_bytes(data)
    return path


def new_run_form(store: RunStore, *, expanded: bool) -> None:
    """Dataset (path, upload or hub id), model, epochs and limits -> a background job."""
    with st.expander("New run", expanded=expanded, icon=":material/add_circle:"):
        source = st.radio(
            "Dataset",
            ["Path on this machine", "Upload a file", "Hugging Face hub id"],
            horizontal=True,
            key="new_run_source",
        )
        with st.form("new_run"):
            path_text = upload = hub_id = None
            if source == "Path on this machine":
                path_text = st.text_input(
                    "Dataset path",
                    placeholder="/data/sst2  (a folder with train.csv, or a file)",
                    help="A .csv / .tsv / .jsonl / .parquet file with text and label columns, "
                    "or a folder with train / validation / test files.",
                )
            elif source == "Upload a file":
                upload = st.file_uploader("Training file", type=["csv", "tsv", "jsonl", "parquet"])
            else:
                hub_id = st.text_input(
                    "Dataset id",
                    placeholder="stanfordnlp/sst2  or  glue:sst2",
                    help="Downloaded with the `datasets` library (needs internet).",
                )
            left, middle, right = st.columns(3)
            model = left.text_input(
                "Model", value="minilm", help="`minilm` (the packaged MiniLM-L6), a local folder or a hub id."
            )
            epochs = middle.number_input("Epochs", min_value=1, max_value=50, value=3)
            limit = right.number_input("Training examples (0 = all)", min_value=0, value=2000, step=500)
            limit_validation = left.number_input(
                "Validation examples (0 = all)", min_value=0, value=500, step=100
            )
            with_umap = middle.checkbox("UMAP maps too (slower than PCA)", value=True)
            submitted = st.form_submit_button("Start", type="primary", icon=":material/play_arrow:")
        if submitted:
            data = _dataset_argument(store, path_text, upload, hub_id)
            if data:
                request = JobRequest(
                    data=data,
                    model=model.strip() or "minilm",
                    epochs=int(epochs),
                    limit=int(limit) or None,
                    limit_validation=int(limit_validation) or None,
                    maps=("pca", "umap") if with_umap else ("pca",),
                )
                job = start_job(request, store.root)
                state.follow_job(job.id)
                st.rerun()


def _dataset_argument(store: RunStore, path_text, upload, hub_id) -> str | None:
    if path_text is not None:
        path = Path(path_text.strip()).expanduser()
        if not path_text.strip() or not path.exists():
            st.error(f"No dataset at {str(path) or '(empty path)'!r}: enter an existing file or folder.")
            return None
        return str(path.resolve())
    if upload is not None:
        return str(save_upload(store.root, upload.name, upload.getvalue()))
    if hub_id and hub_id.strip():
        return f"hf:{hub_id.strip()}"
    st.error("Choose a dataset first: a path, an uploaded file or a hub id.")
    return None


def job_progress(job: Job) -> None:
    """The job's stages as progress bars; refreshes itself every second while the job runs."""
    status = job_status(job)
    refresh = 1.0 if status.active else None

    @st.fragment(run_every=refresh)
    def body() -> None:
        current = job_status(job)
        _draw(job, current)
        if status.active and not current.active:
            st.rerun(scope="app")  # the new run appears in the picker; the bars stop refreshing

    body()


def _draw(job: Job, status: JobStatus) -> None:
    request = status.request
    with st.container(border=True):
        st.markdown(
            f"{STATUS_ICON.get(status.status, '')} **Job {md(status.id)}** — {md(status.status)}  \n"
            f"{md(request.get('data'))} · model {md(request.get('model'))} · {md(request.get('epochs'))} epochs"
            + (f" · run {md(status.run_id)}" if status.run_id else "")
        )
        for stage in status.stages:
            text = f"{stage.name}: {stage.status}" + (f" — {md(stage.detail)}" if stage.detail else "")
            st.progress(min(max(stage.fraction, 0.0), 1.0), text=text)
        if status.error:
            alert("error", "The job stopped with this error:", status.error)
        with st.expander("Log", expanded=status.status == "failed"):
            st.code("\n".join(status.log_tail) or "(empty)", language=None)
        left, right = st.columns(2)
        if status.active:
            left.button(
                "Cancel", key=f"cancel-{job.id}", on_click=cancel_job, args=(job,), icon=":material/stop:"
            )
        elif status.run_id:
            left.button(
                "Open this run",
                key=f"open-{job.id}",
                on_click=state.open_run,
                args=(status.run_id,),
                type="primary",
                icon=":material/open_in_new:",
            )
        right.button("Hide", key=f"hide-{job.id}", on_click=state.follow_job, args=(None,))
