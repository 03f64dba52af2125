"""The "New run" form and the progress view of background jobs (the Runs page's two halves).

Submitting the form starts ``prune_core.jobs.start_job`` (compute -> select -> maps in a detached
process) and records the job id in the session and the URL; the progress view re-reads the job record
once a second inside a fragment, so only the bars refresh, and a reload finds the job again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from app import state
from app.plain import alert, md
from prune_core.data_readers import DataError, read_table
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


FORM_ERROR = "**{field}**: {message}"


def training_file(path: Path) -> Path:
    """The file whose columns the form shows: the file itself, or a folder's train file."""
    from prune_core.data import _find_split_file

    if path.is_dir():
        found = _find_split_file(path, "train")
        if found is None:
            raise DataError("no train.csv / train.jsonl / train.parquet in this folder", path=path)
        return found
    return path


@st.cache_data(max_entries=8, show_spinner=False)
def preview_rows(path: str, modified: float, rows: int = 5) -> pd.DataFrame:
    """The first rows of a dataset file, every column as read (cached by path and modification time)."""
    return read_table(path).head(rows)


def _column_choice(column, label, columns, preferred, *, optional, key, help):
    options = (["(none)"] if optional else []) + columns
    default = next((c for c in preferred if c in columns), None)
    index = options.index(default) if default in options else 0
    choice = column.selectbox(label, options, index=index, key=key, help=help)
    return None if choice == "(none)" else choice


def new_run_form(store: RunStore, *, expanded: bool) -> None:
    """Dataset (path, upload or hub id) with a preview and a column picker, model, epochs, LoRA and
    limits -> a background job. Every error names the form field it is about."""
    with st.expander("New run", expanded=expanded, icon=":material/add_circle:"):
        source = st.radio(
            "Dataset",
            ["Path on this machine", "Upload a file", "Hugging Face hub id"],
            horizontal=True,
            key="new_run_source",
        )
        data, field, columns = None, "Dataset", []
        if source == "Path on this machine":
            field = "Dataset path"
            path_text = st.text_input(
                field,
                key="new_run_path",
                placeholder="/data/sst2  (a folder with train.csv, or a file)",
                help="A .csv / .tsv / .jsonl / .parquet file with text and label columns, "
                "or a folder with train / validation / test files.",
            )
            if path_text.strip():
                path = Path(path_text.strip()).expanduser()
                if not path.exists():
                    st.error(FORM_ERROR.format(field=field, message=f"no file or folder at `{path}`."))
                else:
                    data = str(path.resolve())
        elif source == "Upload a file":
            field = "Training file"
            upload = st.file_uploader(field, type=["csv", "tsv", "jsonl", "parquet"], key="new_run_upload")
            if upload is not None:
                data = str(save_upload(store.root, upload.name, upload.getvalue()))
        else:
            field = "Dataset id"
            hub_id = st.text_input(
                field,
                key="new_run_hub",
                placeholder="stanfordnlp/sst2  or  glue:sst2",
                help="Downloaded with the `datasets` library (needs internet).",
            )
            if hub_id.strip():
                data = f"hf:{hub_id.strip()}"
        if data and not data.startswith("hf:"):
            try:
                file = training_file(Path(data))
                preview = preview_rows(str(file), file.stat().st_mtime)
            except (DataError, OSError) as err:
                st.error(FORM_ERROR.format(field=field, message=str(err)))
                data = None
            else:
                columns = [str(c) for c in preview.columns]
                st.caption(f"First rows of `{file.name}`: pick which column is which below.")
                st.dataframe(preview, hide_index=True, width="stretch")
        task = st.radio(
            "Task",
            list(TASKS),
            format_func=TASKS.get,
            horizontal=True,
            key="new_run_task",
            help="Generation: instruction or summarisation data, learned by a causal language model on the "
            "response tokens; subsets are balanced over a source column instead of labels.",
        )
        with st.form("new_run"):
            roles: dict[str, str | None] = {}
            if columns:
                pickers = CLASSIFICATION_COLUMNS if task == "classification" else GENERATION_COLUMNS
                for place, (name, preferred, optional, key, help) in zip(
                    st.columns(len(pickers)), pickers, strict=True
                ):
                    roles[name] = _column_choice(
                        place, name, columns, preferred, optional=optional, key=key, help=help
                    )
            elif source == "Hugging Face hub id":
                names = ("Text column", "Label column") if task == "classification" else HUB_GENERATION
                for place, name in zip(st.columns(len(names)), names, strict=True):
                    default = name.split()[0].lower()
                    roles[name] = place.text_input(name, value=default, key=f"new_run_hub_{default}").strip()
            left, middle, right = st.columns(3)
            model = left.text_input(
                "Model",
                value="minilm",
                key="new_run_model",
                help="`minilm` (the packaged MiniLM-L6; a causal decoder for generation), a local folder or "
                "a hub id (a causal LM such as facebook/opt-125m for generation).",
            )
            epochs = middle.number_input("Epochs", min_value=1, max_value=50, value=3, key="new_run_epochs")
            limit = right.number_input(
                "Training examples (0 = all)", min_value=0, value=2000, step=500, key="new_run_limit"
            )
            limit_validation = left.number_input(
                "Validation examples (0 = all)",
                min_value=0,
                value=500,
                step=100,
                key="new_run_limit_validation",
            )
            lora = middle.checkbox(
                "LoRA adapters",
                value=task == "generation",
                key="new_run_lora" if task == "classification" else "new_run_lora_generation",
                help="Train low-rank adapters instead of all weights (peft); the default for generation, "
                "as in LESS.",
            )
            seeds = right.number_input(
                "Training seeds",
                min_value=1,
                max_value=5,
                value=1,
                key="new_run_seeds",
                help="More than one: the run is trained again with seeds 1, 2, ... on the same data "
                "sample, for the Seed stability and Compare two runs pages (each seed costs a compute).",
            )
            with_umap = left.checkbox("UMAP maps too (slower than PCA)", value=True, key="new_run_umap")
            submitted = st.form_submit_button("Start", type="primary", icon=":material/play_arrow:")
        if not submitted:
            return
        problems = form_problems(data, field, model, roles, task)
        for problem in problems:
            st.error(problem)
        if problems:
            return
        request = JobRequest(
            data=data,
            model=model.strip(),
            epochs=int(epochs),
            limit=int(limit) or None,
            limit_validation=int(limit_validation) or None,
            maps=("pca", "umap") if with_umap else ("pca",),
            lora=bool(lora),
            extra_seeds=tuple(range(1, int(seeds))),
            task=task,
            **request_columns(task, roles),
        )
        job = start_job(request, store.root)
        state.follow_job(job.id)
        st.rerun()


# The form's column pickers per task: (field, preferred column names, optional, widget key, help).
TASKS = {"classification": "Classification (text → label)", "generation": "Generation (prompt → response)"}
CLASSIFICATION_COLUMNS = (
    ("Text column", ("text", "sentence", "content"), False, "new_run_text_column", "The text to classify."),
    (
        "Label column",
        ("label", "labels", "category", "class"),
        False,
        "new_run_label_column",
        "The class of each example.",
    ),
    (
        "Id column",
        ("id", "idx", "uid"),
        True,
        "new_run_id_column",
        "Stable example ids (none: a hash of the row).",
    ),
    (
        "Second text (pairs)",
        (),
        True,
        "new_run_pair_column",
        "The second sentence of a sentence pair, if any.",
    ),
)
GENERATION_COLUMNS = (
    (
        "Prompt column",
        ("prompt", "instruction", "input", "question", "dialogue"),
        False,
        "new_run_prompt_column",
        "What the model is given; no loss is taken on it.",
    ),
    (
        "Response column",
        ("response", "output", "answer", "summary", "completion"),
        False,
        "new_run_response_column",
        "What the model learns to write (the loss is on these tokens).",
    ),
    (
        "Source column",
        ("source", "category", "task"),
        True,
        "new_run_source_column",
        "Where each example comes from; subsets are balanced over it.",
    ),
    (
        "Id column",
        ("id", "idx", "uid"),
        True,
        "new_run_gen_id_column",
        "Stable example ids (none: a hash of the row).",
    ),
)
HUB_GENERATION = ("Prompt column", "Response column")
# Which JobRequest field each picked column fills.
REQUEST_FIELD = {
    "Text column": "text_column",
    "Label column": "label_column",
    "Id column": "id_column",
    "Second text (pairs)": "text_pair_column",
    "Prompt column": "prompt_column",
    "Response column": "response_column",
    "Source column": "source_column",
}


def request_columns(task: str, roles: dict[str, str | None]) -> dict[str, str | None]:
    """The JobRequest column fields of the picked roles (unpicked ones keep compute's defaults)."""
    return {REQUEST_FIELD[name]: column for name, column in roles.items() if column}


def form_problems(
    data, field, model, roles: dict[str, str | None], task: str = "classification"
) -> list[str]:
    """What stops the form, each message naming its field."""
    problems = []
    if not data:
        problems.append(FORM_ERROR.format(field=field, message="choose a dataset first."))
    if not str(model or "").strip():
        problems.append(
            FORM_ERROR.format(field="Model", message="name a model (`minilm` is the packaged one).")
        )
    required = ("Text column", "Label column") if task == "classification" else HUB_GENERATION
    for name in required:
        if name in roles and not roles[name]:
            problems.append(FORM_ERROR.format(field=name, message="name a column."))
    seen: dict[str, str] = {}
    for name, column in roles.items():
        if not column:
            continue
        if column in seen:
            problems.append(
                FORM_ERROR.format(
                    field=name, message=f"`{column}` is already the {seen[column]}; pick another."
                )
            )
        seen.setdefault(column, name.lower())
    return problems


def demo_ready_note(jobs: list[Job], runs: list) -> None:
    """When the demo job has finished: what to look at first (until the user hides it)."""
    if st.session_state.get("demo_note_hidden"):
        return
    demo = next((j for j in jobs if j.record().get("request", {}).get("label") == "demo"), None)
    if demo is None:
        return
    status = job_status(demo)
    steps = demo.record().get("steps", [])
    own = [s for s in steps if not s["name"].startswith("seed-")]
    seeds = [s for s in steps if s["name"].startswith("seed-")]
    # Ready once the run's own steps are done; the extra seed (for Seed stability) may still train.
    if not own or any(s["status"] != "done" for s in own) or status.run_id not in {r.id for r in runs}:
        return
    seeds_done = all(s["status"] == "done" for s in seeds)
    with st.container(border=True):
        st.success(
            f"**Demo ready** — run `{status.run_id}` is computed, selected, mapped and evaluated. "
            + (
                ""
                if seeds_done
                else "A second training seed is still computing in the background for Seed stability. "
            )
            + "What to look at first:",
            icon=":material/celebration:",
        )
        for page, label, icon in (
            ("overview", "Run overview: how well the reference model learned", "dashboard"),
            ("correlations", "Score correlations: which methods rank examples alike", "grid_on"),
            ("overlap", "Method overlap: how little their subsets share", "join_inner"),
            ("evaluation", "Subset evaluation: which subsets train well", "model_training"),
            ("data_map", "Data map: easy, ambiguous and hard examples", "bubble_chart"),
            ("stability", "Seed stability: which subsets survive a new training seed", "repeat"),
        ):
            st.page_link(f"app_pages/{page}.py", label=label, icon=f":material/{icon}:")
        st.button("Hide this note", key="hide_demo_note", on_click=_hide_demo_note)


def _hide_demo_note() -> None:
    st.session_state["demo_note_hidden"] = True


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
        if status.engine:  # a distributed run: its workers and per-shard progress
            st.caption(md(status.engine))
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
