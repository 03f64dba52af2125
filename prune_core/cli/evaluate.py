"""`evaluate`: train on each method's subset (fine-tune, or a fast probe) and report accuracy and macro-F1."""

from __future__ import annotations

import sys

from prune_core.cli.common import UsageError, add_common, budget_list, non_negative_int, positive_float

# The accuracy-vs-budget curve of the evaluation page: 5 % to 50 %.
CURVE_BUDGETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="train on each method's subset and score validation and test",
        description="For each method, budget (plain and label-balanced) and seed, fine-tune the run's "
        "model afresh on the subset with the run's training config (or, with --mode fast, "
        "fit a logistic-regression probe on frozen pre-trained hidden states) and report "
        "accuracy and macro-F1; random subsets (the baseline band) and the full data (the "
        "ceiling) are evaluated beside them. Results are cached in the run: a re-run "
        "computes only what is missing.",
    )
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument(
        "--methods",
        help="comma-separated method ids (default: every method the run has selected); "
        "methods not selected yet are selected first",
    )
    p.add_argument(
        "--budgets",
        default=None,
        help="comma-separated fractions of the training examples (0.1,0.3 or 10%%,30%%; default 0.1,0.3), "
        "or 'curve' for the evaluation page's accuracy-vs-budget curve: "
        + ",".join(f"{b:g}" for b in CURVE_BUDGETS),
    )
    p.add_argument(
        "--counts",
        help="comma-separated numbers of training examples (500,1000), instead of or beside --budgets",
    )
    p.add_argument(
        "--seeds",
        default="0",
        help="comma-separated seeds, e.g. 0,1,2 (default 0): training seeds in finetune mode; in fast "
        "mode the probe is deterministic, so only the random band uses them (at least 3 draws)",
    )
    p.add_argument(
        "--mode",
        choices=["finetune", "fast"],
        default="finetune",
        help="finetune: the run's model and training config; fast: a logistic-regression probe on frozen "
        "pre-trained hidden states (seconds for a whole grid)",
    )
    p.add_argument(
        "--schedule",
        choices=["steps", "epochs"],
        default="steps",
        help="finetune mode: steps (default) trains every subset for as many optimizer steps as the "
        "full-data run, repeating epochs over the subset (at least 20 steps); epochs uses the run's "
        "epoch count, so small subsets get few updates",
    )
    p.add_argument(
        "--variants",
        default="plain,balanced",
        help="plain, balanced or both (default): the label-balanced subsets keep each label's share",
    )
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the random band and the full-data ceiling"
    )
    p.add_argument(
        "--probe-c", type=positive_float, default=1.0, help="fast mode: inverse L2 strength of the probe"
    )
    p.add_argument(
        "--probe-pooling",
        choices=["cls", "mean"],
        default="cls",
        help="fast mode: first-token or mean-pooled last hidden layer",
    )
    p.add_argument("--device", default="auto", help="fine-tune mode: auto, cpu, cuda, cuda:1, mps")
    p.add_argument(
        "--rouge-sample",
        type=non_negative_int,
        default=0,
        help="generation runs: also score ROUGE-L of greedy generations on this many validation and test "
        "examples (needs the rouge-score package; default 0: perplexity only)",
    )
    p.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="fine-tune mode: training precision (auto: bf16 on GPUs with native bf16); part of the cache key",
    )
    p.add_argument(
        "--archive",
        default=None,
        help="a folder that keeps every result outside the run as well (JSON files): results whose cache "
        "key matches are reused from it, e.g. by a re-computed run on another machine",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the requested results as JSON rows")
    p.set_defaults(func=cmd_evaluate)


def _items(text: str | None, option: str, convert):
    if text is None:
        return None
    try:
        values = [convert(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise UsageError(f"{option} expects comma-separated values; got {text!r} ({err})") from err
    if not values:
        raise UsageError(f"{option} is empty; give at least one value")
    return values


def cmd_evaluate(args) -> int:
    from prune_core.evaluate import ProbeConfig, evaluate_run
    from prune_core.evaluate.summary import (
        metric_column,
        metrics_for,
        paired_metrics,
        paired_text,
        paired_vs_random,
        report_frame,
        report_heading,
    )
    from prune_core.results import Results
    from prune_core.store import RunStore
    from prune_core.store.archive import ResultArchive

    # Flags are checked before the run is opened (budgets given as counts need the run's size).
    methods = _items(args.methods, "--methods", str)
    seeds = _items(args.seeds, "--seeds", int)
    variants = _items(args.variants, "--variants", str)
    unknown = [v for v in variants or [] if v not in ("plain", "balanced")]
    if unknown:
        raise UsageError(
            f"--variants: variants must be a non-empty subset of plain, balanced; found {', '.join(unknown)}"
        )
    curve = (args.budgets or "").strip() == "curve"
    if curve:  # the evaluation page's accuracy-vs-budget curve
        budgets = list(CURVE_BUDGETS)
    elif not args.counts:
        budgets = budget_list(args.budgets or "0.1,0.3", None, 0)
    run = RunStore(args.runs_dir).open(args.run)
    if args.counts and not curve:
        budgets = budget_list(args.budgets, args.counts, Results(run).n)
    probe = ProbeConfig(C=args.probe_c, pooling=args.probe_pooling)
    log = (lambda _m: None) if args.quiet or args.json else (lambda m: print(m, file=sys.stderr))
    with run.lock("evaluate"):
        report = evaluate_run(
            run,
            methods,
            budgets,
            seeds,
            mode=args.mode,
            variants=variants,
            baselines=not args.no_baselines,
            probe=probe,
            device=args.device,
            schedule=args.schedule,
            precision=args.precision,
            rouge_sample=args.rouge_sample,
            archive=ResultArchive(args.archive) if args.archive else None,
            show_progress=not args.quiet,
            log=log,
        )
    if args.json:
        print(report.table.to_json(orient="records", indent=1))
        return 0
    metric = "perplexity" if run.task == "generation" else "accuracy"  # generation: lower is better
    split = "test" if report.table[f"test_{metric}"].notna().any() else "validation"
    print(
        f"run {run.id}: {len(report.computed)} computed, {len(report.cached)} cached; "
        + report_heading(report.table, split)
    )
    print(report_frame(report.table, run.label_names, split).to_string(index=False))
    for paired_metric in paired_metrics(run.task):
        paired = paired_vs_random(report.table, metric_column(split, paired_metric))
        if not paired.empty:
            title = metrics_for(run.task)[paired_metric]
            print(f"\npaired with the random band of the same seed, budget and variant ({split} {title}):")
            print(paired_text(paired).to_string(index=False))
    return 0
