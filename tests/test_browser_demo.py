"""The first start (issue 11): what `make run` starts — `prunescope serve` on an empty run store with
demo data — computes the demo job in the background, and once it ends every page has content.

`make run` is ``python -m prune_core serve`` with ``PRUNESCOPE_DEMO_DATA`` (Makefile); this test starts
exactly that command on an empty store with the shared SST-2 data, through the demo's own code path
(``ensure_demo_run``: compute, select every preset, PCA and UMAP maps, a fast evaluation, then a
second training seed computed and selected for Seed stability and Compare two runs), with two
size flags of ``serve`` turned down so it fits in CI on 2 cores: ``--demo-model`` a tiny random BERT
(tests/conftest.py) instead of the packaged MiniLM and ``--demo-limit 120`` instead of 500 examples.
The demo's 3 epochs are kept, so the data map's too-few-epochs warning stays quiet as in the real demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.navigation import PAGES
from prune_core.jobs import job_status, list_jobs
from prune_core.paths import REPO_ROOT
from tests.browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, free_port, require_browser, settle

pytestmark = pytest.mark.browser
require_browser()
playwright_api = pytest.importorskip("playwright.sync_api")

DEMO_LIMIT = "120"
DEMO_TIMEOUT = 900.0  # seconds for the whole demo job on a loaded 2-core machine
# What a page says when it has nothing to show (app/ui.py, app/app_pages/*): none may remain.
EMPTY_STATES = (
    "cannot show this page yet",
    "has no evaluation yet",
    "No run yet",
    "No cached map yet",
    "No validation outputs yet",
    "No stage has run yet",
    "background job",  # the sidebar note while a job computes
)


@pytest.fixture(scope="module")
def demo(tiny_model_dir, sst2_dir, tmp_path_factory):
    """``prunescope serve`` on an empty store; yields (url, store) once the dashboard answers."""
    store = tmp_path_factory.mktemp("demo-store")
    assert not any(store.iterdir())
    log_path = tmp_path_factory.mktemp("demo-serve") / "serve.log"
    port = free_port()
    command = [sys.executable, "-m", "prune_core", "serve", "--runs-dir", str(store), "--port", str(port)]
    command += ["--address", "127.0.0.1", "--demo-data", str(sst2_dir), "--demo-limit", DEMO_LIMIT]
    command += ["--demo-model", str(tiny_model_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not come up on {url}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, store
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        for job in list_jobs(store):  # never leave a demo step running after the test
            if job_status(job).active:
                from prune_core.jobs import cancel_job

                cancel_job(job)


@pytest.fixture(scope="module")
def page():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1400, "height": 1500})
        yield context.new_page()
        chromium.close()


def wait_for_demo(store: Path) -> dict:
    """The demo job's record once it has ended (it was started by serve before the dashboard opened)."""
    deadline = time.monotonic() + DEMO_TIMEOUT
    while time.monotonic() < deadline:
        jobs = list_jobs(store)
        if jobs and not job_status(jobs[0]).active:
            return jobs[0].record()
        time.sleep(2)
    raise AssertionError(
        f"the demo job did not end in {DEMO_TIMEOUT} s: {[j.record() for j in list_jobs(store)]}"
    )


CONTENT = (
    "() => document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg, [data-testid=stDataFrame], "
    "[data-testid=stMetric], [data-testid=stText]').length"
)


def wait_for_content(page, timeout: float = 90.0) -> int:
    """Charts, tables, metrics or verbatim text on the page (a page may draw its chart a while after
    its script looked idle, e.g. while a map is loaded); 0 if none appears in ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (count := page.evaluate(CONTENT)) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    if count:
        settle(page, timeout=120)
    return count


def test_make_run_on_an_empty_store_fills_every_page_once_the_demo_job_ends(demo, page):
    url, store = demo
    page.goto(url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    jobs = list_jobs(store)
    assert len(jobs) == 1 and jobs[0].record()["request"]["label"] == "demo"
    started = time.monotonic()
    record = wait_for_demo(store)
    print(f"demo job took {time.monotonic() - started:.0f} s after the dashboard answered")
    assert record["status"] == "done", (
        record["status"],
        record.get("error"),
        jobs[0].log_path.read_text()[-3000:],
    )
    assert [s["name"] for s in record["steps"]] == [
        "compute",
        "select",
        "maps:pca",
        "maps:umap",
        "evaluate:fast",
        "seed-1:compute",  # the second training seed: Seed stability and Compare two runs have a partner
        "seed-1:select",
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for spec in PAGES:
        name = Path(spec.script).stem
        page.goto(f"{url}/{'' if spec.default else name}")
        page.wait_for_selector('[data-testid="stAppViewContainer"]')
        settle(page, timeout=120)
        content = wait_for_content(page)
        page.screenshot(path=str(ARTIFACTS / f"demo-{name}.png"), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert not exceptions.count(), (name, exceptions.first.inner_text())
        text = (
            page.locator('[data-testid="stMain"]').inner_text()
            + page.locator('[data-testid="stSidebar"]').inner_text()
        )
        assert not [e for e in EMPTY_STATES if e in text], (name, [e for e in EMPTY_STATES if e in text])
        assert content > 0, (name, text[:500])
        if name in ("stability", "compare_runs"):  # compared with the demo's second seed, not explained
            assert record["seed_runs"]["seed-1"]["id"] in text, (name, text[:500])
    page.goto(url)
    settle(page)
    assert "demo" in page.locator('[data-testid="stMain"]').inner_text().lower()  # the "demo ready" note
