"""Charts stay readable at 30 methods on a 1280 x 800 screen (issue 11 item 10), in a real Chromium.

A synthetic run (prune_core/synthetic.py: no model, seconds) with every preset but the slow group
annealing selected and a fast evaluation: no tick label of a heatmap is clipped, the overlap heatmap
prints a rounded value in every cell, the intersection colours have a legend, the evaluation legend
fits beside its plot and names the full data, the leaderboard axis starts at 0, and no drawn number
carries more than three decimals.
"""

from __future__ import annotations

import re

import pytest

from prune_core.cli import main
from prune_core.methods import PRESETS
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run
from tests.browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    require_browser,
    settle,
    streamlit_server,
)

pytestmark = pytest.mark.browser
require_browser()
playwright_api = pytest.importorskip("playwright.sync_api")

RUN = "thirty-methods"
METHODS = [m for m in PRESETS if m != "group-annealing"]  # its search takes minutes; 30 remain

# Per chart: its drawing's box, every tick label's box and text, the legend's box and entries, every text drawn.
CHART_GEOMETRY = """(index) => {
  const chart = document.querySelectorAll('[data-testid="stPlotlyChart"]')[index];
  const gd = chart.querySelector('.js-plotly-plot');
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const svg = chart.querySelector('.svg-container');  // holds the plot's svg and the legend / title layer
  const legend = svg.querySelector('g.legend');
  const legendLayout = gd._fullLayout.legend || {};
  return {
    svg: box(svg),
    ticks: [...svg.querySelectorAll('g.xtick text, g.ytick text, g.x2tick text')].map(
      t => ({text: t.textContent, ...box(t)})),
    legend: legend ? box(legend) : null,
    legendItems: [...svg.querySelectorAll('g.legend g.traces text.legendtext')].map(t => t.textContent),
    legendClipped: !!legend && (legendLayout._effHeight || 0) + 1 < (legendLayout._height || 0),
    texts: [...svg.querySelectorAll('text')].map(t => t.textContent),
    xrange: gd._fullLayout.xaxis.range,
  };
}"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("thirty-store")
    make_synthetic_run(RunStore(root), RUN, n=240, m=80, num_labels=3, seed=5)
    assert (
        main(["select", RUN, "--runs-dir", str(root), "--methods", ",".join(METHODS), "--budgets", "0.1,0.3"])
        == 0
    )
    assert (
        main(["evaluate", RUN, "--runs-dir", str(root), "--mode", "fast", "--budgets", "0.1,0.3", "--quiet"])
        == 0
    )
    return root


@pytest.fixture(scope="module")
def server(store, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("server-30") / "streamlit.log"
    with streamlit_server(
        REPO_ROOT / "app" / "Home.py", log_path, {"PRUNESCOPE_RUNS_DIR": str(store)}
    ) as url:
        yield url


@pytest.fixture(scope="module")
def page():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        yield context.new_page()
        chromium.close()


def chart(page, index: int) -> dict:
    return page.evaluate(CHART_GEOMETRY, index)


def assert_inside(geo: dict, what: str) -> None:
    """Every tick label lies within its chart's drawing (a clipped label sticks out of it)."""
    svg = geo["svg"]
    outside = [
        t["text"]
        for t in geo["ticks"]
        if t["left"] < svg["left"] - 1
        or t["right"] > svg["right"] + 1
        or t["top"] < svg["top"] - 1
        or t["bottom"] > svg["bottom"] + 1
    ]
    assert not outside, (what, outside)


LONG_DECIMALS = re.compile(r"\d\.\d{4,}")


def assert_rounded(geo: dict, what: str) -> None:
    assert not [t for t in geo["texts"] if LONG_DECIMALS.search(t)], (what, geo["texts"][:20])


def open_page(page, server, name: str, charts: int) -> None:
    page.goto(f"{server}/{name}")
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    state = settle(page, charts=charts, timeout=120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"thirty-{name}.png"), full_page=True)
    assert state["exceptions"] == 0, page.locator('[data-testid="stException"]').first.inner_text()


def test_correlation_heatmap_labels_are_not_clipped(server, page):
    open_page(page, server, "correlations", charts=2)
    geo = chart(page, 0)
    assert len([t for t in geo["ticks"] if t["text"] in METHODS]) >= 2 * 15  # both axes carry the methods
    assert_inside(geo, "correlation heatmap")
    assert_rounded(geo, "correlation heatmap")


def test_overlap_heatmap_labels_fit_cells_show_rounded_values_and_intersections_have_a_legend(server, page):
    open_page(page, server, "overlap", charts=3)
    geo = chart(page, 0)
    assert {t["text"] for t in geo["ticks"]} >= set(METHODS)
    assert_inside(geo, "overlap heatmap")
    cells = [t for t in geo["texts"] if re.fullmatch(r"[01]\.\d\d", t)]
    assert len(cells) >= len(METHODS) ** 2, len(cells)  # every cell, rounded to two decimals
    bars = chart(page, 1)
    assert bars["legend"] is not None and any(re.fullmatch(r"\d methods?", t) for t in bars["legendItems"]), (
        bars["legendItems"]
    )
    assert_inside(bars, "intersections")
    for index in (1, 2):
        assert_rounded(chart(page, index), f"overlap chart {index}")


def test_evaluation_legend_fits_names_the_full_data_and_the_leaderboard_starts_at_zero(server, page):
    open_page(page, server, "evaluation", charts=2)
    curves = chart(page, 0)
    assert "full data" in curves["legendItems"] and len(curves["legendItems"]) >= len(METHODS)
    assert not curves["legendClipped"], curves["legendItems"]
    legend, svg = curves["legend"], curves["svg"]
    assert legend["bottom"] <= svg["bottom"] + 1 and legend["right"] <= svg["right"] + 1, (legend, svg)
    assert_inside(curves, "evaluation curves")
    assert_rounded(curves, "evaluation curves")
    board = chart(page, 1)
    assert board["xrange"][0] == 0, board["xrange"]
    assert_inside(board, "leaderboard")
    assert_rounded(board, "leaderboard")
