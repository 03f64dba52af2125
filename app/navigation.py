"""The dashboard's pages, one line each: adding a page is adding one ``PageSpec`` to ``PAGES``.

Page scripts live in ``app/app_pages/``, not ``app/pages/``: a folder named ``pages`` beside the entry
script switches Streamlit into its older multipage mode, which runs a page opened by URL without the
router (so without the shared run picker and import path).

Each entry names its script (relative to ``app/``), title, icon, sidebar section and what it needs from a
run (keys of ``app.needs.NEEDS``); the run overview uses the needs to tell which pages a half-computed
run can already show. Pure data, so the overview and the tests read it without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageSpec:
    script: str
    title: str
    icon: str
    section: str
    needs: tuple[str, ...] = ()
    default: bool = False
    generation_title: str | None = None  # the sidebar title on generation runs, where it differs

    @property
    def path(self) -> Path:
        return APP_DIR / self.script

    def title_for(self, task: str | None) -> str:
        """The page's sidebar title for a run of ``task`` (None: no run open)."""
        return self.generation_title if task == "generation" and self.generation_title else self.title


PAGES: list[PageSpec] = [
    PageSpec("app_pages/runs.py", "Runs", ":material/home:", "Run", default=True),
    PageSpec("app_pages/overview.py", "Run overview", ":material/dashboard:", "Run", ("examples",)),
    PageSpec(
        "app_pages/correlations.py",
        "Score correlations",
        ":material/grid_on:",
        "Compare methods",
        ("scores",),
    ),
    PageSpec(
        "app_pages/overlap.py",
        "Method overlap",
        ":material/join_inner:",
        "Compare methods",
        ("two_selections",),
    ),
    PageSpec(
        "app_pages/grid.py",
        "Representation or selector?",
        ":material/table_chart:",
        "Compare methods",
        ("two_selections",),
    ),
    PageSpec(
        "app_pages/stability.py",
        "Seed stability",
        ":material/repeat:",
        "Compare methods",
        ("selections",),
    ),
    PageSpec(
        "app_pages/compare_runs.py",
        "Compare two runs",
        ":material/compare_arrows:",
        "Compare methods",
        ("selections",),
    ),
    PageSpec(
        "app_pages/label_balance.py",
        "Label balance",
        ":material/balance:",
        "Compare methods",
        ("selections",),
        generation_title="Source balance",  # generation runs balance over the source column
    ),
    PageSpec(
        "app_pages/embedding_map.py",
        "Embedding map",
        ":material/scatter_plot:",
        "Explore examples",
        ("examples", "maps"),
    ),
    PageSpec(
        "app_pages/data_map.py", "Data map", ":material/bubble_chart:", "Explore examples", ("dynamics",)
    ),
    PageSpec(
        "app_pages/inspector.py",
        "Example inspector",
        ":material/search:",
        "Explore examples",
        ("examples", "selections"),
    ),
    PageSpec(
        "app_pages/evaluation.py",
        "Subset evaluation",
        ":material/model_training:",
        "Compare methods",
        ("examples",),
    ),
    PageSpec("app_pages/gaussian_lab.py", "Gaussian-mixture lab", ":material/science:", "Compare methods"),
    PageSpec("app_pages/export.py", "Export", ":material/download:", "Export", ("selections",)),
]


def sections(pages: list[PageSpec] = PAGES) -> dict[str, list[PageSpec]]:
    """Pages grouped by section, sections in order of first appearance."""
    grouped: dict[str, list[PageSpec]] = {}
    for page in pages:
        grouped.setdefault(page.section, []).append(page)
    return grouped
