"""`serve`: open the dashboard on a run store, starting a demo run first when the store is empty."""

from __future__ import annotations

import os
import subprocess
import sys

from prune_core.cli.common import add_common
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
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="localhost", help="interface to listen on (0.0.0.0 inside Docker)")
    p.add_argument(
        "--demo-data",
        default=os.environ.get("PRUNESCOPE_DEMO_DATA") or None,
        help="dataset folder for the demo run (default: $PRUNESCOPE_DEMO_DATA)",
    )
    p.add_argument(
        "--demo-limit", type=int, default=None, help="training examples of the demo run (default 500)"
    )
    p.add_argument("--demo-epochs", type=int, default=None, help="epochs of the demo run (default 3)")
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
    try:
        return subprocess.call(command, env=env, cwd=str(REPO_ROOT))
    except KeyboardInterrupt:
        return 0
