"""Which relative damping makes the ``influence`` preset agree with exact leave-one-out retraining?

Usage: python bench/bench_influence_loo.py RUN_DIR [--sample 200] [--dampings 1e-3,1e-2,1e-1,1,10]

On the run's final checkpoint (head inputs and the fine-tuned model's probabilities, as the preset
uses them) prints, per relative damping d, the Spearman correlation between the preset's scores and
the exact change of the mean validation loss when each of ``sample`` seeded training examples is left
out and the L2-regularised last layer (lambda = d x mean diag H) is refit (prune_core/scores/loo.py).
Not part of the test suite; the chosen default and its Spearman are recorded in the preset.
"""

from __future__ import annotations

import argparse
import time

from prune_core.methods.inputs import Representations
from prune_core.scores.loo import damping_agreement
from prune_core.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="path of a computed run")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--dampings", default="1e-3,1e-2,1e-1,1,10")
    args = parser.parse_args()
    path = args.run.rstrip("/")
    run = RunStore(path.rsplit("/", 1)[0]).open(path.rsplit("/", 1)[1])
    r = Representations(run)
    c = r.final_checkpoint
    dampings = tuple(float(d) for d in args.dampings.split(","))
    started = time.perf_counter()
    agreement = damping_agreement(
        r.head_input("train", c),
        r.probs("train", c),
        r.labels,
        r.head_input("validation", c),
        r.probs("validation", c),
        r.val_labels,
        dampings,
        sample=args.sample,
    )
    print(
        f"run {run.id}: n = {r.n}, LOO on {min(args.sample, r.n)} examples, {time.perf_counter() - started:.0f} s"
    )
    for d, rho in agreement.items():
        print(f"relative damping {d:g}: Spearman with exact LOO = {rho:.3f}")


if __name__ == "__main__":
    main()
