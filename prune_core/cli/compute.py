"""`compute` (fine-tune and represent) and `info` (what a run holds)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from prune_core.cli.common import (
    UsageError,
    add_common,
    non_negative_float,
    non_negative_int,
    open_fraction,
    positive_float,
    positive_int,
    unit_interval,
)


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
    d.add_argument(
        "--task",
        choices=["classification", "generation"],
        default="classification",
        help="classification (text + label; a sequence classifier) or generation (prompt + response or "
        "chat messages; a causal language model trained on the response tokens)",
    )
    d.add_argument("--text-column", default="text")
    d.add_argument("--text-pair-column", default=None, help="second text column of a sentence pair")
    d.add_argument("--label-column", default="label")
    d.add_argument("--id-column", default=None, help="uid column (default: 'id' if present, else a row hash)")
    d.add_argument("--prompt-column", default="prompt", help="generation: the prompt column")
    d.add_argument("--response-column", default="response", help="generation: the response column")
    d.add_argument(
        "--messages-column",
        default="messages",
        help="generation: a chat list [{role, content}, ...] whose last (assistant) message is the response",
    )
    d.add_argument(
        "--source-column",
        default=None,
        help="generation: where each example comes from, balanced like a label "
        "(default: 'source', else 'category', if present)",
    )
    d.add_argument(
        "--limit", type=positive_int, help="seeded, label-stratified sample of N training examples"
    )
    d.add_argument("--limit-validation", type=positive_int)
    d.add_argument("--limit-test", type=positive_int)
    d.add_argument("--validation-fraction", type=open_fraction, default=0.1)
    m = p.add_argument_group("model and training")
    m.add_argument(
        "--model",
        default="minilm",
        help="hub id or local path of a sequence classifier, or of a causal language model with --task "
        "generation (e.g. facebook/opt-125m); default: the packaged MiniLM-L6 (a decoder for generation)",
    )
    m.add_argument("--epochs", type=positive_int, default=3)
    m.add_argument(
        "--lr", type=positive_float, default=None, help="peak learning rate (default 5e-5; 5e-4 with --lora)"
    )
    m.add_argument("--batch-size", type=positive_int, default=32)
    m.add_argument("--max-length", type=positive_int, default=128)
    m.add_argument("--warmup-ratio", type=unit_interval, default=0.1)
    m.add_argument("--weight-decay", type=non_negative_float, default=0.0)
    m.add_argument("--seed", type=non_negative_int, default=0)
    m.add_argument(
        "--seeds",
        default=None,
        help="comma-separated training seeds (e.g. 0,1,2): one run per seed on the same data sample "
        "(drawn with --seed), for `analyze --stability`",
    )
    m.add_argument(
        "--lora",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train LoRA adapters (peft) instead of all weights (default: off for classification, on for "
        "generation, as LESS); --no-lora fine-tunes every weight",
    )
    m.add_argument("--lora-r", type=positive_int, default=8)
    m.add_argument("--lora-alpha", type=positive_int, default=16)
    m.add_argument("--lora-dropout", type=unit_interval, default=0.1)
    m.add_argument(
        "--lora-targets", default=None, help="comma-separated module names (default: peft's choice)"
    )
    r = p.add_argument_group("representations")
    r.add_argument("--proj-dim", type=positive_int, default=1024, help="dimension of projected gradients")
    r.add_argument("--proj-seed", type=non_negative_int, default=0)
    r.add_argument("--projector", choices=["auto", "dense", "sparse"], default="auto")
    r.add_argument(
        "--grad-scope",
        choices=["auto", "trainable", "top", "head"],
        default="auto",
        help="parameters of the per-example gradients (auto: LoRA adapters, else last block + head)",
    )
    r.add_argument(
        "--grad-checkpoints",
        default="all",
        help="epochs whose checkpoints get gradient features: all (default: LESS averages over "
        "per-epoch checkpoints and GTP matches a trajectory), last, or e.g. 1,3",
    )
    r.add_argument(
        "--grad-capture",
        choices=["step", "checkpoint"],
        default="checkpoint",
        help="step: each training example's gradient from the training step that used it (hooks, "
        "factored projection; TracIn's original definition); checkpoint: recomputed at each "
        "end-of-epoch checkpoint after training",
    )
    r.add_argument(
        "--grad-factor-dim",
        type=positive_int,
        default=64,
        help="step capture: each linear layer's gradient is projected to k x k before mixing to --proj-dim",
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
    x.add_argument(
        "--forward-batch-size", type=positive_int, default=None, help="examples per eval forward batch"
    )
    x.add_argument(
        "--grad-batch-size", type=positive_int, default=None, help="examples per per-example-gradient batch"
    )
    x.add_argument(
        "--proj-chunk", type=positive_int, default=None, help="gradient columns projected per step"
    )
    e = p.add_argument_group(
        "engine",
        "where the work runs; the arrays are the same either way (README: Running on a cluster)",
    )
    e.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: Ray Train fine-tune and Ray Data extraction",
    )
    e.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (default: $RAY_ADDRESS, else a local cluster on this machine)",
    )
    e.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="Ray workers (default: one per GPU, else one per CPU but one)",
    )
    e.add_argument(
        "--train-workers",
        type=positive_int,
        default=None,
        help="data-parallel training workers (default: --workers, but 1 for generation runs and "
        "--grad-capture step; 1 reproduces the local run exactly, more make their own run)",
    )
    e.add_argument(
        "--shard-examples",
        type=positive_int,
        default=None,
        help="examples per shard of a Ray extraction pass (default 2048)",
    )
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
        task=args.task,
        prompt_column=args.prompt_column,
        response_column=args.response_column,
        messages_column=args.messages_column,
        source_column=args.source_column,
    )
    targets = [t.strip() for t in args.lora_targets.split(",")] if args.lora_targets else None
    lora = args.lora if args.lora is not None else args.task == "generation"
    lr = args.lr if args.lr is not None else (5e-4 if lora else 5e-5)
    train = TrainConfig(
        epochs=args.epochs,
        lr=lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        seed=args.seed,
        lora=lora,
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
        grad_capture=args.grad_capture,
        grad_factor_dim=args.grad_factor_dim,
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


def check_compute_args(args) -> None:
    """Checks that need more than one flag, before any data is read or any model loaded."""
    spec = args.grad_checkpoints.strip().lower()
    if spec not in ("all", "last"):
        try:
            epochs = [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            epochs = []
        if not epochs or any(not 1 <= e <= args.epochs for e in epochs):
            raise UsageError(
                f"--grad-checkpoints must be 'all', 'last' or epochs between 1 and --epochs {args.epochs} "
                f"(e.g. '1,{args.epochs}'); got {args.grad_checkpoints!r}"
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


def make_compute(args, config, store, log):
    """The engine ``--engine`` names, over ``store``."""
    from prune_core.pipeline import Compute

    if args.engine == "local":
        return Compute(config, store, show_progress=not args.quiet, log=log)
    from prune_core.distributed.cluster import ClusterError
    from prune_core.distributed.engine import RayCompute, RayOptions
    from prune_core.distributed.plan import DEFAULT_SHARD_EXAMPLES

    options = RayOptions(
        address=args.ray_address,
        workers=args.workers,
        train_workers=args.train_workers,
        shard_examples=args.shard_examples or DEFAULT_SHARD_EXAMPLES,
    )
    try:
        return RayCompute(config, store, options, show_progress=not args.quiet, log=log)
    except ClusterError as err:
        raise UsageError(str(err)) from None


def cmd_compute(args) -> int:
    from prune_core.reference import curve_lines, reference_curve
    from prune_core.store import RunStore

    check_compute_args(args)
    config = compute_config_from_args(args)
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    # Several seeds: the same data sample (DatasetSpec keeps --seed), one training run per seed.
    seeds = parse_seeds(args.seeds)
    configs = [replace(config, train=replace(config.train, seed=s)) for s in seeds] if seeds else [config]
    if args.engine == "local" and (
        args.ray_address or args.workers or args.train_workers or args.shard_examples
    ):
        raise UsageError("--ray-address, --workers, --train-workers and --shard-examples need --engine ray")
    for one in configs:
        run = make_compute(args, one, RunStore(args.runs_dir), log).run()
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
    p = sub.add_parser(
        "info",
        help="summarise a run and check its files: dataset, model, stages, arrays, damage",
        description="Summarise a run and report damaged files (missing or wrong size) and interrupted "
        "stages, each with the command that repairs it. --verify also compares every file's sha256 "
        "with the manifest: it reads the whole run (slow on large runs) and exits 1 if anything is "
        "damaged.",
    )
    add_common(p)
    p.add_argument("run", help="run id (folder name in the run store) or path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--verify",
        action="store_true",
        help="checksum every file (reads the whole run); exit 1 when the run is damaged",
    )
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from prune_core.reference import curve_lines, reference_curve
    from prune_core.select.graph import graphs_summary
    from prune_core.store import RunStore
    from prune_core.store.verify import check_run, stage_states

    run = RunStore(args.runs_dir).open(args.run)
    health = check_run(run, checksum=args.verify)
    summary = run.describe()
    summary["reference"] = reference_curve(run)
    states = stage_states(run)
    for name, stage in summary["stages"].items():
        stage["status"] = states.get(name, stage.get("status"))
    summary["health"] = health.to_dict()
    code = 1 if args.verify and not health.ok else 0
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return code
    ds = summary["dataset"]
    print(f"run      {summary['run_id']}  ({summary['path']})")
    groups = "sources" if run.task == "generation" else "labels"  # a generation run balances sources
    print(f"dataset  sizes {ds.get('sizes')}  {groups} {ds.get('label_names')}  task {run.task}")
    print(f"model    {summary['model'].get('name')}  {summary['model'].get('parameters')} parameters")
    for line in curve_lines(summary["reference"]):
        print(f"model    {line}")
    for name, stage in summary["stages"].items():
        seconds = stage.get("seconds")
        took = "" if seconds is None else f"{seconds:.1f} s"
        print(f"stage    {name:<28} {stage.get('status'):<11} {took}")
        graphs = graphs_summary(run.stage_record(name).extra.get("knn_graphs", []))
        if graphs:  # a selection built on approximate neighbour graphs
            print(f"         {graphs}")
    for array in summary["arrays"]:
        print(f"array    {array['key']:<44} {str(tuple(array['shape'])):<16} {array['dtype']}")
    checked = "sizes and sha256 checksums" if args.verify else "sizes only (--verify adds checksums)"
    if health.ok:
        print(f"health   ok: {health.files} files, {checked}")
    for problem in health.problems:
        print(f"{problem.kind:<8} {problem.what}: {problem.reason}")
        print(f"         repair: {problem.command}")
    if health.problems:
        print(f"health   {len(health.problems)} problem(s) in {health.files} files ({checked})")
    return code


def add_repair(sub) -> None:
    p = sub.add_parser(
        "repair",
        help="rebuild a damaged manifest.json from the files on disk",
        description="When a run's manifest.json is damaged, rebuild it from the run's files: records "
        "that can still be read from the damaged manifest keep their sha256 and are checked against the "
        "files; files that fail it are left out (their stage recomputes). The damaged manifest is kept "
        "beside it. With an intact manifest, report what `info --verify` reports.",
    )
    add_common(p)
    p.add_argument("run", help="run id (folder name in the run store) or path")
    p.set_defaults(func=cmd_repair)


def cmd_repair(args) -> int:
    from prune_core.store import RunStore
    from prune_core.store.repair import locate_run, rebuild_manifest

    path = locate_run(RunStore(args.runs_dir), args.run)
    report = rebuild_manifest(path)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1
