"""PruneScope dashboard entry point: ``streamlit run app/Home.py`` (or ``make run``).

The router runs on every rerun: it draws the sidebar's run picker (shared by all pages, restored from
``?run=`` after a reload), a note while background jobs compute, and the page navigation built from
``app.navigation.PAGES`` — one line there per page.
"""

from __future__ import annotations

import streamlit as st

from app import state
from app.navigation import APP_DIR, sections
from app.plain import md
from prune_core.jobs import extra_seed_runs, job_status, list_jobs
from prune_core.store import StoreError

# The tab icon is a file of this package, served by Streamlit itself: a ":material/...:" page icon would
# make every browser fetch its image from a public font host (offline: a failed request on every page).
st.set_page_config(
    page_title="PruneScope", page_icon=str(APP_DIR / "assets" / "prunescope.png"), layout="wide"
)

store = state.store()
with st.sidebar:
    st.markdown("### PruneScope")
    try:
        partners = extra_seed_runs(store.root)
        running = [j for j in list_jobs(store.root)[:10] if job_status(j).active]
    except StoreError:
        partners, running = set(), []
    state.run_picker(store.runs(), partners)
    if running:
        st.info(
            f"{len(running)} background job{'s' if len(running) > 1 else ''} computing; progress on **Runs**.",
            icon=":material/hourglass_top:",
        )
    if state.current_job_id():
        state.follow_job(state.current_job_id())
    st.caption(f"Run store: {md(store.root)}")

try:  # the sidebar's words follow the open run's task ("Source balance" on generation runs)
    task = state.current_run().task if state.current_run() else None
except StoreError:
    task = None
navigation = st.navigation(
    {
        section: [
            st.Page(str(p.path), title=p.title_for(task), icon=p.icon, default=p.default) for p in specs
        ]
        for section, specs in sections().items()
    },
    # Every page in view: collapsed, Streamlit shows ten of the fourteen and hides the rest (the
    # embedding map, data map, inspector and Export) behind "View 4 more".
    expanded=True,
)
navigation.run()
