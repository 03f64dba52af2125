"""Runs: what is in the store, background jobs with their progress, and the New-run form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from app.job_panel import demo_ready_note, job_progress, new_run_form
from app.views import run_state
from prune_core.jobs import job_status, list_jobs, load_job
from prune_core.reference import reference_curve
from prune_core.results import Results
from prune_core.store import StoreError, keys

st.title("PruneScope")
st.caption("Compute every data-pruning method once on your data and model, then see where they disagree.")
store = state.store()
runs = store.runs()

jobs = list_jobs(store.root)
followed = state.current_job_id()
shown = [j for j in jobs[:10] if j.id == followed or job_status(j).active]
if followed and followed not in {j.id for j in shown}:
    try:
        shown.insert(0, load_job(store.root, followed))
    except StoreError:
        state.follow_job(None)
for job in shown:
    job_progress(job)
demo_ready_note(jobs, runs)

if not runs:
    st.info(
        "**No run yet.** A run fine-tunes the model once on your dataset, records every representation, then "
        "scores every pruning method. Start one with the form below, or from a terminal:"
    )
    st.code(
        "prunescope compute --data PATH/TO/DATASET --limit 2000 --epochs 3\n"
        "prunescope select RUN\n"
        "prunescope maps RUN --method pca",
        language="bash",
    )
else:
    rows = []
    for run in runs:
        results = Results(run)
        try:
            stages = results.stages()
        except StoreError as err:
            rows.append({"run": run.id, "dataset": f"unreadable: {err}"})
            continue
        curve = reference_curve(run)
        rows.append(
            {
                "run": run.id,
                "dataset": ", ".join(f"{k} {v:,}" for k, v in results.dataset.sizes.items()),
                "labels": len(results.dataset.label_names),  # a generation run's sources
                "model": results.model.get("name") or results.config.get("model"),
                "state": run_state({k: s.to_dict() for k, s in stages.items()}),
                "validation accuracy": curve[-1].get("accuracy") if curve else None,
                **(
                    {"validation perplexity": curve[-1]["perplexity"]}
                    if curve and "perplexity" in curve[-1]
                    else {}
                ),
                "methods": sum(
                    keys.parse_stage(k).kind == "select"
                    and not keys.parse_stage(k).is_summary
                    and s.status == "done"
                    for k, s in stages.items()
                ),
                "created": results.created,
            }
        )
    st.subheader("Runs in the store")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "validation accuracy": st.column_config.NumberColumn(
                help="The reference model's accuracy on the validation split after its last epoch",
                format="%.3f",
            )
        },
    )
    st.caption("Pick the run to look at in the sidebar; every page shows that run.")

new_run_form(store, expanded=not runs)
