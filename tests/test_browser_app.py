"""The dashboard in a real headless Chromium against a live Streamlit server (marker ``browser``).

Every page opens without an exception box and draws its charts; a heatmap click picks a pair; a box
dragged over the embedding map lists, and exports, exactly the examples inside it. A screenshot of
each page lands in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from app.navigation import PAGES
from prune_core.paths import REPO_ROOT
from prune_core.results import Results
from prune_core.store import RunStore
from tests.browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    require_browser,
    settle,
    streamlit_server,
)
from tests.run_fixtures import small_run  # noqa: F401  (shared session fixture)

# ------------------------------------------------------------------ a hostile dataset (issue 10 items 3 and 9)
HOSTILE_RUN = "hostile-run"
OUTSIDE = "198.51.100.7"  # TEST-NET-2: any request to it is a leak, and it never answers
HOSTILE_TEXTS = [
    f"<script>alert('text')</script> ![pixel](http://{OUTSIDE}/text.png) :red[red] <b>bold</b>",
    f"# A heading from the data\n\n| a | b |\n|---|---|\n| 1 | 2 |\n<img src=http://{OUTSIDE}/img.png onerror=alert(2)>",
    "\u202eRTL override\u202c and zero\u200bwidth\u200d joiners :material/home: $x^2$ `code`",
]
HOSTILE_UIDS = ["`uid` <i>0</i>", f"![u](http://{OUTSIDE}/uid.png)", ":red[uid2]"]
HOSTILE_LABELS = ["<b>negative</b>", f":blue[positive] ![l](http://{OUTSIDE}/label.png)"]


def make_hostile_run(source: Path, target: Path) -> None:
    """A copy of ``source`` whose first training examples, uids and label names are hostile text."""
    shutil.copytree(source, target)
    run = RunStore(target.parent).open(target.name)
    examples = run.read_table("examples")
    train = np.flatnonzero(examples["split"].to_numpy() == "train")
    renamed = {}
    for i, text in enumerate(HOSTILE_TEXTS):
        examples.loc[train[i], "text"] = text
    for i, uid in enumerate(HOSTILE_UIDS):
        renamed[examples.loc[train[i], "uid"]] = uid
        examples.loc[train[i], "uid"] = uid
    run.write_table("examples", examples, stage="data")
    scores = run.read_table("scores")
    scores["uid"] = scores["uid"].map(lambda u: renamed.get(u, u))
    run.write_table("scores", scores, stage="select:summary")
    with run._editing() as manifest:
        manifest.dataset.label_names = list(HOSTILE_LABELS)


pytestmark = pytest.mark.browser
require_browser()
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(small_run, tmp_path_factory):  # noqa: F811
    """``streamlit run app/Home.py`` on a store holding a copy of the shared small run (the newest, so the
    default) and the hostile run beside it (opened with ``?run=``)."""
    store = tmp_path_factory.mktemp("browser-store")
    shutil.copytree(small_run, store / small_run.name)
    make_hostile_run(small_run, store / HOSTILE_RUN)
    newest = time.time()
    os.utime(store / HOSTILE_RUN / "manifest.json", (newest - 3600, newest - 3600))
    os.utime(store / small_run.name / "manifest.json", (newest, newest))
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(
        REPO_ROOT / "app" / "Home.py", log_path, {"PRUNESCOPE_RUNS_DIR": str(store)}
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1500}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def url_path(script: str) -> str:
    """The URL of a page: Streamlit names it after the script's file name."""
    return Path(script).stem


EXPECTED_CHARTS = {
    "runs": 0,
    "overview": 3,  # label counts, the reference model's validation curve, stage timings
    "correlations": 2,
    "overlap": 3,  # heatmap, largest intersections, two methods across budgets
    "grid": 2,  # the grid, agreement per selector and per representation
    # The hostile run is a copy of the small run (same config), so the two form a seed group and a pair.
    "stability": 2,
    "compare_runs": 1,
    "label_balance": 3,  # one method, every method, TV across budgets
    "embedding_map": 1,
    "data_map": 1,
    "inspector": 1,
    "export": 0,
}


@pytest.mark.parametrize("spec", PAGES, ids=[url_path(p.script) for p in PAGES])
def test_every_page_opens_without_an_exception_and_draws_its_charts(server, page, spec):
    name = url_path(spec.script)
    page.goto(f"{server}/{'' if spec.default else name}")
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    state = settle(page, charts=EXPECTED_CHARTS.get(name, 0))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    assert state["exceptions"] == 0, page.locator('[data-testid="stException"]').first.inner_text()
    if name in EXPECTED_CHARTS:  # pages added later by others check their own charts
        assert state["charts"] == EXPECTED_CHARTS[name]
    assert page.get_by_role(
        "heading", name=spec.title if not spec.default else "PruneScope"
    ).first.is_visible()


def test_the_sidebar_shows_a_link_to_every_page_without_expanding_it(server, page):
    page.goto(server)
    page.wait_for_selector('[data-testid="stSidebarNav"]')
    nav = page.locator('[data-testid="stSidebarNav"]')
    for spec in PAGES:
        assert nav.get_by_role("link", name=spec.title, exact=True).is_visible(), spec.title
    assert page.locator('[data-testid="stSidebarNavViewButton"]').count() == 0  # no "View 4 more"


def plot_geometry(page, index: int = 0) -> dict:
    """Screen position and size of a chart's axes (plotly's own offsets) and their ranges / categories."""
    return page.evaluate(
        """(index) => {
        const gd = document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')[index];
        const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return {left: box.left + xa._offset, top: box.top + ya._offset, width: xa._length, height: ya._length,
                xrange: xa.range, yrange: ya.range, xcats: xa._categories || [], ycats: ya._categories || []};
    }""",
        index,
    )


def test_clicking_a_correlation_cell_shows_that_pair(server, page):
    page.goto(f"{server}/correlations")
    settle(page, charts=2)
    geo = plot_geometry(page)
    row, column = 3, 1
    # Category i sits at value i of its axis: convert the cell centre to pixels.
    (x0, x1), (y0, y1) = geo["xrange"], geo["yrange"]
    x = geo["left"] + (column - x0) / (x1 - x0) * geo["width"]
    y = geo["top"] + (y1 - row) / (y1 - y0) * geo["height"]  # pixels grow downwards (this axis is reversed)
    page.mouse.move(x - 4, y - 4)
    page.mouse.move(x, y, steps=4)  # plotly selects the hovered point on click
    time.sleep(0.4)
    page.mouse.down()
    page.mouse.up()
    settle(page, charts=2)
    title = page.locator('[data-testid="stPlotlyChart"]').nth(1).locator(".gtitle").text_content()
    assert title.startswith(f"{geo['ycats'][row]} against {geo['xcats'][column]}")


def choose_box(coords: np.ndarray, geo: dict, *, want: tuple[int, int] = (3, 9), margin_px: float = 4.0):
    """A data-space box holding a few points, none of them within ``margin_px`` of its edges."""
    (x0, x1), (y0, y1) = geo["xrange"], geo["yrange"]
    px = (coords[:, 0] - x0) / (x1 - x0) * geo["width"]
    py = (y1 - coords[:, 1]) / (y1 - y0) * geo["height"]
    order = np.argsort(np.hypot(px - np.median(px), py - np.median(py)))
    for centre in order[:50]:
        for half in np.arange(8.0, 120.0, 3.0):
            dx, dy = np.abs(px - px[centre]), np.abs(py - py[centre])
            inside = (dx < half) & (dy < half)
            near_edge = (np.abs(dx - half) < margin_px) & (dy < half + margin_px) | (
                np.abs(dy - half) < margin_px
            ) & (dx < half + margin_px)
            if want[0] <= inside.sum() <= want[1] and not near_edge.any():
                return (px[centre] - half, py[centre] - half, px[centre] + half, py[centre] + half), inside
    raise AssertionError("no box with a handful of well-separated points on this map")


def test_a_box_on_the_embedding_map_lists_and_exports_exactly_the_points_inside(server, page, small_run):  # noqa: F811
    results = Results(RunStore(small_run.parent).open(small_run.name))
    coords = np.asarray(results.run.read_array("maps/hs/pca"), dtype=np.float64)
    page.goto(f"{server}/embedding_map")
    settle(page, charts=1)
    geo = plot_geometry(page)
    (left, top, right, bottom), inside = choose_box(coords, geo)
    expected = results.train["uid"].to_numpy()[np.flatnonzero(inside)].tolist()  # row order, as the table

    page.mouse.move(geo["left"] + left, geo["top"] + top)
    page.mouse.down()
    page.mouse.move(geo["left"] + (left + right) / 2, geo["top"] + (top + bottom) / 2, steps=5)
    page.mouse.move(geo["left"] + right, geo["top"] + bottom, steps=5)
    page.mouse.up()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
    settle(page, charts=1)
    page.screenshot(path=str(ARTIFACTS / "embedding-map-box-selection.png"), full_page=True)

    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == str(len(expected))
    grid = page.locator('[data-testid="stDataFrame"] table[role="grid"]')
    assert grid.get_attribute("aria-rowcount") == str(len(expected) + 1)  # header + one row per example
    shown = [grid.locator(f'[data-testid="glide-cell-0-{i}"]').inner_text() for i in range(len(expected))]
    assert shown == expected

    with page.expect_download() as download:
        page.locator('[data-testid="stDownloadButton"] button').first.click()
    assert download.value.suggested_filename.endswith(f"map-selection-{len(expected)}.txt")
    assert Path(download.value.path()).read_text().split() == expected


# Pages whose charts draw the label names (legend entries, category ticks).
CHART_LABEL_PAGES = ("overview", "label_balance", "embedding_map")
# Every text plotly drew, the links and the bold spans in it (titles are bold by the theme; a bold span
# holding the label would be the data's "<b>" rendered).
SVG_TEXTS = """() => {
  const svgs = [...document.querySelectorAll('[data-testid="stPlotlyChart"] svg.main-svg')];
  return {texts: svgs.flatMap(s => [...s.querySelectorAll('text')].map(t => t.textContent)),
          links: svgs.flatMap(s => [...s.querySelectorAll('a')].map(a => a.outerHTML)),
          bold: svgs.flatMap(s => [...s.querySelectorAll('tspan[style*="bold"]')].map(t => t.textContent))};
}"""


def test_every_page_shows_hostile_data_verbatim_without_requests_or_dialogs(server, page):
    """HTML, <script>, Markdown images and headings, directives, RTL and zero-width characters in a
    dataset: no page fetches anything off the loopback address, opens a dialog or renders them; charts
    draw a label named "<b>negative</b>" as those characters (no bold, no link)."""
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for spec in PAGES:
        name = url_path(spec.script)
        page.goto(f"{server}/{'' if spec.default else name}?run={HOSTILE_RUN}")
        page.wait_for_selector('[data-testid="stAppViewContainer"]')
        state = settle(page)
        assert state["exceptions"] == 0, (
            name,
            page.locator('[data-testid="stException"]').first.inner_text(),
        )
        assert (
            page.evaluate(
                f"() => [...document.querySelectorAll('img')].filter(i => i.src.includes('{OUTSIDE}')).length"
            )
            == 0
        ), name
        assert not page.locator("h1", has_text="A heading from the data").count(), name
        if name in CHART_LABEL_PAGES:  # label names drawn by plotly: the SVG text is the name itself
            svg = page.evaluate(SVG_TEXTS)
            assert any(HOSTILE_LABELS[0] in t for t in svg["texts"]), (name, svg["texts"][:30])
            assert not svg["links"] and not [t for t in svg["bold"] if "negative" in t], (name, svg)
        if name == "inspector":
            shown = page.locator('[data-testid="stText"]').all_inner_texts()
            assert HOSTILE_TEXTS[0] in shown and HOSTILE_UIDS[0] in shown and HOSTILE_LABELS[0] in shown
            page.screenshot(path=str(ARTIFACTS / "hostile-inspector.png"), full_page=True)
    leaks = [
        u
        for u in requests
        if urlparse(u).scheme in ("http", "https", "ws", "wss")
        and urlparse(u).hostname not in ("127.0.0.1", "localhost")
    ]
    assert not leaks, leaks
    assert not dialogs, dialogs
