"""The ``select`` stage: compute methods into the run store once, reuse them after.

Each method is its own stage (``select:<id>``) keyed by its parameters, the budgets, the selection rule
and the run's representation key, so re-running computes only what is missing or changed. A method that
fails is recorded on its stage and the others go on (``errors="record"``, see ``prune_core/store/stage.py``).
After any change the two tables every view reads are rebuilt: ``scores`` (uid + one column per score
method) and ``methods`` (what each method is, its status and cost).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from prune_core.methods.inputs import Representations
from prune_core.methods.registry import PRESETS, Method, get_method
from prune_core.methods.runner import DEFAULT_BUDGETS, VARIANTS, MethodResult, MethodRunner
from prune_core.select.execution import Execution
from prune_core.select.graph import graphs_summary, recording_graphs
from prune_core.store import Run, keys, stable_hash


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
        "run": run.stage_record(keys.TRAIN_STAGE).params_hash,
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
            keys.scores(method.id), result.scores, stage=stage, meta={**base, "direction": method.direction}
        )
    for variant in VARIANTS:
        sizes = [int(len(s)) for s in result.selections[variant]]
        run.write_array(
            keys.ranking(method.id, variant == "balanced"),
            result.rankings[variant].astype(np.int32),
            stage=stage,
            meta={**base, "variant": variant},
        )
        run.write_array(
            keys.selection(method.id, variant == "balanced"),
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
    execution: Execution | None = None,
) -> dict[str, dict]:
    """Compute (or reuse) every requested method; returns ``{id: status record}``.

    ``execution`` says where splitting selectors run their pieces (``select --engine ray``); it is not
    part of a stage's parameters, since the selections are the same wherever the pieces ran.
    """
    methods = [get_method(m) for m in (method_ids or list(PRESETS))]
    skipped = [m for m in methods if not m.applies_to(run.task)]
    for method in skipped:
        if method_ids:  # asked for by name: say why it is not run
            log(f"[select:{method.id}] not applicable to {run.task} runs: {method.not_applicable(run.task)}")
    methods = [m for m in methods if m.applies_to(run.task)]
    reps = Representations(run)
    runner = MethodRunner(reps, budgets, rule=rule, balance_mode=balance_mode, execution=execution)
    report = {}
    for method in methods:
        params = stage_params(method, budgets, rule, balance_mode, run)
        # One failing method must not lose the others: its failure is recorded, and the loop goes on.
        stage = run.stage(keys.select_stage(method.id), params, errors="record")
        if stage.done:
            report[method.id] = {"status": "cached", "seconds": stage.record.seconds}
            log(f"[{stage.name}] cached")
            continue
        with stage:
            with recording_graphs() as graphs:
                result = runner.run(method)
            save_result(run, result, stage.name, rule, balance_mode)
            if execution is not None and method.selector_info.splits:  # info shows where its pieces ran
                stage.report(engine=execution.name)
            summary = graphs_summary(graphs)
            if summary:  # an approximate neighbour graph: say how close to exact it was
                stage.report(knn_graphs=graphs)
                log(f"[{stage.name}] {summary}")
        if stage.error:
            report[method.id] = {"status": "failed", "error": stage.error}
            log(f"[{stage.name}] failed: {stage.exception}")
            continue
        report[method.id] = {"status": "done", "seconds": round(stage.seconds, 3)}
        log(f"[{stage.name}] done in {stage.seconds:.1f}s")
    write_summary(run, reps)
    return report


def write_summary(run: Run, reps: Representations | None = None) -> None:
    """Rebuild the ``scores`` table and the ``methods`` description from what is cached."""
    reps = reps or Representations(run)
    run.reload()
    columns = {"uid": reps.uids}
    described = {}
    for name, record in sorted(run.stages(keys.select_stage("")).items()):
        parsed = keys.parse_stage(name)
        if parsed.is_summary:
            continue
        method_id = parsed.method
        info = dict(record.params.get("method") or {"id": method_id})
        info.update(
            status=record.status,
            seconds=record.seconds,
            error=record.error,
            budgets=record.params.get("budgets"),
            rule=record.params.get("rule"),
        )
        described[method_id] = info
        if record.status == "done" and run.has(keys.scores(method_id)):
            columns[method_id] = np.asarray(run.read_array(keys.scores(method_id)), dtype=np.float64)
    run.write_table(
        keys.SCORE_TABLE,
        pd.DataFrame(columns),
        stage=keys.SELECT_SUMMARY,
        meta={"orientation": "higher = keep", "split": "train"},
    )
    run.write_json(keys.METHODS, described, stage=keys.SELECT_SUMMARY)
    run.update_manifest(select_summary={"methods": len(described), "hash": stable_hash(sorted(described))})
