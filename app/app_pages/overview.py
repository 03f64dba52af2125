"""Run overview: dataset, label counts, model, stages and their timings, cache size, and which pages the
run can already show (with the command for each missing piece)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from app import loaders, ui
from app import needs as page_needs
from app.figures import generation_curve_chart, label_counts_bar, reference_curve_chart, stage_timings_bar
from app.navigation import PAGES
from app.plain import md
from app.views import (
    gradient_capture_text,
    gradient_checkpoints_used,
    group_noun,
    label_counts,
    method_label,
    order_methods,
    stage_summary,
    stage_table,
)
from prune_core.reference import reference_curve
from prune_core.results import Results
from prune_core.store.verify import stage_states

run = ui.page("Run overview", ("examples",))
results = Results(run)
dataset, model = results.dataset, results.model

with ui.guard(run):
    examples = loaders.all_examples(run)
    size = loaders.size_bytes(run)

sizes = dataset.sizes
cols = st.columns(5)
cols[0].metric("Training examples", f"{sizes.get('train', 0):,}")
cols[1].metric("Validation examples", f"{sizes.get('validation', 0):,}")
cols[2].metric(f"{group_noun(run).capitalize()}s", len(run.label_names))
cols[3].metric(
    "Model parameters", f"{model.get('parameters', 0) / 1e6:.1f} M" if model.get("parameters") else "—"
)
cols[4].metric("Cache size", f"{size / 2**20:,.1f} MiB")

left, right = st.columns([3, 2])
with left:
    st.plotly_chart(
        label_counts_bar(label_counts(examples, run.label_names), group_noun(run)), key="label_counts"
    )
with right:
    config = results.config
    capture = gradient_capture_text(results.gradient_capture, results.gradient_epochs)
    methods = loaders.methods(run) if results.has_methods else {}
    st.markdown(
        "**Dataset**  \n" + "  \n".join(f"{md(split)}: {md(path)}" for split, path in dataset.sources.items())
    )
    st.markdown(
        f"**Model** {md(model.get('name') or config.get('model'))} ({md(model.get('class', '?'))}, "
        f"device {md(model.get('device', '?'))})  \n"
        f"**Training** {config.get('train', {}).get('epochs', '?')} epochs, lr {config.get('train', {}).get('lr', '?')}, "
        f"batch {config.get('train', {}).get('batch_size', '?')}"
        + (", LoRA" if config.get("train", {}).get("lora") else ", full fine-tune")
        + "  \n"
        f"**Checkpoints** {md(', '.join(c.id for c in results.checkpoints) or 'none yet')}  \n"
        + (f"**Gradients** {md(capture)}  \n" if capture else "")
        + f"**Created** {md(results.created or '?')}  ·  **run folder** {md(run.path)}"
    )
    used = {
        method_label(m, methods): n
        for m in order_methods(methods, [m for m, info in methods.items() if info.get("status") == "done"])
        for n in [gradient_checkpoints_used(m, methods[m], [c.to_dict() for c in results.checkpoints])]
        if n
    }
    if used:
        st.caption(
            "Gradient checkpoints per method: " + ", ".join(f"{md(name)} {n}" for name, n in used.items())
        )

st.subheader("Reference model")
curve = reference_curve(run)
if curve and "perplexity" in curve[-1]:  # generation: response-token loss and perplexity
    last = curve[-1]
    st.caption(
        f"Every score is read off this model: after {last['checkpoint']} its response-token loss on the "
        f"validation split is **{last['loss']:.3f}** (perplexity **{last['perplexity']:.2f}**). A model "
        "whose loss never falls below the pre-trained one's scores examples by noise."
    )
    left, right = st.columns([2, 3])
    left.dataframe(
        pd.DataFrame(curve).rename(columns={"loss": "validation loss", "train_loss": "training loss"}),
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("validation loss", "perplexity", "training loss")
        },
    )
    right.plotly_chart(generation_curve_chart(curve), key="reference_curve")
elif curve:
    last = curve[-1]
    st.caption(
        f"Every score is read off this model: after {last['checkpoint']} it reaches validation accuracy "
        f"**{last['accuracy']:.3f}** and macro-F1 **{last['macro_f1']:.3f}**. A model near chance scores "
        "examples by noise."
    )
    left, right = st.columns([2, 3])
    left.dataframe(
        pd.DataFrame(curve).rename(
            columns={"macro_f1": "macro-F1", "loss": "validation loss", "train_loss": "training loss"}
        ),
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("accuracy", "macro-F1", "validation loss", "training loss")
        },
    )
    right.plotly_chart(reference_curve_chart(curve, len(run.label_names)), key="reference_curve")
else:
    st.info("No validation outputs yet: the curve appears as the compute stages finish.")

st.subheader("Stages")
states = stage_states(run)  # a "running" stage whose process is gone shows as "interrupted"
stages = stage_table(
    {
        name: replace(record, status=states.get(name, record.status))
        for name, record in results.stages().items()
    }
)
if len(stages):
    left, right = st.columns([2, 3])
    left.dataframe(stages, hide_index=True, width="stretch", height=min(400, 36 * len(stages) + 40))
    right.plotly_chart(stage_timings_bar(stage_summary(stages)), key="stage_timings")
else:
    st.info("No stage has run yet.")

st.subheader("What the pages need")
rows = []
for spec in PAGES:
    lacking = page_needs.missing(run, spec.needs)
    rows.append(
        {
            "page": spec.title,
            "needs": ", ".join(page_needs.NEEDS[n].what for n in spec.needs) or "—",
            "ready": not lacking,
            "to compute": "; ".join(dict.fromkeys(page_needs.command_for(n, run) for n in lacking)),
        }
    )
ui.table(
    pd.DataFrame(rows),
    key="overview_stages",
    hide_index=True,
    width="stretch",
    column_config={"ready": st.column_config.CheckboxColumn("ready")},
)

with ui.guard(run):
    methods = loaders.methods(run)
if methods:
    st.subheader("Methods")
    table = pd.DataFrame(
        [
            {
                "method": m,
                "title": methods[m].get("title"),
                "objective": methods[m].get("objective"),
                "family": methods[m].get("family"),
                "representation": methods[m].get("representation"),
                "kind": methods[m].get("kind"),
                "status": methods[m].get("status"),
                "seconds": methods[m].get("seconds"),
                "error": methods[m].get("error") or "",
            }
            for m in order_methods(methods)
        ]
    )
    ui.table(table, key="overview_methods", hide_index=True, width="stretch")
