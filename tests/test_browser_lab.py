"""The Gaussian-mixture lab in a real headless Chromium against a live Streamlit server.

Opens the page, waits for the six panels of the paper's figure, moves the budget slider with the
keyboard and waits until every panel keeps the new number of points, then saves a screenshot to
tests/artifacts/gaussian_lab.png. Skips when Debian's /usr/bin/chromium or Python playwright is absent.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
PAGE = REPO / "app" / "app_pages" / "gaussian_lab.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n"
                       f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("lab-server") / "streamlit.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with log.open("w") as out:  # a file, not a pipe: a full pipe would block the server
        command = [sys.executable, "-m", "streamlit", "run", str(PAGE), "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port)]
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _kept_per_panel(page) -> str:
    return page.locator('[data-testid="stMetric"]', has_text="Kept per panel").locator(
        '[data-testid="stMetricValue"]').inner_text()


def test_lab_page_draws_the_six_panels_and_follows_the_budget_slider(lab_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
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
            expect(page.locator('[data-testid="stMetric"]', has_text="Kept per panel")
                   .locator('[data-testid="stMetricValue"]')).to_have_text("210", timeout=30_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
            expect(chart.locator(".annotation-text", has_text="-Difficulty").first).to_be_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "gaussian_lab.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "gaussian_lab.png").stat().st_size > 10_000
