"""Cost of one subset-evaluation job as a ratio to the reference fine-tune.

Usage: python bench/bench_evaluate.py [--run RUN --runs-dir DIR] [--budgets 0.1,0.3,1.0]
                                    [--finetune-repeats 3 --fast-repeats 5]

Without --run, a small run is computed first (SST-2 from ../shared, 500 training / 200 validation / 200
test examples, 2 epochs, the packaged MiniLM; minutes on 2 CPU cores) in a temporary store. The reference
is a plain fine-tune (``train_reference``) of a fresh classifier on the whole training split with the
run's training config, timed here; the manifest's ``train`` stage time (which also records dynamics and
writes checkpoints) is printed beside it. Then one job of each mode is timed at each budget on a seeded
random subset, exactly as ``evaluate`` runs it but without writing to the store:
- finetune: fresh model, training on the subset, predictions on validation and test;
- fast: the logistic-regression probe on frozen pre-trained hidden states.
Fine-tune times are the median of several rounds, each timing the reference and then every job, and a
ratio is the median of the per-round ratios: on a shared machine other processes move single timings by
a factor of several, and interleaving lets a burst of load hit both sides of a ratio. The load average is
printed before and after.
Prints seconds and the ratio to the reference. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from prune_core.evaluate.modes import FinetuneEvaluation, ProbeEvaluation
from prune_core.evaluate.probe import ProbeConfig
from prune_core.models import load_classifier
from prune_core.paths import shared_dataset
from prune_core.select.budget import budget_to_k
from prune_core.select.random import random_subset
from prune_core.store import Run, RunStore, keys
from prune_core.tokenize import encode
from prune_core.train import TrainConfig, train_reference


def timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def median_seconds(call, repeats: int) -> float:
    return statistics.median(timed(call)[0] for _ in range(max(1, repeats)))


def small_run(root: Path) -> Run:
    from prune_core.cli import main

    data = shared_dataset("sst2")
    if not (data / "train.csv").exists():
        sys.exit(f"no SST-2 at {data}; pass --run and --runs-dir of an existing run")
    print(f"computing a small SST-2 run in {root} (500 / 200 / 200 examples, 2 epochs) ...", flush=True)
    code = main(
        [
            "compute",
            "--data",
            str(data),
            "--limit",
            "500",
            "--limit-validation",
            "200",
            "--limit-test",
            "200",
            "--epochs",
            "2",
            "--runs-dir",
            str(root),
            "--quiet",
        ]
    )
    if code:
        sys.exit(f"compute failed with status {code}")
    return RunStore(root).runs()[0]


def reference_seconds(run: Run, device: torch.device) -> float:
    """A plain fine-tune of a fresh classifier on the whole training split (the job a full-data result runs)."""
    config = TrainConfig(**run.config["train"])
    loaded = load_classifier(run.config["model"], len(run.label_names), seed=config.seed)
    train = run.examples("train")
    pairs = train["text_pair"].tolist() if "text_pair" in train else None
    encoded = encode(loaded.tokenizer, train["text"].tolist(), pairs, config.max_length)
    seconds, _ = timed(
        lambda: train_reference(loaded.model, encoded, train["label"].to_numpy(), config, device)
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run id or path (default: compute a small SST-2 run first)")
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--budgets", default="0.1,0.3,1.0")
    parser.add_argument(
        "--finetune-repeats",
        type=int,
        default=3,
        help="repetitions of the reference and of each fine-tune job (median reported)",
    )
    parser.add_argument("--fast-repeats", type=int, default=5, help="repetitions of each fast job")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    keep = tempfile.TemporaryDirectory(prefix="bench-evaluate-") if not args.run else None
    run = RunStore(args.runs_dir).open(args.run) if args.run else small_run(Path(keep.name))
    budgets = [float(b) for b in args.budgets.split(",") if b.strip()]
    finetune = FinetuneEvaluation(run, args.device)
    fast = ProbeEvaluation(run, ProbeConfig())
    n = len(finetune.train)
    held_out = {s: len(f) for s, f in finetune.frames.items()}
    print(
        f"run {run.id}: {n} training examples, held out {held_out}, model {run.config['model']}, "
        f"{finetune.train_config.epochs} epochs, device {finetune.device}, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    subsets = {b: np.sort(random_subset(n, budget_to_k(b, n), seed=0)) for b in budgets}
    # Rounds interleave the reference and the jobs, so a burst of load from another process hits both
    # sides of a ratio; each ratio is the median over rounds of (job / reference in the same round).
    rounds = []
    for _ in range(max(1, args.finetune_repeats)):
        reference = reference_seconds(run, finetune.device)
        jobs = {
            b: timed(lambda p=p: finetune.predict(p, 0, lambda _count: None))[0] for b, p in subsets.items()
        }
        rounds.append((reference, jobs))
    reference = statistics.median(r for r, _ in rounds)
    recorded = run.stage_record(keys.TRAIN_STAGE).seconds
    print(
        f"reference fine-tune (train_reference, all {n} examples), median of {len(rounds)} rounds: {reference:.1f} s "
        f"(rounds: {', '.join(f'{r:.1f}' for r, _ in rounds)})"
        + (
            f"; the run's train stage took {recorded:.1f} s (with dynamics and checkpoints)"
            if recorded
            else ""
        )
    )
    print(f"\n{'job':<10}{'budget':>8}{'examples':>10}{'seconds':>10}{'ratio':>9}   note")
    print("-" * 70)
    for budget, positions in subsets.items():
        seconds = statistics.median(jobs[budget] for _, jobs in rounds)
        ratio = statistics.median(jobs[budget] / r for r, jobs in rounds)
        print(
            f"{'finetune':<10}{budget:>8.0%}{len(positions):>10}{seconds:>10.2f}{ratio:>9.3f}   "
            f"load + train + predict {sum(held_out.values())} held-out",
            flush=True,
        )
    for budget in budgets:
        positions = np.sort(random_subset(n, budget_to_k(budget, n), seed=0))
        seconds = median_seconds(
            lambda p=positions: fast.predict(p, 0, lambda _count: None), args.fast_repeats
        )
        print(
            f"{'fast':<10}{budget:>8.0%}{len(positions):>10}{seconds:>10.4f}{seconds / reference:>9.5f}   "
            "fit the probe + predict",
            flush=True,
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if keep is not None:
        keep.cleanup()


if __name__ == "__main__":
    main()
