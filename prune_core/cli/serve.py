"""`serve`: open the dashboard on a run store, starting a demo run first when the store is empty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from prune_core.cli.common import add_common, port, positive_int
from prune_core.paths import REPO_ROOT, runs_dir


def add_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="open the dashboard (with a demo run computed when the store is empty)",
        description="Start the Streamlit dashboard. When the run store is empty and --demo-data "
        "(or $PRUNESCOPE_DEMO_DATA) names a dataset folder, a demo run is computed "
        "in the background and the home page follows its progress.",
    )
    add_common(p)
    p.add_argument("--port", type=port, default=8501)
    p.add_argument("--address", default="localhost", help="interface to listen on (0.0.0.0 inside Docker)")
    p.add_argument(
        "--demo-data",
        default=os.environ.get("PRUNESCOPE_DEMO_DATA") or None,
        help="dataset folder for the demo run (default: $PRUNESCOPE_DEMO_DATA)",
    )
    p.add_argument(
        "--demo-limit",
        type=positive_int,
        default=None,
        help="training examples of the demo run (default 500)",
    )
    p.add_argument(
        "--demo-epochs", type=positive_int, default=None, help="epochs of the demo run (default 3)"
    )
    p.add_argument(
        "--demo-model", default="minilm", help="model of the demo run (default: the packaged MiniLM)"
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from prune_core.jobs import ensure_demo_run

    store = os.path.abspath(args.runs_dir) if args.runs_dir else str(runs_dir())
    from prune_core.jobs.control import DEMO_EPOCHS, DEMO_LIMIT

    job = ensure_demo_run(
        store,
        args.demo_data,
        limit=args.demo_limit or DEMO_LIMIT,
        epochs=args.demo_epochs or DEMO_EPOCHS,
        model=args.demo_model,
    )
    if job is not None:
        print(
            f"The run store {store} is empty: computing a demo run on {args.demo_data} in the background "
            f"(job {job.id}); the dashboard's home page shows its progress.",
            file=sys.stderr,
        )
    env = {
        **os.environ,
        "PRUNESCOPE_RUNS_DIR": store,
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO_ROOT / "app" / "Home.py"),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    print(
        f"PruneScope dashboard: http://{'localhost' if args.address == '0.0.0.0' else args.address}:{args.port}",
        file=sys.stderr,
    )
    return run_forwarding_signals(command, env=env, cwd=str(REPO_ROOT))


def run_forwarding_signals(command: list[str], *, grace: float = 10.0, **popen) -> int:
    """Run ``command`` until it exits, passing SIGTERM / SIGINT / SIGHUP on to it.

    Without this, ``kill <serve pid>`` (a service manager, ``docker stop``) ends only this process and
    leaves Streamlit running, orphaned, still answering on the port. A child that has not exited
    ``grace`` seconds after the first signal is killed.
    """
    process = subprocess.Popen(command, **popen)
    received: list[float] = []

    def forward(signum, _frame) -> None:
        received.append(time.monotonic())
        if process.poll() is None:
            process.send_signal(signum)

    handled = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {sig: signal.signal(sig, forward) for sig in handled}
    try:
        while True:
            try:
                code = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if received and time.monotonic() - received[0] > grace:
                    process.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process.poll() is None:  # an exception in this loop: never leave the child behind
            process.kill()
            process.wait()
    return 0 if received and code in (0, -signal.SIGTERM, -signal.SIGINT) else code
