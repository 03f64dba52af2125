"""`analyze`: the dashboard's comparisons as numbers a script can read.

- ``--grid``: representation or selector? (``prune_core.analysis_grid``)
- ``--stability``: every method across training seeds (``prune_core.stability``)
- ``--compare OTHER``: the same methods on another run of the same data, matched by uid
- ``--sweep A,B``: Jaccard of two methods at every cached budget; ``--tv-sweep``: label balance vs budget
"""

from __future__ import annotations

import json

from prune_core.cli.common import UsageError, add_common, parse_budgets


def add_analyze(sub) -> None:
    p = sub.add_parser(
        "analyze",
        help="representation-vs-selector grid, seed stability, cross-run and budget sweeps",
        description="Compare a run's cached selections: which factor of the (selector x representation) grid "
        "moves the selection more, how stable each method is across training seeds, how two runs or two "
        "methods agree across budgets. Every number comes with the random-subset expectation.",
    )
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--grid", action="store_true", help="representation or selector: the grid verdict")
    p.add_argument(
        "--stability", action="store_true", help="each method across runs that differ only in seed"
    )
    p.add_argument(
        "--seed-runs",
        default=None,
        help="comma-separated run ids to compare with RUN for --stability (default: every run of the store "
        "that differs from RUN only in the training seed)",
    )
    p.add_argument("--compare", metavar="OTHER_RUN", help="per method, Jaccard with OTHER_RUN's subsets")
    p.add_argument("--sweep", metavar="A,B", help="Jaccard of methods A and B at every cached budget")
    p.add_argument("--tv-sweep", action="store_true", help="label-balance TV distance vs budget per method")
    p.add_argument("--budget", default="0.3", help="fraction in (0, 1] or a count (default 0.3)")
    p.add_argument("--methods", help="comma-separated method ids (default: every method computed)")
    p.add_argument("--balanced", action="store_true", help="the label-balanced subsets")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_analyze)


def _methods(text: str | None) -> list[str] | None:
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def analyze_report(args) -> dict:
    """The requested analyses of one run as one JSON-ready dict (what ``--json`` prints)."""
    from prune_core.agreement import strict_json
    from prune_core.analysis_grid import grid_report
    from prune_core.results import Results
    from prune_core.stability import cross_run, seed_siblings, seed_stability
    from prune_core.sweeps import jaccard_sweep, tv_sweep

    if not (args.grid or args.stability or args.compare or args.sweep or args.tv_sweep):
        raise UsageError(
            "analyze: choose at least one of --grid, --stability, --compare, --sweep, --tv-sweep"
        )
    from prune_core.store import RunStore

    store = RunStore(args.runs_dir)
    run = store.open(args.run)
    results = Results(run)
    budget = parse_budgets(args.budget)[0]
    methods = _methods(args.methods)
    report: dict = {"run": run.id}
    if args.grid:
        report["grid"] = grid_report(results, budget, args.balanced)
    if args.stability:
        if args.seed_runs:
            others = [store.open(r.strip()) for r in args.seed_runs.split(",") if r.strip()]
            runs = [run, *[o for o in others if o.id != run.id]]
        else:
            runs = seed_siblings(store, run)
        report["stability"] = seed_stability([Results(r) for r in runs], methods, args.balanced)
    if args.compare:
        report["compare"] = cross_run(
            results, Results(store.open(args.compare)), budget, methods, args.balanced
        )
    if args.sweep:
        pair = _methods(args.sweep) or []
        if len(pair) != 2:
            raise UsageError(
                f"--sweep takes two method ids separated by a comma, e.g. el2n,less; got {args.sweep!r}"
            )
        for method in pair:
            results.info(method)
        table = jaccard_sweep(results, *pair, balanced=args.balanced)
        report["sweep"] = {"methods": pair, "rows": table.to_dict(orient="records")}
    if args.tv_sweep:
        ids = methods or results.available()
        table = tv_sweep(results, ids, balanced=args.balanced)
        report["tv_sweep"] = {
            "budgets": table.index.tolist(),
            "tv": {m: table[m].tolist() for m in table.columns},
        }
    return strict_json(report)


def _f(value, digits: int) -> str:
    """A number for the plain output ("-" where undefined)."""
    return "-" if value is None else f"{value:.{digits}f}"


def _print_plain(report: dict) -> None:
    if "grid" in report:
        grid = report["grid"]
        print(f"grid at budget {grid['budget']} (k = {grid['k']} of {grid['n']}):")
        print(f"  {grid['sentence']}")
        for title, key in (("selector", "by_selector"), ("representation", "by_representation")):
            for name, entry in grid[key].items():
                spread = entry["spread"]
                print(
                    f"  {title:<14} {name:<12} mean J {_f(entry['mean_jaccard'], 3)}  "
                    f"(min {_f(spread['min'], 3)}, max {_f(spread['max'], 3)}; random {_f(entry['random_jaccard'], 3)})"
                )
    if "stability" in report:
        stab = report["stability"]
        print(f"seed stability over runs {', '.join(stab['runs'])} (seeds {stab['seeds']}):")
        for entry in stab["methods"]:
            rho = entry["spearman"]["mean"] if entry["spearman"] else None
            jac = ", ".join(
                f"{row['budget']:g}: {_f(row['jaccard']['mean'], 2)} (random {_f(row['random_jaccard'], 2)})"
                for row in entry["budgets"]
            )
            same = "  (same on every seed: does not read the trained model)" if entry.get("identical") else ""
            print(f"  {entry['method']:<18} spearman {_f(rho, 3)}  jaccard {jac}{same}")
    if "compare" in report:
        comp = report["compare"]
        print(
            f"{comp['runs'][0]} vs {comp['runs'][1]} at budget {comp['budget']} ({comp['shared_uids']} shared uids):"
        )
        for row in comp["methods"]:
            print(
                f"  {row['method']:<18} jaccard {_f(row['jaccard'], 3)}  (random {_f(row['random_jaccard'], 3)})"
            )
    if "sweep" in report:
        a, b = report["sweep"]["methods"]
        print(f"Jaccard of {a} and {b} by budget:")
        for row in report["sweep"]["rows"]:
            print(f"  {row['budget']:<6g} {_f(row['jaccard'], 3)}  (random {_f(row['random_jaccard'], 3)})")
    if "tv_sweep" in report:
        print("TV distance from the full label shares by budget:")
        for method, values in report["tv_sweep"]["tv"].items():
            print(f"  {method:<18} " + " ".join(f"{_f(v, 3)}" for v in values))


def cmd_analyze(args) -> int:
    report = analyze_report(args)
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
    else:
        _print_plain(report)
    return 0
