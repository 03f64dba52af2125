"""`simulate`: Du et al.'s 2-D Gaussian-mixture experiment from the command line (the lab page's numbers).

By default it runs the paper's set-up and its four toy rules on every representation they accept
(the main figure and the appendix row); ``--selectors all`` runs the whole grid. ``--json`` prints the
settings, every selection (training-split positions and rows of the generated data), the Jaccard table
and the label-noise table, for scripts.
"""

from __future__ import annotations

import json

from prune_core.cli.common import UsageError, add_budget_option, one_budget

# Option -> LabConfig field. Options left out keep LabConfig's defaults (the paper's set-up); reading
# them here instead would import sklearn every time any subcommand's parser is built.
CONFIG_OPTIONS = {
    "generator": str,
    "n_samples": int,
    "blobs_per_class": int,
    "separation": float,
    "label_noise": float,
    "minority_share": float,
    "model": str,
    "epochs": int,
    "hidden_units": int,
    "seed": int,
}
HELP = {
    "generator": "make_classification (the paper's, default) or mixture (blobs on a circle)",
    "n_samples": "points generated before the 60/20/20 split (default 1000)",
    "blobs_per_class": "Gaussian blobs per label (default 2; make_classification allows 1 or 2)",
    "separation": "make_classification's class_sep, or the mixture's half distance between neighbouring "
    "blobs (default 1.0)",
    "label_noise": "make_classification's flip_y, or the mixture's label flip probability (default 0.01)",
    "minority_share": "share of label +1, in (0, 0.5] (default 0.5)",
    "model": "logistic (the paper's SGD model, default) or mlp (one tanh hidden layer)",
    "epochs": "training epochs (default 100)",
    "hidden_units": "MLP hidden width (default 16)",
    "seed": "one seed for data, split, training and selection (default 42)",
}


def add_simulate(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="Du et al.'s Gaussian-mixture experiment: selections and Jaccard table",
        description="Generate the 2-D toy data, train the reference model, and run selectors on the "
        "loss-trajectory, hidden-state and gradient representations. Defaults reproduce "
        "Du et al. (ACL 2025): make_classification(1000 points, random_state=42), a "
        "600/200/200 split, logistic SGD for 100 epochs, budget 0.3, K = 2.",
    )
    for field, kind in CONFIG_OPTIONS.items():
        p.add_argument("--" + field.replace("_", "-"), dest=field, type=kind, default=None, help=HELP[field])
    p.add_argument("--gradient-bias", action="store_true", help="append the bias term to the gradient")
    add_budget_option(p, default="0.3")
    p.add_argument("--clusters", type=int, default=2, help="K for the k-means based selectors (default 2)")
    p.add_argument("--balanced", action="store_true", help="label-balanced (stratified) selection")
    p.add_argument(
        "--selectors",
        default="paper",
        help="'paper' (the four toy rules, default), 'all', or comma-separated selector names",
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=cmd_simulate)


def _selectors(text: str) -> list[str]:
    from prune_core.simulate import PAPER_SELECTORS, SELECTORS

    if text == "paper":
        return list(PAPER_SELECTORS)
    if text == "all":
        return list(SELECTORS)
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in SELECTORS]
    if unknown or not names:
        raise UsageError(
            f"--selectors: unknown {', '.join(unknown) or '(empty)'}; expected 'paper', 'all' "
            f"or names from {', '.join(SELECTORS)}"
        )
    return names


def cmd_simulate(args) -> int:
    from prune_core.simulate import LabConfig, build_world, grid_cells, lab_report, select_grid

    budget = one_budget(args.budget, args.count)
    given = {field: getattr(args, field) for field in CONFIG_OPTIONS if getattr(args, field) is not None}
    config = LabConfig(**given, gradient_bias=args.gradient_bias)
    world = build_world(config)
    selections = select_grid(
        world,
        grid_cells(_selectors(args.selectors)),
        budget=budget,
        n_clusters=args.clusters,
        balanced=args.balanced,
    )
    report = lab_report(world, selections, budget=budget, n_clusters=args.clusters, balanced=args.balanced)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    _print_summary(report)
    return 0


def _print_summary(report: dict) -> None:
    sizes, model, sel = report["sizes"], report["model"], report["selection"]
    print(
        f"{report['config']['generator']}: {sizes['train']} train / {sizes['validation']} validation / "
        f"{sizes['test']} test; {len(report['flipped_train_positions'])} flipped labels in train"
    )
    print(
        f"{model['kind']} model: validation accuracy {model['validation_accuracy']:.3f}, "
        f"test accuracy {model['test_accuracy']:.3f}"
    )
    print(
        f"budget {sel['budget']} -> k = {sel['k']}, K = {sel['n_clusters']}"
        + (", label-balanced" if sel["balanced"] else "")
    )
    print(f"\n{'panel':<26} {'kept':>5} {'flipped kept':>13}")
    for row in report["noise"]:
        print(f"{row['panel']:<26} {row['kept']:>5} {row['flipped kept']:>13}")
    if report["jaccard"]:
        columns = list(next(iter(report["jaccard"].values())))
        print(
            f"\nJaccard between representations (chance for independent random subsets: "
            f"{report['jaccard_chance']:.3f})"
        )
        print(f"{'selector':<12} " + " ".join(f"{c:>20}" for c in columns))
        for name, row in report["jaccard"].items():
            print(
                f"{name:<12} "
                + " ".join(f"{'n/a' if row[c] is None else format(row[c], '.3f'):>20}" for c in columns)
            )
