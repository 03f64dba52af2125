"""The dashboard in a real headless Chromium on a generation run (marker ``browser``): every page opens
without an exception box and draws its charts, balance speaks of sources, the inspector shows the
prompt and the response."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.navigation import PAGES
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore
from tests.browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser, streamlit_server
from tests.run_fixtures import generation_run  # noqa: F401  (shared session fixture)
from tests.test_browser_app import settle

pytestmark = pytest.mark.browser
require_browser()
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(generation_run, tmp_path_factory):  # noqa: F811
    store = tmp_path_factory.mktemp("browser-generation-store")
    shutil.copytree(generation_run, store / generation_run.name)
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
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.mark.parametrize("spec", PAGES, ids=[Path(p.script).stem for p in PAGES])
def test_every_page_works_on_a_generation_run(server, page, spec):
    name = Path(spec.script).stem
    page.goto(f"{server}/{'' if spec.default else name}")
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    state = settle(page, timeout=120.0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"generation-{name}.png"), full_page=True)
    assert state["exceptions"] == 0, page.locator('[data-testid="stException"]').first.inner_text()
    body = page.locator("body").inner_text()
    if name != "gaussian_lab":  # the lab simulates its own 2-D classification task, whatever run is open
        assert "accuracy" not in body and "label-balanced" not in body.lower()
    if name == "label_balance":
        assert page.get_by_role("heading", name="Source balance").first.is_visible()
        assert "TV distance, source-balanced" in body


def test_the_inspector_shows_prompt_and_response(server, page, generation_run):  # noqa: F811
    train = RunStore(generation_run.parent).open(generation_run.name).examples("train")
    page.goto(f"{server}/inspector")
    settle(page, timeout=120.0)
    body = page.locator("body").inner_text()
    assert "prompt" in body and "response" in body
    assert train["response"].iloc[0] in body
