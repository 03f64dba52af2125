"""Export: a method's subset at a budget (or its whole keep order) as the same file and manifest that
``prunescope export`` writes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import loaders, ui
from app.plain import md
from app.views import (
    CAPTURE_TEXT,
    budget_text,
    gradient_checkpoints_used,
    group_noun,
    method_label,
    order_methods,
    tie_note,
)
from prune_core.export import EXTENSIONS, FORMATS, file_manifest
from prune_core.results import Results
from prune_core.select.budget import count_to_fraction, fraction_text

FORMAT_HELP = {
    "txt": "one uid per line",
    "csv": "uid, rank, label, label_name",
    "json": "a list of uids",
    "jsonl": "uid, rank, label, text: ready to train on",
    "parquet": "uid, rank, label, text as a Parquet table",
    "datasets": "a keep(example) filter for Hugging Face datasets",
}

run = ui.page(
    "Export",
    ("selections",),
    caption="Download the uids a method keeps, with a manifest that records the run, method, parameters, "
    "budget and label histogram, so the subset can be traced back and reproduced.",
)
with ui.guard(run):
    methods = loaders.done_methods(run)
ids = order_methods(methods)

left, middle, right = st.columns([2, 1, 1])
with left:
    method = ui.method_picker("Method", ids, methods, key="export_method")
balanced = middle.toggle(f"{group_noun(run).capitalize()}-balanced", key="export_balanced")
ranking = middle.toggle(
    "Whole keep order",
    key="export_ranking",
    help="Every uid in the method's keep order (for curricula), instead of a subset.",
)
fmt = right.selectbox("Format", FORMATS, key="export_format", format_func=lambda f: f"{f}: {FORMAT_HELP[f]}")
by_count = middle.toggle(
    "A number of examples",
    key="export_by_count",
    disabled=ranking,
    help="Keep exactly this many examples (the CLI's --count) instead of a share of the data (--budget).",
)
count = None
if ranking:
    budget = None
elif by_count:
    n = len(loaders.train_examples(run))
    count = int(
        st.number_input("Examples to keep", min_value=1, max_value=n, value=min(100, n), key="export_count")
    )
    budget = count_to_fraction(count, n)
else:
    budget = ui.budget_picker(loaders.budgets(run, method, balanced), key="export_budget")

with ui.guard(run):
    export = loaders.export(run, method, budget, balanced, ranking)
manifest = export.manifest
cols = st.columns([1, 1, 2])
cols[0].metric("Examples", f"{manifest['size']:,} of {manifest['of']:,}")
cols[1].metric(
    "Budget", "whole order" if ranking else f"{count:,} examples" if count else budget_text(budget)
)
cols[2].markdown(
    f"**{group_noun(run).capitalize()}s kept**  \n"
    + "  \n".join(
        f"{md(k)}: {v:,} ({v / max(manifest['size'], 1):.0%})" for k, v in manifest["label_histogram"].items()
    )
)

what = "ranking" if ranking else (f"{count}ex" if count else f"{round(budget * 100, 4):g}pct")
base = f"{run.id}-{method}-{what}" + ("-balanced" if balanced else "")
ui.export_downloads(export, fmt, base, key="export")
flags = ("--ranking" if ranking else f"--count {count}" if count else f"--budget {fraction_text(budget)}") + (
    " --balanced" if balanced else ""
)
st.caption("The same files from a terminal:")
st.code(
    f"prunescope export {run.id} --method {method} {flags} --output {base}{EXTENSIONS[fmt]}",
    language="bash",
)
st.markdown(
    f"**{md(method_label(method, methods))}**: {md(methods[method].get('description', ''))}  \n"
    f"*{md(methods[method].get('citation', ''))}*"
)
used = gradient_checkpoints_used(method, methods[method], [c.to_dict() for c in run.checkpoints])
if used:
    capture = Results(run).gradient_capture
    st.caption(
        f"Gradient features from {used} checkpoint{'s' if used > 1 else ''} of the reference fine-tune, "
        f"{CAPTURE_TEXT.get(capture, 'recomputed at end-of-epoch checkpoints')}."
    )
checked = methods[method].get("validation")
if checked:  # a preset measured against a ground truth (influence: exact leave-one-out retraining)
    st.caption(f"Checked: {checked.get('text', '')}")
score_table = loaders.scores(run)
if budget is not None and not balanced and method in score_table:
    note = tie_note(score_table[method].to_numpy(), manifest["size"])
    if note:
        st.warning(note)
ui.table(pd.DataFrame(export.frame), key="export_preview", page_rows=50, hide_index=True, width="stretch")
with st.expander("Manifest"):
    st.json(file_manifest(export, fmt, f"{base}{EXTENSIONS[fmt]}"))
