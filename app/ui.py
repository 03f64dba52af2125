"""Streamlit pieces every page shares: the page preamble, clear messages for missing or damaged data,
budget and method pickers, and download buttons for an export.

A page starts with ``run = ui.page(title, needs)``: it stops with a message (never a traceback) when no
run is open or the run lacks what the page needs, and names the command that computes it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping

import pandas as pd
import streamlit as st

from app import needs as page_needs
from app import state
from app.plain import alert, md
from app.views import budget_text, default_budget, method_label, page_slice
from prune_core.export import EXTENSIONS, Export, file_manifest, render
from prune_core.jobs import job_producing
from prune_core.results import MissingSelection
from prune_core.store import CorruptFileError, Run, StoreError
from prune_core.store.remedy import stage_command

MIME = {
    "csv": "text/csv",
    "json": "application/json",
    "txt": "text/plain",
    "jsonl": "application/jsonl",
    "parquet": "application/vnd.apache.parquet",
    "datasets": "text/x-python",
}


def page(title, needs: tuple[str, ...] = (), caption="") -> Run:
    """Title the page and return the current run, or stop with a message saying what is missing.

    ``title`` and ``caption`` may be functions of the run (or None), for words that depend on its task."""
    run = state.current_run()
    st.title(title(run) if callable(title) else title)
    caption = caption(run) if callable(caption) else caption
    if caption:
        st.caption(caption)
    if run is None:
        st.info(
            "No run is open. Make one on the **Runs** page (the *New run* form), or from a terminal: "
            "`prunescope compute --data PATH`, then `select RUN` and `maps RUN`."
        )
        st.page_link("app_pages/runs.py", label="Go to Runs", icon=":material/home:")
        st.stop()
    with guard(run):
        lacking = page_needs.missing(run, needs)
    if lacking:
        show_missing(run, lacking)
        st.stop()
    return run


def job_will_produce(run: Run, verbs: list[str]) -> bool:
    """When a background job is about to write what the page needs, say which job and step (not a
    command for the user to run), re-check every few seconds, and reload the page once it is written."""
    found = job_producing(run.path.parent, run.id, verbs)
    if found is None:
        return False
    job, status, step = found
    who = "The demo job" if status.request.get("label") == "demo" else f"Background job `{job.id}`"
    stage = next((v for v in status.stages if v.name == step), None)
    where = f"**{step}**" + (
        f" ({stage.status}{': ' + stage.detail if stage.detail else ''})" if stage else ""
    )
    st.info(
        f"{who} is computing what this page needs: {where}. The page fills in by itself when it is "
        "done; every stage's progress is on **Runs**.",
        icon=":material/hourglass_top:",
    )
    st.page_link("app_pages/runs.py", label="Follow its progress on Runs", icon=":material/home:")

    @st.fragment(run_every=3.0)
    def watch() -> None:
        if job_producing(run.path.parent, run.id, verbs) is None:
            st.rerun(scope="app")

    watch()
    return True


def show_missing(run: Run, lacking: list[page_needs.Need]) -> None:
    """One warning listing what the run lacks, why (stage status) and the command that computes it;
    while a background job will produce it, the job instead."""
    if job_will_produce(run, list(dict.fromkeys(need.verb for need in lacking))):
        return
    lines = [f"Run {md(run.id)} cannot show this page yet. It needs:"]
    for need in lacking:
        note = page_needs.stage_note(need, run)
        lines.append(f"- **{need.what}**" + (f" ({md(note)})" if note else ""))
    st.warning("\n".join(lines))
    commands = list(dict.fromkeys(page_needs.command_for(need, run) for need in lacking))
    st.code("\n".join(commands), language="bash")


@contextlib.contextmanager
def guard(run: Run) -> Iterator[None]:
    """Turn a damaged cache file or a missing selection into a message and stop the page there."""
    try:
        yield
    except CorruptFileError as err:
        alert("error", f"A cached file of run {md(run.id)} is damaged and was not used:", err)
        st.code(page_needs.recompute_command(run, err.stage), language="bash")
        st.stop()
    except MissingSelection as err:
        alert("warning", "This page needs a selection the run does not have:", err)
        st.stop()
    except StoreError as err:
        alert("error", "The run store could not give this page what it needs:", err)
        st.stop()


def without_damaged(run: Run, ids: list[str]) -> list[str]:
    """The methods among ``ids`` whose stored files are intact. The others are named in one warning with
    the command that rewrites each, so one damaged method never blocks a page about all of them."""
    damaged = {}
    for method in ids:
        stage = f"select:{method}"
        if run.problems(run.stage_files(stage)):
            damaged[method] = stage_command(run, stage)
    if damaged:
        names = ", ".join(md(m) for m in damaged)
        st.warning(
            f"Left out because their stored files are damaged: {names}. Every other method is shown; "
            "the commands below rewrite the damaged ones.",
            icon=":material/broken_image:",
        )
        st.code("\n".join(dict.fromkeys(damaged.values())), language="bash")
    return [m for m in ids if m not in damaged]


def budget_picker(
    budgets: list[float],
    *,
    key: str,
    label: str = "Budget (share of training examples kept)",
    preferred: float = 0.3,
) -> float:
    """A slider over the cached budgets only (other budgets would need a computation)."""
    if not budgets:
        st.warning("No budget is cached for every chosen method; run `select` again with `--budgets`.")
        st.stop()
    return st.select_slider(
        label, options=budgets, value=default_budget(budgets, preferred), format_func=budget_text, key=key
    )


def method_picker(
    label: str, ids: list[str], methods: Mapping[str, dict], *, key: str, index: int = 0
) -> str:
    return st.selectbox(
        label, ids, index=min(index, len(ids) - 1), key=key, format_func=lambda m: method_label(m, methods)
    )


def export_downloads(export: Export, fmt: str, base_name: str, *, key: str) -> None:
    """Download buttons for the file and its manifest: the same two files ``prune_core export`` writes."""
    file_name = f"{base_name}{EXTENSIONS[fmt]}"
    manifest = file_manifest(export, fmt, file_name)
    left, right = st.columns(2)
    left.download_button(
        f"Download {file_name} ({len(export.frame):,} uids)",
        data=lambda: render(export, fmt, file_name),
        file_name=file_name,
        mime=MIME.get(fmt, "text/plain"),
        key=f"{key}-file",
        on_click="ignore",
        type="primary",
        icon=":material/download:",
    )
    right.download_button(
        f"Download {file_name}.manifest.json",
        data=json.dumps(manifest, indent=1),
        file_name=f"{file_name}.manifest.json",
        mime="application/json",
        key=f"{key}-manifest",
        on_click="ignore",
        icon=":material/description:",
    )


PAGE_ROWS = 100  # rows of a table sent to the browser at a time


def paged_table(
    n_rows: int,
    build: Callable[[slice], pd.DataFrame],
    *,
    key: str,
    page_rows: int = PAGE_ROWS,
    **dataframe_args,
) -> slice:
    """A table of ``n_rows`` rows of which only the current page is built and sent to the browser.

    ``build(rows)`` makes the frame of the rows in that slice: at a million selected examples the page
    never assembles the other pages. A page picker shows only when there is more than one page.
    Returns the slice shown.
    """
    pages = max(1, -(-n_rows // page_rows))
    page = 1
    if st.session_state.get(f"{key}_page", 1) > pages:  # a smaller table than the page kept from before
        st.session_state[f"{key}_page"] = pages
    if pages > 1:
        left, right = st.columns([1, 3])
        page = left.number_input(
            f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=f"{key}_page"
        )
    rows = page_slice(n_rows, page, page_rows)
    if pages > 1:
        right.caption(f"Rows {rows.start + 1:,}–{rows.stop:,} of {n_rows:,}; one page at a time is sent.")
    st.dataframe(build(rows), key=key, **dataframe_args)
    return rows
