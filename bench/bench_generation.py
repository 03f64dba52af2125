"""Generation runs on the shipped demo set: compute time vs a plain fine-tune, and LESS's source balance.

    python bench/bench_generation.py [--model tiny|minilm|PATH] [--epochs 3] [--n 280] [--device auto]
                                     [--grad-capture checkpoint|step]

1. the whole ``compute --task generation`` (train + dynamics + hidden states + per-example LoRA gradients
   at every epoch) vs a plain LoRA fine-tune of the same decoder and config (target: <= 1.5 x, the rule
   bench_compute.py applies to classification);
2. the TV distance of the sources kept by ``less`` from the full data's source shares, plain vs
   source-balanced, at 10 % and 30 % (Du et al. 2025 saw LESS collapse label balance on Davidson).
``tiny`` (default) is a random 2-block GPT-2 (hidden 64) with a tokenizer trained on the demo set, built
offline; ``minilm`` is the packaged MiniLM loaded as a decoder. Absolute times on a shared machine are
noise; read the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from prune_core.analysis import label_balance_table  # noqa: E402
from prune_core.data import DatasetSpec, load_dataset  # noqa: E402
from prune_core.methods import Representations, get_method  # noqa: E402
from prune_core.methods.runner import MethodRunner  # noqa: E402
from prune_core.models import apply_lora, choose_device  # noqa: E402
from prune_core.paths import REPO_ROOT  # noqa: E402
from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig  # noqa: E402
from prune_core.store import RunStore  # noqa: E402
from prune_core.tasks import GENERATION  # noqa: E402
from prune_core.tiny_decoder import _texts_of, build_tiny_decoder  # noqa: E402
from prune_core.train import TrainConfig, train_reference  # noqa: E402

DEMO = REPO_ROOT / "data" / "demo_instruct"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n", type=int, default=280)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--grad-capture",
        choices=["checkpoint", "step"],
        default="checkpoint",
        help="checkpoint: per-example gradients recomputed after training; step: captured in the training step",
    )
    args = parser.parse_args()
    device = choose_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model == "tiny":
            model = str(build_tiny_decoder(Path(tmp) / "tiny", _texts_of(DEMO / "train.jsonl"), hidden=64))
        spec = DatasetSpec(train=str(DEMO), task="generation", limit=args.n)
        train_config = TrainConfig(epochs=args.epochs, lr=5e-4, lora=True, max_length=args.max_length)
        config = ComputeConfig(
            dataset=spec,
            model=model,
            train=train_config,
            represent=RepresentConfig(grad_capture=args.grad_capture),
            device=str(device),
        )

        started = time.perf_counter()
        run = Compute(config, RunStore(Path(tmp) / "runs"), show_progress=False, log=lambda _m: None).run()
        whole = time.perf_counter() - started

        def plain_finetune() -> None:
            # What a plain fine-tuning job does end to end: read the data, load the model, tokenise, train.
            frame = load_dataset(spec).split("train")
            loaded = GENERATION.load_model(model, 0, seed=0)
            lora = apply_lora(loaded.model, task_type=GENERATION.lora_task_type)
            encoded = GENERATION.encode(loaded.tokenizer, frame, args.max_length, log=lambda _m: None)
            train_reference(lora, encoded, frame["label"].to_numpy(), train_config, device, task=GENERATION)

        started = time.perf_counter()
        plain_finetune()
        finetune = time.perf_counter() - started
        stages = {name: record.seconds for name, record in run.stages().items()}

        reps = Representations(run)
        budgets = [0.1, 0.3]
        result = MethodRunner(reps, budgets).run(get_method("less"))
        names = run.label_names
        print(
            f"device {device}, model {args.model}, {reps.n} train examples, {args.epochs} epochs, LoRA, "
            f"gradients captured at: {args.grad_capture}"
        )
        print(
            f"plain fine-tune {finetune:.1f} s; whole compute {whole:.1f} s; ratio {whole / finetune:.2f} "
            "(target <= 1.5)"
        )
        print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items() if v is not None))
        counts = np.bincount(reps.labels, minlength=len(names))
        print("full data sources: " + ", ".join(f"{n} {c}" for n, c in zip(names, counts)))
        for i, budget in enumerate(budgets):
            subsets = {"plain": result.selections["plain"][i], "balanced": result.selections["balanced"][i]}
            table = label_balance_table(subsets, reps.labels, names)
            print(
                f"less at {budget:.0%}: TV plain {table.loc['plain', 'tv_from_full']:.3f}, "
                f"source-balanced {table.loc['balanced', 'tv_from_full']:.3f}; plain keeps "
                + ", ".join(f"{n} {int(table.loc['plain', f'count_{n}'])}" for n in names)
            )


if __name__ == "__main__":
    main()
