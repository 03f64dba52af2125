"""``python -m prune_core``: one command line for compute, info, and the stages built on them.

Each subcommand lives in a small ``add_*`` / ``cmd_*`` pair; errors the user can fix (bad data, unknown
run, bad budget) print one clear line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from prune_core.paths import runs_dir


class UsageError(Exception):
    """A problem the user can fix from the command line."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from prune_core.data import DataError
    from prune_core.models import ModelError
    from prune_core.store import StoreError

    return (UsageError, DataError, ModelError, StoreError, ValueError, FileNotFoundError)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", default=None,
                        help=f"run store folder (default: $PRUNESCOPE_RUNS_DIR or {runs_dir()})")


# ---------------------------------------------------------------------------------------------- compute
def add_compute(sub) -> None:
    p = sub.add_parser("compute", help="fine-tune the reference model and compute every representation",
                       description="Load a dataset, fine-tune the model once while recording training dynamics, "
                                   "and store hidden states, losses and projected per-example gradients.")
    add_common(p)
    d = p.add_argument_group("dataset")
    d.add_argument("--data", required=True,
                   help="training file (.csv/.tsv/.jsonl/.parquet), a folder with train/validation/test files, "
                        "or a Hugging Face dataset as hf:<id>[:<config>]")
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
    m.add_argument("--model", default="minilm",
                   help="hub id or local path of a sequence classifier (default: the packaged MiniLM-L6)")
    m.add_argument("--epochs", type=int, default=3)
    m.add_argument("--lr", type=float, default=None, help="peak learning rate (default 5e-5; 5e-4 with --lora)")
    m.add_argument("--batch-size", type=int, default=32)
    m.add_argument("--max-length", type=int, default=128)
    m.add_argument("--warmup-ratio", type=float, default=0.1)
    m.add_argument("--weight-decay", type=float, default=0.0)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--lora", action="store_true", help="train LoRA adapters (peft) instead of all weights")
    m.add_argument("--lora-r", type=int, default=8)
    m.add_argument("--lora-alpha", type=int, default=16)
    m.add_argument("--lora-dropout", type=float, default=0.1)
    m.add_argument("--lora-targets", default=None, help="comma-separated module names (default: peft's choice)")
    r = p.add_argument_group("representations")
    r.add_argument("--proj-dim", type=int, default=1024, help="dimension of projected gradients")
    r.add_argument("--proj-seed", type=int, default=0)
    r.add_argument("--projector", choices=["auto", "dense", "sparse"], default="auto")
    r.add_argument("--grad-scope", choices=["auto", "trainable", "top", "head"], default="auto",
                   help="parameters of the per-example gradients (auto: LoRA adapters, else last block + head)")
    r.add_argument("--grad-checkpoints", default="last",
                   help="epochs whose checkpoints get gradient features: all, last, or e.g. 1,3")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_compute)


def compute_config_from_args(args):
    from prune_core.data import DatasetSpec
    from prune_core.pipeline import ComputeConfig, RepresentConfig
    from prune_core.train import TrainConfig

    dataset = DatasetSpec(train=args.data, validation=args.validation, test=args.test,
                          text_column=args.text_column, text_pair_column=args.text_pair_column,
                          label_column=args.label_column, id_column=args.id_column, limit=args.limit,
                          limit_validation=args.limit_validation, limit_test=args.limit_test,
                          validation_fraction=args.validation_fraction, seed=args.seed)
    targets = [t.strip() for t in args.lora_targets.split(",")] if args.lora_targets else None
    lr = args.lr if args.lr is not None else (5e-4 if args.lora else 5e-5)
    train = TrainConfig(epochs=args.epochs, lr=lr, batch_size=args.batch_size, max_length=args.max_length,
                        warmup_ratio=args.warmup_ratio, weight_decay=args.weight_decay, seed=args.seed,
                        lora=args.lora, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
                        lora_dropout=args.lora_dropout, lora_targets=targets)
    represent = RepresentConfig(proj_dim=args.proj_dim, proj_seed=args.proj_seed, projector=args.projector,
                                grad_scope=args.grad_scope, grad_checkpoints=args.grad_checkpoints)
    return ComputeConfig(dataset=dataset, model=args.model, train=train, represent=represent, device=args.device)


def cmd_compute(args) -> int:
    from prune_core.pipeline import Compute
    from prune_core.store import RunStore

    config = compute_config_from_args(args)
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    run = Compute(config, RunStore(args.runs_dir), show_progress=not args.quiet, log=log).run()
    print(run.path)
    return 0


# ---------------------------------------------------------------------------------------------- info
def add_info(sub) -> None:
    p = sub.add_parser("info", help="summarise a run: dataset, model, stages, stored arrays")
    add_common(p)
    p.add_argument("run", help="run id (folder name in the run store) or path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from prune_core.store import RunStore

    summary = RunStore(args.runs_dir).open(args.run).describe()
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return 0
    ds = summary["dataset"]
    print(f"run      {summary['run_id']}  ({summary['path']})")
    print(f"dataset  sizes {ds.get('sizes')}  labels {ds.get('label_names')}")
    print(f"model    {summary['model'].get('name')}  {summary['model'].get('parameters')} parameters")
    for name, stage in summary["stages"].items():
        print(f"stage    {name:<28} {stage.get('status'):<8} {stage.get('seconds', '')}")
    for array in summary["arrays"]:
        print(f"array    {array['key']:<44} {str(tuple(array['shape'])):<16} {array['dtype']}")
    return 0


# ---------------------------------------------------------------------------------------------- select
def parse_budgets(text: str | None):
    from prune_core.methods.runner import DEFAULT_BUDGETS

    if not text:
        return DEFAULT_BUDGETS
    try:
        values = [float(x) if "." in x or "e" in x.lower() else int(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise UsageError(f"--budgets must be comma-separated fractions in (0, 1] or counts; got {text!r}") from err
    for value in values:
        if (isinstance(value, float) and not 0 < value <= 1) or (isinstance(value, int) and value < 1):
            raise UsageError(f"budget {value} is outside (0, 1]; give a fraction in (0, 1] or a count >= 1")
    return values


def add_select(sub) -> None:
    p = sub.add_parser("select", help="compute every method's scores and selections at every budget",
                       description="Score and select with every preset (or --methods) at budgets 5%..100%, "
                                   "plain and label-balanced; cached in the run, reused on re-runs.")
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--methods", help="comma-separated method ids (presets or <selector>@<representation>); "
                                     "default: every preset; 'grid' adds every grid cell")
    p.add_argument("--budgets", help="comma-separated fractions (0.1,0.3) or counts (500); default 0.05..1.0")
    p.add_argument("--rule", choices=["exact", "quantile"], default="exact",
                   help="score methods: exactly k by score, or Du et al.'s quantile rule (may exceed k on ties)")
    p.add_argument("--balance-mode", choices=["stratified", "equal"], default="stratified",
                   help="label-balanced variant: keep each label's share (stratified) or equal counts")
    p.add_argument("--json", action="store_true", help="print the per-method report as JSON")
    p.set_defaults(func=cmd_select)


def method_list(text: str | None) -> list[str] | None:
    from prune_core.methods import PRESETS, all_grid_cells, get_method

    if not text:
        return None
    ids = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        if item == "grid":
            ids += list(PRESETS) + all_grid_cells()
        else:
            get_method(item)  # unknown ids fail before any work starts
            ids.append(item)
    return list(dict.fromkeys(ids))


def cmd_select(args) -> int:
    from prune_core.methods.cache import select_methods
    from prune_core.store import RunStore

    run = RunStore(args.runs_dir).open(args.run)
    methods, budgets = method_list(args.methods), parse_budgets(args.budgets)
    log = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    with run.lock("select"):
        report = select_methods(run, methods, budgets=budgets, rule=args.rule, balance_mode=args.balance_mode,
                                log=log)
    if args.json:
        print(json.dumps(report, indent=1))
    failed = {m: r for m, r in report.items() if r["status"] == "failed"}
    for method, record in failed.items():
        print(f"error: {method}: {record['error']}", file=sys.stderr)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------- methods
def add_methods(sub) -> None:
    p = sub.add_parser("methods", help="list the method registry (presets, selectors, representations)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_methods)


def cmd_methods(args) -> int:
    from prune_core.methods import GRID_SELECTORS, PRESETS, REPRESENTATIONS, all_grid_cells

    listing = {"presets": [m.describe() for m in PRESETS.values()],
               "selectors": {name: {"objective": v[0], "kind": v[1], "needs_validation": v[2]}
                             for name, v in GRID_SELECTORS.items()},
               "representations": {k: {"family": v.family, "title": v.title, "has_validation": v.has_validation}
                                   for k, v in REPRESENTATIONS.items()},
               "grid": all_grid_cells()}
    if args.json:
        print(json.dumps(listing, indent=1))
        return 0
    for m in listing["presets"]:
        print(f"{m['id']:<18} {m['objective']:<11} {m['family']:<18} {m['selector']:<17} {m['title']}")
    print(f"\ngrid cells (<selector>@<representation>): {len(listing['grid'])}, e.g. {', '.join(listing['grid'][:4])}")
    return 0


# ---------------------------------------------------------------------------------------------- export
def add_export(sub) -> None:
    p = sub.add_parser("export", help="write the uids a method keeps, with a manifest beside them")
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--method", required=True)
    p.add_argument("--budget", help="fraction in (0, 1] or a count of examples")
    p.add_argument("--balanced", action="store_true", help="the label-balanced subset")
    p.add_argument("--ranking", action="store_true", help="every uid in the method's keep order (curricula)")
    p.add_argument("--format", choices=["csv", "json", "txt", "jsonl"], default="txt")
    p.add_argument("--output", required=True, help="output file (its manifest goes beside it)")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from prune_core.export import build_export, write_export
    from prune_core.results import Results
    from prune_core.store import RunStore

    budget = None
    if args.budget is not None:
        budget = parse_budgets(args.budget)[0]
    results = Results(RunStore(args.runs_dir).open(args.run))
    export = build_export(results, args.method, budget, balanced=args.balanced, ranking=args.ranking)
    path, manifest = write_export(export, args.format, args.output)
    print(f"{len(export.frame)} uids -> {path} (manifest {manifest.name})")
    return 0


# ---------------------------------------------------------------------------------------------- maps
def add_maps(sub) -> None:
    p = sub.add_parser("maps", help="compute and cache 2-D maps (UMAP or PCA) of the representations")
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--representations", help="comma-separated names (default: all the run has)")
    p.add_argument("--method", choices=["umap", "pca"], default="umap")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_maps)


def cmd_maps(args) -> int:
    from prune_core.maps import MapParams, compute_maps
    from prune_core.store import RunStore

    run = RunStore(args.runs_dir).open(args.run)
    names = [x.strip() for x in args.representations.split(",")] if args.representations else None
    with run.lock("maps"):
        report = compute_maps(run, names, MapParams(method=args.method, seed=args.seed),
                              log=lambda m: print(m, file=sys.stderr))
    failed = [k for k, v in report.items() if v.startswith("failed")]
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prune_core",
                                     description="PruneScope: compute, compare and export data-pruning methods.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


COMMANDS = [add_compute, add_info, add_select, add_methods, add_export, add_maps]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except _user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept; run the same command again to resume", file=sys.stderr)
        return 130
