"""`compute` (fine-tune and represent) and `info` (what a run holds)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from prune_core.cli.common import UsageError, add_common


def add_compute(sub) -> None:
    p = sub.add_parser(
        "compute",
        help="fine-tune the reference model and compute every representation",
        description="Load a dataset, fine-tune the model once while recording training dynamics, "
        "and store hidden states, losses and projected per-example gradients.",
    )
    add_common(p)
    d = p.add_argument_group("dataset")
    d.add_argument(
        "--data",
        required=True,
        help="training file (.csv/.tsv/.jsonl/.parquet), a folder with train/validation/test files, "
        "or a Hugging Face dataset as hf:<id>[:<config>]",
    )
    d.add_argument("--validation", help="validation file (default: from the folder, else a stratified split)")
    d.add_argument("--test", help="test file (default: from the folder, else none)")
    d.add_argument("--text-column", default="text")
    d.add_argument("--text-pair-column", default=None, help="second text column of a sentence pair")
    d.add_argument("--label-column", default="label")
    d.add_argument("--id-column", default=None, help="uid column (default: 'id' if present, else a row hash)")
    d.add_argument("--limit", type=int, help="seeded, label-stratified sample of N training examples")
    d.add_argument("--limit-validation", type=int)
    d.add_argument("--limit-test", type=int)
    d.add_argument("--validation-fraction", type=float, default=0.1)
    m = p.add_argument_group("model and training")
    m.add_argument(
        "--model",
        default="minilm",
        help="hub id or local path of a sequence classifier (default: the packaged MiniLM-L6)",
    )
    m.add_argument("--epochs", type=int, default=3)
    m.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default 5e-5; 5e-4 with --lora)"
    )
    m.add_argument("--batch-size", type=int, default=32)
    m.add_argument("--max-length", type=int, default=128)
    m.add_argument("--warmup-ratio", type=float, default=0.1)
    m.add_argument("--weight-decay", type=float, default=0.0)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument(
        "--seeds",
        default=None,
        help="comma-separated training seeds (e.g. 0,1,2): one run per seed on the same data sample "
        "(drawn with --seed), for `analyze --stability`",
    )
    m.add_argument("--lora", action="store_true", help="train LoRA adapters (peft) instead of all weights")
    m.add_argument("--lora-r", type=int, default=8)
    m.add_argument("--lora-alpha", type=int, default=16)
    m.add_argument("--lora-dropout", type=float, default=0.1)
    m.add_argument(
        "--lora-targets", default=None, help="comma-separated module names (default: peft's choice)"
    )
    r = p.add_argument_group("representations")
    r.add_argument("--proj-dim", type=int, default=1024, help="dimension of projected gradients")
    r.add_argument("--proj-seed", type=int, default=0)
    r.add_argument("--projector", choices=["auto", "dense", "sparse"], default="auto")
    r.add_argument(
        "--grad-scope",
        choices=["auto", "trainable", "top", "head"],
        default="auto",
        help="parameters of the per-example gradients (auto: LoRA adapters, else last block + head)",
    )
    r.add_argument(
        "--grad-checkpoints",
        default="last",
        help="epochs whose checkpoints get gradient features: all, last, or e.g. 1,3",
    )
    x = p.add_argument_group(
        "device and speed",
        "the device kind and precision are part of the run id; batch sizes only change speed and memory "
        "(default: sized from the device and its free memory), so a run resumes with other values",
    )
    x.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    x.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="training precision (auto: bf16 autocast on GPUs with native bf16, else fp32); "
        "stored representations are always computed in fp32",
    )
    x.add_argument("--forward-batch-size", type=int, default=None, help="examples per eval forward batch")
    x.add_argument(
        "--grad-batch-size", type=int, default=None, help="examples per per-example-gradient batch"
    )
    x.add_argument("--proj-chunk", type=int, default=None, help="gradient columns projected per step")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_compute)


def compute_config_from_args(args):
    from prune_core.data import DatasetSpec
    from prune_core.pipeline import ComputeConfig, RepresentConfig
    from prune_core.represent.sizing import BatchSizes
    from prune_core.train import TrainConfig

    dataset = DatasetSpec(
        train=args.data,
        validation=args.validation,
        test=args.test,
        text_column=args.text_column,
        text_pair_column=args.text_pair_column,
        label_column=args.label_column,
        id_column=args.id_column,
        limit=args.limit,
        limit_validation=args.limit_validation,
        limit_test=args.limit_test,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
    )
    targets = [t.strip() for t in args.lora_targets.split(",")] if args.lora_targets else None
    lr = args.lr if args.lr is not None else (5e-4 if args.lora else 5e-5)
    train = TrainConfig(
        epochs=args.epochs,
        lr=lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        seed=args.seed,
        lora=args.lora,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        lora_targets=targets,
    )
    represent = RepresentConfig(
        proj_dim=args.proj_dim,
        proj_seed=args.proj_seed,
        projector=args.projector,
        grad_scope=args.grad_scope,
        grad_checkpoints=args.grad_checkpoints,
    )
    batches = BatchSizes(
        forward=args.forward_batch_size, gradients=args.grad_batch_size, projection_chunk=args.proj_chunk
    )
    return ComputeConfig(
        dataset=dataset,
        model=args.model,
        train=train,
        represent=represent,
        device=args.device,
        precision=args.precision,
        batches=batches,
    )


def parse_seeds(text: str | None) -> list[int] | None:
    """--seeds "0,1,2" -> [0, 1, 2] (distinct, in order); None when the flag is absent."""
    if text is None:
        return None
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise UsageError(f"--seeds must be comma-separated integers such as 0,1,2; got {text!r}") from err
    if not seeds:
        raise UsageError(f"--seeds must name at least one seed; got {text!r}")
    return list(dict.fromkeys(seeds))


def cmd_compute(args) -> int:
    from prune_core.pipeline import Compute
    from prune_core.reference import curve_lines, reference_curve
    from prune_core.store import RunStore

    config = compute_config_from_args(args)
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    # Several seeds: the same data sample (DatasetSpec keeps --seed), one training run per seed.
    seeds = parse_seeds(args.seeds)
    configs = [replace(config, train=replace(config.train, seed=s)) for s in seeds] if seeds else [config]
    for one in configs:
        run = Compute(one, RunStore(args.runs_dir), show_progress=not args.quiet, log=log).run()
        curve = reference_curve(run.reload())
        if (
            curve and not args.quiet
        ):  # on stderr: stdout is the run's folder alone (RUN=$(prunescope compute ...))
            print("reference model, per checkpoint:", file=sys.stderr)
            for line in curve_lines(curve):
                print(f"  {line}", file=sys.stderr)
        print(run.path)
    return 0


def add_info(sub) -> None:
    p = sub.add_parser("info", help="summarise a run: dataset, model, stages, stored arrays")
    add_common(p)
    p.add_argument("run", help="run id (folder name in the run store) or path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from prune_core.reference import curve_lines, reference_curve
    from prune_core.store import RunStore

    run = RunStore(args.runs_dir).open(args.run)
    summary = run.describe()
    summary["reference"] = reference_curve(run)
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return 0
    ds = summary["dataset"]
    print(f"run      {summary['run_id']}  ({summary['path']})")
    print(f"dataset  sizes {ds.get('sizes')}  labels {ds.get('label_names')}")
    print(f"model    {summary['model'].get('name')}  {summary['model'].get('parameters')} parameters")
    for line in curve_lines(summary["reference"]):
        print(f"model    {line}")
    for name, stage in summary["stages"].items():
        seconds = stage.get("seconds")
        took = "" if seconds is None else f"{seconds:.1f} s"
        print(f"stage    {name:<28} {stage.get('status'):<8} {took}")
    for array in summary["arrays"]:
        print(f"array    {array['key']:<44} {str(tuple(array['shape'])):<16} {array['dtype']}")
    return 0
