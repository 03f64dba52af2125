"""The Gaussian-mixture lab in a real headless Chromium against a live Streamlit server.

Opens the page, waits for the six panels of the paper's figure, moves the budget slider with the
keyboard and waits until every panel keeps the new number of points, then saves a screenshot to
tests/artifacts/gaussian_lab.png. Skips when Debian's /usr/bin/chromium or Python playwright is absent.
"""

from __future__ import annotations

import pytest

from prune_core.paths import REPO_ROOT
from tests.browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser, streamlit_server

pytestmark = pytest.mark.browser
require_browser()
PAGE = REPO_ROOT / "app" / "app_pages" / "gaussian_lab.py"


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    with streamlit_server(PAGE, tmp_path_factory.mktemp("lab-server") / "streamlit.log") as url:
        yield url


def _kept_per_panel(page) -> str:
    return (
        page.locator('[data-testid="stMetric"]', has_text="Kept per panel")
        .locator('[data-testid="stMetricValue"]')
        .inner_text()
    )


def test_lab_page_draws_the_six_panels_and_follows_the_budget_slider(lab_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(lab_url, wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
            chart = page.locator(".js-plotly-plot").first
            chart.wait_for(timeout=90_000)
            for title in ("Difficulty", "Diversity"):
                expect(chart.locator(".annotation-text", has_text=title).first).to_be_visible(timeout=30_000)
            assert chart.locator(".annotation-text", has_text="-Difficulty").count() == 4  # 3 x proto + h2l
            assert chart.locator(".annotation-text", has_text="-Diversity").count() == 2
            assert _kept_per_panel(page) == "180"

            thumb = page.locator('[data-testid="stSlider"]', has_text="Budget").get_by_role("slider")
            thumb.focus()
            thumb.press("ArrowRight")  # 0.30 -> 0.35 of 600 training points
            expect(
                page.locator('[data-testid="stMetric"]', has_text="Kept per panel").locator(
                    '[data-testid="stMetricValue"]'
                )
            ).to_have_text("210", timeout=30_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
            expect(chart.locator(".annotation-text", has_text="-Difficulty").first).to_be_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "gaussian_lab.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "gaussian_lab.png").stat().st_size > 10_000
