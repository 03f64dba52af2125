"""``select``: compute methods into the run store once, reuse them after.

Each method is its own stage (``select:<id>``) keyed by its parameters, the budgets, the selection rule
and the run's representation key, so re-running computes only what is missing or changed. After any
change the two tables every view reads are rebuilt: ``scores`` (uid + one column per score method) and
``methods`` (what each method is, its status and cost).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from prune_core.methods.inputs import Representations
from prune_core.methods.registry import PRESETS, Method, get_method
from prune_core.methods.runner import DEFAULT_BUDGETS, VARIANTS, MethodResult, MethodRunner
from prune_core.store import Run, stable_hash


def pack_membership(selections: list[np.ndarray], n: int) -> np.ndarray:
    """[B, ceil(n/8)] packed booleans: row b marks the examples kept at budget b."""
    rows = np.zeros((len(selections), n), dtype=bool)
    for b, chosen in enumerate(selections):
        rows[b, chosen] = True
    return np.packbits(rows, axis=1)


def unpack_membership(packed: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(np.asarray(packed), axis=1, count=n).astype(bool)


def stage_params(method: Method, budgets, rule: str, balance_mode: str, run: Run) -> dict:
    return {
        "method": method.describe(),
        "budgets": [float(b) for b in budgets],
        "rule": rule,
        "balance_mode": balance_mode,
        "run": run.manifest.get("stages", {}).get("train", {}).get("params_hash"),
    }


def save_result(run: Run, result: MethodResult, stage: str, rule: str, balance_mode: str) -> None:
    method, n = result.method, len(result.rankings["plain"])
    base = {
        "method": method.id,
        "kind": method.kind,
        "representation": method.representation,
        "selector": method.selector,
    }
    if result.scores is not None:
        run.write_array(
            f"scores/{method.id}", result.scores, stage=stage, meta={**base, "direction": method.direction}
        )
    for variant in VARIANTS:
        sizes = [int(len(s)) for s in result.selections[variant]]
        run.write_array(
            f"rankings/{method.id}/{variant}",
            result.rankings[variant].astype(np.int32),
            stage=stage,
            meta={**base, "variant": variant},
        )
        run.write_array(
            f"selections/{method.id}/{variant}",
            pack_membership(result.selections[variant], n),
            stage=stage,
            meta={
                **base,
                "variant": variant,
                "budgets": result.budgets,
                "sizes": sizes,
                "n": n,
                "rule": rule,
                "balance_mode": balance_mode,
            },
        )


def select_methods(
    run: Run,
    method_ids: list[str] | None = None,
    *,
    budgets=DEFAULT_BUDGETS,
    rule: str = "exact",
    balance_mode: str = "stratified",
    log: Callable[[str], None] = print,
) -> dict[str, dict]:
    """Compute (or reuse) every requested method; returns ``{id: status record}``."""
    methods = [get_method(m) for m in (method_ids or list(PRESETS))]
    reps = Representations(run)
    runner = MethodRunner(reps, budgets, rule=rule, balance_mode=balance_mode)
    report = {}
    for method in methods:
        stage = f"select:{method.id}"
        params = stage_params(method, budgets, rule, balance_mode, run)
        if run.stage_is_done(stage, params):
            report[method.id] = {"status": "cached", "seconds": run.stage(stage).get("seconds")}
            log(f"[{stage}] cached")
            continue
        stale = run.stage_files(stage)
        if stale:
            run.forget_files(stale)
        run.begin_stage(stage, params)
        started = time.perf_counter()
        try:
            result = runner.run(method)
            save_result(run, result, stage, rule, balance_mode)
        except Exception as err:  # one failing method must not lose the others
            run.fail_stage(stage, f"{type(err).__name__}: {err}")
            report[method.id] = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
            log(f"[{stage}] failed: {err}")
            continue
        seconds = time.perf_counter() - started
        run.finish_stage(stage, seconds)
        report[method.id] = {"status": "done", "seconds": round(seconds, 3)}
        log(f"[{stage}] done in {seconds:.1f}s")
    write_summary(run, reps)
    return report


def write_summary(run: Run, reps: Representations | None = None) -> None:
    """Rebuild the ``scores`` table and the ``methods`` description from what is cached."""
    reps = reps or Representations(run)
    run.reload()
    columns = {"uid": reps.uids}
    described = {}
    for name, record in sorted(run.manifest.get("stages", {}).items()):
        if not name.startswith("select:"):
            continue
        method_id = name.split(":", 1)[1]
        info = dict(record.get("params", {}).get("method") or {"id": method_id})
        info.update(
            status=record.get("status"),
            seconds=record.get("seconds"),
            error=record.get("error"),
            budgets=record.get("params", {}).get("budgets"),
            rule=record.get("params", {}).get("rule"),
        )
        described[method_id] = info
        if record.get("status") == "done" and run.has(f"scores/{method_id}"):
            columns[method_id] = np.asarray(run.read_array(f"scores/{method_id}"), dtype=np.float64)
    run.write_table(
        "scores",
        pd.DataFrame(columns),
        stage="select:summary",
        meta={"orientation": "higher = keep", "split": "train"},
    )
    run.write_json("methods", described, stage="select:summary")
    run.update_manifest(select_summary={"methods": len(described), "hash": stable_hash(sorted(described))})
