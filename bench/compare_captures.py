"""How much the gradient capture changes what gradient methods select: one run per capture, same data.

    python bench/compare_captures.py [--limit 1000] [--limit-validation 200] [--epochs 3] [--lora]
                                     [--methods less,tracin,memorization] [--runs-dir DIR]

Computes the same config twice, ``--grad-capture step`` (each example's gradient at the step it was
trained on, TracIn's original definition, Pruthi et al. 2020) and ``--grad-capture checkpoint`` (at the
end-of-epoch checkpoints), on SST-2 from the shared data folder, then prints per method the Spearman
correlation of the two runs' scores and the Jaccard overlap of their subsets at 10 % and 30 %. Training
itself is identical in both (the hooks only read), so every difference comes from where the gradient is
taken and from the projection (factored for step capture, see ``prune_core/represent/factored.py``).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from scipy.stats import spearmanr

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prune_core.cli import main as cli  # noqa: E402
from prune_core.methods import Representations, get_method  # noqa: E402
from prune_core.methods.runner import MethodRunner  # noqa: E402
from prune_core.paths import shared_dataset  # noqa: E402
from prune_core.store import RunStore  # noqa: E402

BUDGETS = (0.1, 0.3)


def compute(capture: str, args, runs_dir: str):
    flags = [
        "compute",
        "--data",
        str(shared_dataset("sst2")),
        "--limit",
        str(args.limit),
        "--limit-validation",
        str(args.limit_validation),
        "--limit-test",
        "8",
        "--epochs",
        str(args.epochs),
        "--max-length",
        str(args.max_length),
        "--grad-capture",
        capture,
        "--runs-dir",
        runs_dir,
        "--quiet",
    ] + (["--lora"] if args.lora else [])
    assert cli(flags) == 0
    store = RunStore(runs_dir)
    return next(r for r in store.runs() if r.config["represent"].get("grad_capture") == capture)


def method_results(run, methods: list[str]) -> dict:
    runner = MethodRunner(Representations(run), BUDGETS)
    return {m: runner.run(get_method(m)) for m in methods}


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    a, b = set(a.tolist()), set(b.tolist())
    return len(a & b) / max(1, len(a | b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--limit-validation", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--methods", default="less,tracin,memorization")
    parser.add_argument("--runs-dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = args.runs_dir or tmp
        runs = {capture: compute(capture, args, runs_dir) for capture in ("step", "checkpoint")}
        results = {capture: method_results(run, methods) for capture, run in runs.items()}
        seconds = {c: sum(s.seconds or 0 for s in r.stages().values()) for c, r in runs.items()}
    print(
        f"SST-2, {args.limit} train / {args.limit_validation} validation, {args.epochs} epochs, "
        f"{'LoRA' if args.lora else 'full fine-tune'}; compute seconds: step {seconds['step']:.0f}, "
        f"checkpoint {seconds['checkpoint']:.0f}\n"
    )
    print(f"{'method':<14} {'Spearman':>9} {'Jaccard@10%':>12} {'Jaccard@30%':>12}")
    for method in methods:
        step, ckpt = results["step"][method], results["checkpoint"][method]
        rho = spearmanr(step.scores, ckpt.scores).statistic if step.scores is not None else float("nan")
        overlaps = [jaccard(a, b) for a, b in zip(step.selections["plain"], ckpt.selections["plain"])]
        print(f"{method:<14} {rho:>9.3f} {overlaps[0]:>12.3f} {overlaps[1]:>12.3f}")


if __name__ == "__main__":
    main()
