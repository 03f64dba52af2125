"""Dashboard benchmark: a real Chromium against a live server on a synthetic 100 000-example run.

Measures, as a user feels them:
- request -> embedding map rendered: from ``page.goto`` in a new tab to the WebGL scatter drawn (the
  first visit pays the server's loads and the browser's first download of the app's JavaScript; later
  tabs of the same browser find both cached, as a returning user does);
- sidebar click -> embedding map rendered: the same page reached from another page of an open dashboard
  (no new document: the rerun travels over the live websocket);
- box selection -> table updated: from releasing the mouse to the selected examples' table showing as
  many rows as the metric says were selected.
Target (issue): <= 1 s each once cached, on 2 cores. Prints one table; the synthetic run is written by
``bench/make_synthetic_run.py`` into ``--runs-dir`` (reused when already there).

    python bench/bench_dashboard.py [--n 100000] [--repeats 5] [--runs-dir /tmp/bench-runs]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from make_synthetic_run import make_synthetic_run

from prune_core.store import RunStore

REPO_ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAP_DRAWN = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return !!(gd && gd._fullData && gd._fullData.length && gd._fullLayout && gd._fullLayout._glcanvas
            && gd.querySelector('.main-svg'));
}"""
PAGE_DRAWN = (
    """(charts) => document.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length >= charts"""
)
TABLE_SHOWS = """(previous) => {
  const metric = document.querySelector('[data-testid="stMetricValue"]');
  const grid = document.querySelector('[data-testid="stDataFrame"] table[role="grid"]');
  if (!metric || !grid) return false;
  const count = metric.innerText.replace(/,/g, '');
  return count !== previous && grid.getAttribute('aria-rowcount') === String(Number(count) + 1);
}"""
AXES = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return {left: box.left + xa._offset, top: box.top + ya._offset, width: xa._length, height: ya._length};
}"""
# Boxes as fractions of the plotting area (left, top, right, bottom): small to medium selections.
BOXES = [
    (0.45, 0.45, 0.50, 0.50),
    (0.30, 0.30, 0.38, 0.40),
    (0.55, 0.35, 0.65, 0.45),
    (0.20, 0.55, 0.30, 0.65),
    (0.60, 0.60, 0.72, 0.72),
    (0.40, 0.20, 0.52, 0.30),
    (0.35, 0.50, 0.40, 0.58),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(runs_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO_ROOT / "app" / "Home.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PRUNESCOPE_RUNS_DIR": str(runs_dir)},
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {log_path}")


def time_map_render(
    context, url: str, path: str = "embedding_map", condition: str = MAP_DRAWN, arg: int | None = None
) -> float:
    """Seconds from the request to the page's charts drawn, in a new tab (a new Streamlit session)."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f"{url}/{path}", wait_until="commit")
    page.wait_for_function(condition, arg=arg, polling="raf", timeout=120_000)
    elapsed = time.perf_counter() - started
    page.close()
    return elapsed


def time_in_app_navigation(context, url: str, repeats: int) -> list[float]:
    """Seconds from clicking "Embedding map" in the sidebar of an open dashboard to the map drawn.

    What a user does most: the app is open (its JavaScript loaded, the session live) and they switch page;
    the click reruns the page over the existing websocket instead of loading a new document.
    """
    page = context.new_page()
    page.goto(f"{url}/overview")
    page.wait_for_function(PAGE_DRAWN, arg=2, polling="raf", timeout=120_000)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        page.get_by_role("link", name="Embedding map").click()
        page.wait_for_function(MAP_DRAWN, polling="raf", timeout=120_000)
        times.append(time.perf_counter() - started)
        page.get_by_role("link", name="Run overview").click()
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot canvas')",
            polling="raf",
            timeout=120_000,
        )
        page.wait_for_function(PAGE_DRAWN, arg=2, polling="raf", timeout=120_000)
        time.sleep(0.5)
    page.close()
    return times


def time_box_selections(context, url: str, boxes) -> list[tuple[float, int]]:
    """(seconds from mouse release to the table updated, rows selected) for each box, in one tab."""
    page = context.new_page()
    page.goto(f"{url}/embedding_map")
    page.wait_for_function(MAP_DRAWN, polling="raf", timeout=120_000)
    time.sleep(1.0)
    results, previous = [], "0"
    for left, top, right, bottom in boxes:
        axes = page.evaluate(AXES)
        x0, y0 = axes["left"] + left * axes["width"], axes["top"] + top * axes["height"]
        x1, y1 = axes["left"] + right * axes["width"], axes["top"] + bottom * axes["height"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        page.mouse.move(x1, y1, steps=4)
        started = time.perf_counter()
        page.mouse.up()
        page.wait_for_function(TABLE_SHOWS, arg=previous, polling="raf", timeout=120_000)
        elapsed = time.perf_counter() - started
        previous = page.locator('[data-testid="stMetricValue"]').first.inner_text().replace(",", "")
        results.append((elapsed, int(previous)))
        time.sleep(0.5)
    page.close()
    return results


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} {min(values):6.2f} {max(values):6.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--runs-dir", default=None, help="store for the synthetic run (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="prunescope-bench-"))
    run_id = f"synthetic-{args.n}"
    if run_id not in {r.id for r in RunStore(runs_dir).runs()}:
        print(f"writing the synthetic run into {runs_dir} ...", file=sys.stderr)
        make_synthetic_run(runs_dir, args.n, log=lambda _m: None)
    if next(r.id for r in RunStore(runs_dir).runs()) != run_id:
        raise SystemExit(f"{run_id} must be the newest run in {runs_dir} (the dashboard opens the newest)")
    process, url = start_server(runs_dir, runs_dir / "bench-streamlit.log")
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            cold = time_map_render(context, url)
            warm = [time_map_render(context, url) for _ in range(args.repeats)]
            # The floor: the run overview's two small SVG charts, same server and browser.
            floor = [
                time_map_render(context, url, "overview", PAGE_DRAWN, 2) for _ in range(args.repeats + 1)
            ]
            navigation = time_in_app_navigation(context, url, args.repeats + 1)
            selections = time_box_selections(context, url, (BOXES * 3)[: max(args.repeats, 1) + 1])
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    first, *rest = selections  # the first selection also warms the selection path's caches
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nDashboard on {args.n:,} examples ({cores} cores, load {os.getloadavg()[0]:.1f}); seconds")
    print(f"{'measurement':<44} {'first':>6} {'median':>6} {'min':>6} {'max':>6}  target")
    print(f"{'request -> embedding map rendered':<44} {cold:6.2f} {summary(warm)}  <= 1.0 once cached")
    print(
        f"{'sidebar click -> embedding map rendered':<44} {navigation[0]:6.2f} {summary(navigation[1:])}  "
        "<= 1.0 once cached (app already open)"
    )
    print(
        f"{'request -> run overview rendered (the floor)':<44} {floor[0]:6.2f} {summary(floor[1:])}  "
        "(two small SVG charts)"
    )
    print(
        f"{'box selection -> table updated':<44} {first[0]:6.2f} {summary([s for s, _ in rest])}  "
        f"<= 1.0 once cached"
    )
    print(f"selected rows per box: {[count for _, count in selections]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
