"""``serve`` passes SIGTERM / SIGINT on to Streamlit and waits for it: no orphan keeps answering on the
port (issue 10 item 5). A real ``prunescope serve`` subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from prune_core.paths import REPO_ROOT
from tests.browser_support import free_port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_serve_stops_streamlit_too(tmp_path, sig):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PRUNESCOPE_DEMO_DATA"}
    command = [sys.executable, "-m", "prune_core", "serve", "--runs-dir", str(tmp_path / "runs")]
    command += ["--port", str(port), "--address", "127.0.0.1"]
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not answers(url):
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "streamlit never answered"
            time.sleep(0.5)
        children = psutil.Process(serve.pid).children(recursive=True)
        assert children, "serve should run Streamlit as a child process"
        serve.send_signal(sig)
        assert serve.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"still running after serve exited: {alive}"
        assert not answers(url)
    finally:
        for child in psutil.Process(serve.pid).children(recursive=True) if serve.poll() is None else []:
            child.kill()
        if serve.poll() is None:
            serve.kill()
