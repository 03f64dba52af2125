"""Embedding map: where each method's kept examples sit in a representation's 2-D map; select a region
with a box or lasso to read those examples and export exactly them."""

from __future__ import annotations

import shlex

import numpy as np
import streamlit as st

from app import loaders, ui
from app.figures import Colouring, embedding_map, plot_positions, scatter
from app.figures.density import density_map, extent
from app.plain import md
from app.views import (
    budget_text,
    common_budgets,
    group_noun,
    map_choices,
    order_methods,
    rows_in_range,
    rows_in_selection,
    selected_rows,
    selection_export,
    selection_frame,
)
from prune_core.export import FORMATS
from prune_core.methods.inputs import REPRESENTATIONS
from prune_core.results import Results
from prune_core.store import stable_hash

MAP_ORDER = ("hs", "hs-pre", "grad", "grad-sgd", "tl", "dyn")  # hidden states first: the usual "embedding"
COLOUR_MODES = {
    "label": "Label",
    "score": "A method's score",
    "member": "Kept by a method",
    "pair": "Two methods",
}

run = ui.page(
    "Embedding map",
    ("examples", "maps"),
    caption="UMAP (or PCA) coordinates are computed once by `prunescope maps` and cached; this page "
    "only reads them. Drag a box, or pick the lasso in the chart's toolbar, to select examples.",
)
with ui.guard(run):
    train = loaders.train_examples(run)
    methods = loaders.done_methods(run)
choices = map_choices(
    Results(run).map_sources(),
    {name: REPRESENTATIONS[name].title for name in MAP_ORDER if name in REPRESENTATIONS},
)
if not any(source.kind == "cached" for source in choices.values()):
    st.info(
        "No cached map yet: the hidden states are projected with PCA here. For UMAP maps run "
        "the `maps` command below."
    )
    st.code(f"prunescope maps {shlex.quote(run.id)}", language="bash")


@st.fragment
def explorer() -> None:
    top = st.columns([2, 1, 2])
    source = top[0].selectbox("Map", list(choices), key="map_source")
    modes = [m for m in COLOUR_MODES if m == "label" or len(methods) >= (2 if m == "pair" else 1)]
    mode = top[1].radio("Colour by", modes, format_func=COLOUR_MODES.get, key="map_colour")
    chosen = choices[source]
    with ui.guard(run):
        coords = loaders.map_coords(run, chosen)
    if len(coords) != len(train):
        st.error(
            f"The map {md(chosen.key)} has {len(coords):,} points but the run has {len(train):,} training "
            "examples; recompute it with the command below."
        )
        st.code(f"prunescope maps {shlex.quote(run.id)}", language="bash")
        return
    colouring, on_top, extra, described = (
        Colouring.by_label(train["label"].to_numpy(), run.label_names),
        None,
        {},
        "label",
    )
    if mode == "pair":
        ids = order_methods(methods)
        if st.session_state.get("map_pair_b") not in ids:
            st.session_state["map_pair_b"] = ids[1]  # a default B that differs from A
        with top[2]:
            a = ui.method_picker("Method A", ids, methods, key="map_pair_a")
            b = ui.method_picker("Method B", ids, methods, key="map_pair_b")
            balanced = st.toggle(f"{group_noun(run).capitalize()}-balanced subsets", key="map_pair_balanced")
        budget = ui.budget_picker(
            common_budgets(loaders.budgets(run, m, balanced) for m in (a, b)), key="map_pair_budget"
        )
        with ui.guard(run):
            kept_a = loaders.membership(run, a, budget, balanced)
            kept_b = loaders.membership(run, b, budget, balanced)
        described = f"{a} and {b} at {budget_text(budget)}" + (
            f" ({group_noun(run)}-balanced)" if balanced else ""
        )
        colouring, on_top, extra = (
            Colouring.by_pair(kept_a, kept_b, a, b),
            kept_a | kept_b,
            {f"kept by {a}": kept_a, f"kept by {b}": kept_b},
        )
    elif mode != "label":
        ids = order_methods(
            methods, [m for m, info in methods.items() if mode == "member" or info.get("kind") == "score"]
        )
        if not ids:
            st.info("No score-based method is cached for this run.")
            return
        with top[2]:
            method = ui.method_picker("Method", ids, methods, key=f"map_method_{mode}")
        with ui.guard(run):
            if mode == "score":
                values = loaders.scores(run)[method].to_numpy(np.float64)
                colouring, extra, described = (
                    Colouring.by_value(values, f"{method} score"),
                    {"score": values},
                    f"{method} score",
                )
            else:
                balanced = top[2].toggle(
                    f"{group_noun(run).capitalize()}-balanced subset", key="map_balanced"
                )
                budget = ui.budget_picker(loaders.budgets(run, method, balanced), key="map_budget")
                mask = loaders.membership(run, method, budget, balanced)
                subset = f"{method} at {budget_text(budget)}" + (
                    f" ({group_noun(run)}-balanced)" if balanced else ""
                )
                colouring, on_top, extra, described = (
                    Colouring.by_membership(mask, subset),
                    mask,
                    {"kept": mask},
                    subset,
                )
    view_key = f"map_view_{chosen.key}"
    view = st.session_state.get(view_key)  # (x_range, y_range) once zoomed; None: the full extent
    in_view = None if view is None else rows_in_range(coords, *view)
    shown = len(train) if in_view is None else len(in_view)
    density = shown > scatter.MAX_POINTS  # read at run time: tests lower it
    x_range, y_range = extent(coords) if view is None else view
    if density:
        counts = (
            np.bincount(
                colouring.values[in_view] if in_view is not None else colouring.values,
                minlength=len(colouring.categories),
            )
            if colouring.categorical
            else None
        )
        st.caption(
            f"{shown:,} examples in view, drawn as a density (more than {scatter.MAX_POINTS:,} points). Select a "
            "region and zoom to it to see the points; a selection covers every example inside it."
        )
        figure = density_map(coords, colouring, x_range, y_range, title=source, counts=counts)
        positions = None
    else:
        positions = plot_positions(len(train), on_top=on_top, rows=in_view)
        figure = embedding_map(coords, colouring, positions, title=source)
        if view is not None:
            figure.update_xaxes(range=list(x_range), autorange=False)
            figure.update_yaxes(range=list(y_range), autorange=False)
    # A new drawing order gets a fresh selection state: point indices only mean rows for the figure they came from.
    chart_key = "map_chart_" + stable_hash(
        [chosen.key, None if on_top is None else described, view, density], 8
    )
    event = st.plotly_chart(figure, key=chart_key, on_select="rerun", selection_mode=("box", "lasso"))
    rows = (
        selected_rows(event, positions)
        if positions is not None
        else rows_in_selection(coords, event, in_view)
    )
    zoom = st.columns([1, 1, 3])
    zoom[0].button(
        "Zoom to selection",
        key="map_zoom_in",
        disabled=not len(rows),
        icon=":material/zoom_in:",
        on_click=lambda: st.session_state.update({view_key: extent(coords, rows)}),
    )
    zoom[1].button(
        "Full extent",
        key="map_zoom_out",
        disabled=view is None,
        icon=":material/zoom_out_map:",
        on_click=lambda: st.session_state.pop(view_key, None),
    )
    st.metric("Selected examples", f"{len(rows):,}")
    if not len(rows):
        st.caption("Nothing selected yet.")
        return
    ui.paged_table(
        len(rows),
        lambda page: selection_frame(train, rows[page], run.label_names, extra),
        hide_index=True,
        width="stretch",
        key="map_selection_table",
        height=min(420, 35 * min(len(rows), ui.PAGE_ROWS) + 40),
    )
    selection = event["selection"]
    export = selection_export(
        train,
        rows,
        run.label_names,
        run_id=run.id,
        fingerprint=Results(run).fingerprint,
        dataset_spec=Results(run).config.get("dataset"),
        source={
            "map": chosen.key,
            "representation": chosen.representation or chosen.key,
            "coloured_by": described,
            "box": selection.get("box") or [],
            "lasso": selection.get("lasso") or [],
        },
    )
    fmt = st.selectbox("Export format", FORMATS, index=FORMATS.index("txt"), key="map_export_format")
    ui.export_downloads(export, fmt, f"{run.id}-map-selection-{len(rows)}", key="map_export")


explorer()
