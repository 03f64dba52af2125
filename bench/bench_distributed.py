"""Benchmark of the Ray engine against the local one, on the same small job, in one run.

    python bench/bench_distributed.py [--n 256] [--m 64] [--epochs 1] [--max-length 64]
                                      [--workers 2] [--shard-examples 64]

It fine-tunes the packaged MiniLM once with the local engine (not timed), then recomputes every
representation of that run (hidden states, losses, projected gradients at each checkpoint) twice from
the same checkpoints: in this process (``--engine local``) and on a local Ray cluster with ``--workers``
actors (``--engine ray``). It prints wall time and throughput of both, the overhead ratio (target <= 1.3 x
at 2 workers on 2 cores), the Ray cluster's start apart, the largest relative difference between the two
runs' arrays, and the per-shard timings. Absolute times on a shared machine are noise; read the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prune_core.data import DatasetSpec  # noqa: E402
from prune_core.paths import shared_dataset  # noqa: E402
from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig  # noqa: E402
from prune_core.represent.sizing import BatchSizes  # noqa: E402
from prune_core.store import Run, RunStore, keys  # noqa: E402
from prune_core.train import TrainConfig  # noqa: E402


def undo_representations(source: Run, dest: Path) -> RunStore:
    """A copy of the run whose represent stages are undone (the checkpoints kept)."""
    shutil.copytree(source.path, dest / source.id)
    run = Run(dest / source.id)
    for name in run.stages(keys.represent_stage("")):
        run.forget_files(run.stage_files(name))
        run.begin_stage(name, run.stage_record(name).params)
    return RunStore(dest)


def worst_relative_error(a: Run, b: Run) -> float:
    worst = 0.0
    for record in a.arrays():
        x = np.asarray(a.read_array(record.key), dtype=np.float64)
        y = np.asarray(b.read_array(record.key), dtype=np.float64)
        if x.size:
            worst = max(worst, float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-6))))
    return worst


def represented(run: Run) -> int:
    """Examples passed through the model over every checkpoint."""
    return sum(
        sum(record.extra.get("examples", {}).values())
        for record in run.stages(keys.represent_stage("")).values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="training examples")
    parser.add_argument("--m", type=int, default=64, help="validation examples")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shard-examples", type=int, default=64)
    args = parser.parse_args()

    config = ComputeConfig(
        dataset=DatasetSpec(
            train=str(shared_dataset("sst2")), limit=args.n, limit_validation=args.m, limit_test=16
        ),
        train=TrainConfig(epochs=args.epochs, max_length=args.max_length, batch_size=16),
        represent=RepresentConfig(proj_dim=256),
        batches=BatchSizes(forward=16, gradients=16),
        device="cpu",
    )
    root = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    quiet = {"show_progress": False, "log": lambda _m: None}
    print(f"setup: local fine-tune of {args.n} examples, {args.epochs} epoch(s) ...", flush=True)
    oracle = Compute(config, RunStore(root / "oracle"), **quiet).run()

    store = undo_representations(oracle, root / "local")
    started = time.perf_counter()
    local = Compute(config, store, **quiet).run()
    local_s = time.perf_counter() - started

    import ray

    from prune_core.distributed.engine import RayCompute, RayOptions

    started = time.perf_counter()
    ray.init(num_cpus=2, object_store_memory=150 * 2**20, include_dashboard=False, log_to_driver=False)
    cluster_s = time.perf_counter() - started
    store = undo_representations(oracle, root / "ray")
    options = RayOptions(workers=args.workers, train_workers=1, shard_examples=args.shard_examples)
    started = time.perf_counter()
    distributed = RayCompute(config, store, options, **quiet).run()
    ray_s = time.perf_counter() - started
    ray.shutdown()

    examples = represented(local)
    print()
    print(f"representations of every checkpoint ({examples} example passes), same checkpoints:")
    print(f"{'engine':<28}{'wall s':>10}{'examples/s':>14}{'vs local':>10}")
    print(f"{'local (1 process)':<28}{local_s:>10.1f}{examples / local_s:>14.1f}{1.0:>10.2f}")
    label = f"ray ({args.workers} workers)"
    print(f"{label:<28}{ray_s:>10.1f}{examples / ray_s:>14.1f}{ray_s / local_s:>10.2f}")
    total = ray_s + cluster_s
    print(f"{label + ' + cluster start':<28}{total:>10.1f}{examples / total:>14.1f}{total / local_s:>10.2f}")
    print(f"largest relative difference of any array: {worst_relative_error(local, distributed):.1e}")
    print()
    print(f"{'shard':<34}{'examples':>9}{'s':>8}  worker")
    seconds = []
    for record in distributed.stages(keys.represent_stage("")).values():
        for shard in record.extra.get("engine", {}).get("shards", []):
            seconds.append(shard["seconds"])
            print(f"{shard['key']:<34}{shard['examples']:>9}{shard['seconds']:>8.2f}  {shard['worker']}")
    if seconds:
        print(
            f"{len(seconds)} shards: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s, "
            f"sum {sum(seconds):.1f} s over {args.workers} workers"
        )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
