"""`select` (every method at every budget), `methods` (the registry) and `export` (chosen uids)."""

from __future__ import annotations

import json
import sys

from prune_core.cli.common import (
    UsageError,
    add_budget_list_options,
    add_budget_option,
    add_common,
    budget_list,
    one_budget,
)


def add_select(sub) -> None:
    p = sub.add_parser(
        "select",
        help="compute every method's scores and selections at every budget",
        description="Score and select with every preset (or --methods) at budgets 5%..100%, "
        "plain and label-balanced; cached in the run, reused on re-runs.",
    )
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument(
        "--methods",
        help="comma-separated method ids (presets or <selector>@<representation>); "
        "default: every preset; 'grid' adds every grid cell",
    )
    add_budget_list_options(p, "0.05,0.1,...,1.0")
    p.add_argument(
        "--rule",
        choices=["exact", "quantile"],
        default="exact",
        help="score methods: exactly k by score, or Du et al.'s quantile rule (may exceed k on ties)",
    )
    p.add_argument(
        "--balance-mode",
        choices=["stratified", "equal"],
        default="stratified",
        help="label-balanced variant: keep each label's share (stratified) or equal counts",
    )
    p.add_argument("--json", action="store_true", help="print the per-method report as JSON")
    e = p.add_argument_group(
        "engine",
        "where selectors that split run their pieces; the selections are the same either way "
        "(README: Running on a cluster)",
    )
    e.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: SemDeDup's per-cluster work and distributed GTP's "
        "first round as Ray tasks",
    )
    e.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to join (default: $RAY_ADDRESS, else a local cluster on this machine)",
    )
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


def select_execution(args, log):
    """Where splitting selectors run (``--engine``): None for this process, else their Ray execution."""
    if args.engine == "local":
        return None
    from prune_core.distributed.cluster import ClusterError, connect
    from prune_core.distributed.select import ray_execution

    try:
        ray = connect(args.ray_address)
    except ClusterError as err:
        raise UsageError(str(err)) from None
    cpus = int(ray.cluster_resources().get("CPU", 0))
    log(f"engine ray: SemDeDup clusters and GTP shards as tasks over {cpus} CPU(s)")
    return ray_execution(ray)


def cmd_select(args) -> int:
    from prune_core.methods.select_stage import select_methods
    from prune_core.results import Results
    from prune_core.store import RunStore

    log = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    if args.engine == "local" and args.ray_address:  # before the run is opened
        raise UsageError("--ray-address needs --engine ray")
    run = RunStore(args.runs_dir).open(args.run)
    methods = method_list(args.methods)
    budgets = budget_list(args.budgets, args.counts, Results(run).n if args.counts else 0)
    execution = select_execution(args, log)
    with run.lock("select"):
        report = select_methods(
            run,
            methods,
            budgets=budgets,
            rule=args.rule,
            balance_mode=args.balance_mode,
            log=log,
            execution=execution,
        )
    if args.json:
        print(json.dumps(report, indent=1))
    failed = {m: r for m, r in report.items() if r["status"] == "failed"}
    for method, record in failed.items():
        print(f"error: {method}: {record['error']}", file=sys.stderr)
    return 1 if failed else 0


def add_methods(sub) -> None:
    p = sub.add_parser("methods", help="list the method registry (presets, selectors, representations)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_methods)


def cmd_methods(args) -> int:
    from prune_core.methods import INPUTS, PRESETS, all_grid_cells, get_method
    from prune_core.methods.registry import task_applicability
    from prune_core.select import SELECTORS

    listing = {
        "presets": [m.describe() for m in PRESETS.values()],
        "selectors": {name: info.describe() for name, info in SELECTORS.items()},
        "representations": {
            k: {"family": v.family, "title": v.title, "has_validation": v.has_validation}
            for k, v in INPUTS.items()
            if v.is_representation
        },
        "other_inputs": {
            k: {"family": v.family, "title": v.title} for k, v in INPUTS.items() if not v.is_representation
        },
        "grid": all_grid_cells(),
        # every grid cell's task kinds and, where one does not apply, why (presets carry the same keys)
        "grid_tasks": {cell: task_applicability(get_method(cell)) for cell in all_grid_cells()},
    }
    if args.json:
        print(json.dumps(listing, indent=1))
        return 0
    for m in listing["presets"]:
        print(f"{m['id']:<18} {m['objective']:<11} {m['family']:<18} {m['selector']:<17} {m['title']}")
    print(
        f"\ngrid cells (<selector>@<representation>): {len(listing['grid'])}, e.g. {', '.join(listing['grid'][:4])}"
    )
    return 0


def add_export(sub) -> None:
    from prune_core.export import EXTENSIONS, FORMATS

    extensions = ", ".join(f"{ext} {fmt}" for fmt, ext in EXTENSIONS.items())
    p = sub.add_parser(
        "export",
        help="write the uids a method keeps, with a manifest beside them",
        description="Write a method's subset (or whole keep order) to a file and its manifest to "
        "<file>.manifest.json. The format follows the output's extension "
        f"({extensions}); an existing file is never replaced without --overwrite.",
    )
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--method", required=True)
    add_budget_option(p)
    p.add_argument("--balanced", action="store_true", help="the label-balanced subset")
    p.add_argument("--ranking", action="store_true", help="every uid in the method's keep order (curricula)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="file format (default: from the output's extension; a contradicting extension is an error)",
    )
    p.add_argument(
        "--output", required=True, help="output file (its manifest goes to <output>.manifest.json)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace the output (and its manifest) if they exist"
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from prune_core.export import build_export, check_output, write_export
    from prune_core.results import Results
    from prune_core.store import RunStore

    # Every argument is checked before the run is opened or anything is computed.
    if args.budget is not None and "," in args.budget:
        raise UsageError(
            f"--budget takes one value on export, got {args.budget!r}; export each budget separately"
        )
    one_budget(args.budget, args.count)  # a bad --budget / --count fails here, before the run is read
    if args.budget is None and args.count is None and not args.ranking:
        raise UsageError(
            "an export needs --budget (a fraction such as 0.3 or 30%), --count (a number of examples) "
            "or --ranking (the whole keep order)"
        )
    fmt, _ = check_output(args.output, args.format, overwrite=args.overwrite)
    results = Results(RunStore(args.runs_dir).open(args.run))
    budget = one_budget(args.budget, args.count, results.n if args.count else None)
    if budget is None and not args.ranking:
        raise UsageError(
            "an export needs --budget (a fraction such as 0.3 or 30%), --count (a number of examples) "
            "or --ranking (the whole keep order)"
        )
    export = build_export(results, args.method, budget, balanced=args.balanced, ranking=args.ranking)
    path, manifest = write_export(export, fmt, args.output, overwrite=args.overwrite)
    print(f"{len(export.frame)} uids -> {path} ({fmt}; manifest {manifest.name})")
    return 0
