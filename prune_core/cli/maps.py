"""`maps`: cache 2-D maps of the representations for the embedding page."""

from __future__ import annotations

import sys

from prune_core.cli.common import add_common, non_negative_int


def add_maps(sub) -> None:
    p = sub.add_parser("maps", help="compute and cache 2-D maps (UMAP or PCA) of the representations")
    add_common(p)
    p.add_argument("run", help="run id or path")
    p.add_argument("--representations", help="comma-separated names (default: all the run has)")
    p.add_argument("--method", choices=["umap", "pca"], default="umap")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.set_defaults(func=cmd_maps)


def cmd_maps(args) -> int:
    from prune_core.maps import MapParams, compute_maps
    from prune_core.store import RunStore

    run = RunStore(args.runs_dir).open(args.run)
    names = [x.strip() for x in args.representations.split(",")] if args.representations else None
    with run.lock("maps"):
        report = compute_maps(
            run, names, MapParams(method=args.method, seed=args.seed), log=lambda m: print(m, file=sys.stderr)
        )
    failed = [k for k, v in report.items() if v.startswith("failed")]
    return 1 if failed else 0
