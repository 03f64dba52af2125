"""What the browser tests share: Debian's Chromium, a Streamlit server on a free loopback port.

Follows Streamlit's own e2e set-up: the server writes to a file (a full pipe would block it), is polled
on ``/_stcore/health``, and runs without a file watcher so an edit elsewhere never prompts a rerun.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from prune_core.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


def require_browser() -> None:
    """Skip the calling test module, with the reason, when Chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    script: Path, log_path: Path, env: dict | None = None, timeout: float = 90.0
) -> Iterator[str]:
    """Run ``streamlit run script`` on a free loopback port; yields its URL once it answers health checks."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
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
    ]
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=full_env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not come up on {url}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# What a page looks like while Streamlit still works: a running script, skeletons, charts not drawn yet.
PAGE_STATE = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return {charts: charts.length, drawn: charts.filter(c => c.querySelector('.main-svg')).length,
          running: !!document.querySelector('[data-testid="stStatusWidget"]'),
          skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
          exceptions: document.querySelectorAll('[data-testid="stException"]').length};
}"""


def settle(page, *, charts: int = 0, quiet: float = 0.8, timeout: float = 60.0) -> dict:
    """Wait until the script is idle, at least ``charts`` charts are drawn and nothing changed for ``quiet`` s."""
    started, last, since = time.monotonic(), None, time.monotonic()
    while time.monotonic() - started < timeout:
        state = page.evaluate(PAGE_STATE)
        ready = (
            state["charts"] >= charts
            and state["drawn"] == state["charts"]
            and not state["running"]
            and not state["skeletons"]
        )
        if state != last or not ready:
            last, since = state, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return state
        time.sleep(0.1)
    raise AssertionError(f"page did not settle in {timeout} s: {last}")
