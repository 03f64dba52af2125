"""``evaluate``: train on each method's subset, score the held-out splits, cache every result in the run.

For every job (method x budget x plain/label-balanced x seed, plus the random band and the full data)
the runner finds the subset's training positions, builds the result's cache key and, unless the run
already holds a result under that key, trains and scores: a logistic-regression probe on frozen
pre-trained hidden states (``mode="fast"``) or a fresh fine-tune of the run's model with the run's
training config (``mode="finetune"``). Each result is one small JSON (``evaluation/<mode>/<method>/
<budget>-<variant>-seed<seed>``) written atomically as soon as it is known, so an interrupted evaluation
keeps what it finished and a re-run computes only what is missing. The ``evaluations`` table (one row
per stored result) is rebuilt from them for the app and the report.

The request is one stage (``evaluate:<mode>``) whose parameters include every job's cache key: a request
asked again with nothing changed is reused whole. A failure is recorded on the stage and raised
(``errors="raise"``, see ``prune_core/store/stage.py``); results stored before it are kept, since each is
valid under its own key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from prune_core.evaluate.metrics import classification_metrics
from prune_core.evaluate.modes import (
    EvaluationError,
    FinetuneEvaluation,
    GenerationEvaluation,
    ProbeEvaluation,
)
from prune_core.evaluate.plan import (
    BASELINES,
    VARIANTS,
    EvalJob,
    baseline_subset,
    plan_jobs,
    result_key,
    selection_hash,
)
from prune_core.evaluate.probe import ProbeConfig
from prune_core.evaluate.summary import metrics_for, result_rows
from prune_core.progress import StageProgress
from prune_core.results import MissingSelection, Results
from prune_core.store import Run, StoreError, keys, stable_hash
from prune_core.store.archive import ResultArchive

TABLE = keys.EVALUATIONS
RESULTS_PREFIX = keys.prefix(keys.EVALUATION)
DEFAULT_BUDGETS = (0.1, 0.3)


@dataclass
class EvaluationReport:
    """What one ``evaluate_run`` call did: the jobs it computed, those it found cached, and their rows."""

    jobs: list[EvalJob]
    computed: list[EvalJob] = field(default_factory=list)
    cached: list[EvalJob] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


# ---------------------------------------------------------------------------------------------- subsets
class SubsetSource:
    """Sorted training positions of each job's subset: cached selections for methods (an uncached budget is
    computed in memory), seeded draws for the baselines."""

    def __init__(self, run: Run):
        self.results = Results(run)
        self.labels = self.results.labels
        self.balance_mode = self._balance_mode(run)
        self._memo: dict[tuple, np.ndarray] = {}

    def positions(self, job: EvalJob) -> np.ndarray:
        if job.method in BASELINES:
            chosen = baseline_subset(job, self.labels, balance_mode=self.balance_mode)
        else:
            memo_key = (job.method, job.budget, job.balanced)
            if memo_key not in self._memo:
                self._memo[memo_key] = self._method_subset(job)
            chosen = self._memo[memo_key]
        if len(chosen) == 0:
            raise EvaluationError(f"{job.label}: the subset is empty; nothing to train on")
        # Sorted: the result depends on the set only (training shuffles it with the seed anyway).
        return np.sort(np.asarray(chosen, dtype=np.int64))

    @staticmethod
    def _balance_mode(run: Run) -> str:
        """How the run's methods balanced labels (``select --balance-mode``), so the band's balanced subsets
        follow the same quotas; stratified when no method says otherwise."""
        for key in run.keys(keys.prefix(keys.SELECTIONS)):
            if keys.parse(key).variant == keys.variant(balanced=True):
                return run.array_meta(key).get("balance_mode", "stratified")
        return "stratified"

    def _method_subset(self, job: EvalJob) -> np.ndarray:
        try:
            return self.results.selection(job.method, job.budget, job.balanced)
        except MissingSelection:
            from prune_core.export import selection_for_export

            return selection_for_export(self.results, job.method, job.budget, job.balanced, ranking=False)


def ensure_selected(run: Run, methods: list[str], log: Callable[[str], None]) -> None:
    """Select (and cache, at the default budgets) the methods the run has not computed yet."""
    from prune_core.methods.select_stage import select_methods

    done = Results(run).available()
    missing = [m for m in dict.fromkeys(methods) if m not in BASELINES and m not in done]
    if not missing:
        return
    log(f"[evaluate] selecting {', '.join(missing)} first (cached in the run for later)")
    report = select_methods(run, missing, log=log)
    failed = {m: r.get("error", "") for m, r in report.items() if r.get("status") == "failed"}
    if failed:
        detail = "; ".join(f"{m}: {e}" for m, e in failed.items())
        raise EvaluationError(
            f"run {run.id}: could not select {', '.join(failed)} before evaluating ({detail})"
        )
    run.reload()


# ---------------------------------------------------------------------------------------------- the run
def evaluate_run(
    run: Run,
    methods: list[str] | None = None,
    budgets=DEFAULT_BUDGETS,
    seeds=(0,),
    *,
    mode: str = "finetune",
    variants=VARIANTS,
    baselines: bool = True,
    probe: ProbeConfig | None = None,
    device: str = "auto",
    schedule: str = "steps",
    precision: str = "auto",
    rouge_sample: int = 0,
    archive: ResultArchive | None = None,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
) -> EvaluationReport:
    """Evaluate every job of the request that the run does not hold yet; returns what was done.

    ``methods=None`` means every method the run has selected. ``schedule`` is the fine-tune length:
    "steps" (every subset gets the full-data run's optimizer steps, ``schedule.py``) or "epochs". With an
    ``archive`` (``store/archive.py``) a job the run lacks is first looked up there under its exact cache
    key, and every result of the request is also kept there. Bad input (unknown method, budget outside
    (0, 1], a run without the stage a mode needs) raises before any training starts.
    """
    if methods is None:
        methods = Results(run).available()
        if not methods:
            raise EvaluationError(
                f"run {run.id} has no selected method to evaluate; pass methods or run "
                f"`prunescope select {run.id}` first"
            )
    jobs = plan_jobs(methods, budgets, seeds, mode, variants=variants, baselines=baselines)
    if run.task == "generation":
        evaluator = GenerationEvaluation(
            run, mode, device, precision, schedule=schedule, rouge_sample=rouge_sample
        )
    elif rouge_sample:
        raise EvaluationError("--rouge-sample scores generated responses: it needs a generation run")
    elif mode == "fast":
        evaluator = ProbeEvaluation(run, probe or ProbeConfig())
    else:
        evaluator = FinetuneEvaluation(run, device, precision, schedule=schedule)
    ensure_selected(run, [job.method for job in jobs], log)
    source = SubsetSource(run)
    uids = source.results.train["uid"].to_numpy()
    settings = {**evaluator.settings, "examples": run.file_info(keys.EXAMPLES).sha256}
    report = EvaluationReport(jobs)
    # Every job's full cache key (its subset's identity and the settings), before anything is trained.
    result_keys = {
        job: result_key(job, selection_hash(uids[source.positions(job)]), settings) for job in jobs
    }
    key_hashes = {job: stable_hash(key, 16) for job, key in result_keys.items()}
    stage = run.stage(
        keys.evaluate_stage(mode),
        {
            "methods": list(dict.fromkeys(j.method for j in jobs)),
            "budgets": sorted({j.budget for j in jobs}),
            "seeds": sorted({j.seed for j in jobs}),
            "variants": sorted({j.variant for j in jobs}),
            "settings": settings,
            "results": sorted(key_hashes.values()),
        },
        errors="raise",
        keep=lambda record: record.kind == "json",  # each result is valid under its own key
    )
    if archive is not None:
        imported = import_results(run, archive, jobs, key_hashes, stage.name)
        if imported:
            log(f"[{stage.name}] {imported} results imported from {archive.folder}")
    if stage.done and all(holds_result(run, job, key_hashes[job]) for job in jobs):
        report.cached = list(jobs)
        log(f"[{stage.name}] cached: {len(jobs)} results")
        report.table = _rows_of(refresh_table(run, log), jobs)
        return report
    with stage:
        try:
            # Fast jobs take milliseconds: one bar over jobs. Fine-tune jobs take minutes: one bar each.
            with StageProgress(
                run if mode == "fast" else None, stage.name, len(jobs), unit="job", show=show_progress
            ) as overall:
                for job in jobs:
                    if holds_result(run, job, key_hashes[job]):
                        report.cached.append(job)
                    else:
                        positions = source.positions(job)
                        record = _evaluate_one(run, job, positions, evaluator, source.labels, show_progress)
                        record = {**record, "key": result_keys[job], "key_hash": key_hashes[job]}
                        run.write_json(job.store_key, record, stage=stage.name)
                        if archive is not None:  # at once: a killed evaluation keeps it there too
                            archive.save(job.store_key, record)
                        report.computed.append(job)
                    overall(1)
        finally:
            table = refresh_table(run, log)
        stage.report(computed=len(report.computed), cached=len(report.cached))
    log(f"[{stage.name}] {len(report.computed)} computed, {len(report.cached)} cached")
    report.table = _rows_of(table, jobs)
    return report


def _evaluate_one(
    run: Run, job: EvalJob, positions: np.ndarray, evaluator, labels: np.ndarray, show_progress: bool
) -> dict:
    num_labels = len(run.label_names)
    started = time.perf_counter()
    if job.mode == "finetune" or run.task == "generation":  # minutes per job: a bar of its own
        with StageProgress(
            run, f"evaluate {job.label}", evaluator.work(len(positions)), show=show_progress
        ) as bar:
            predictions = evaluator.predict(positions, job.seed, bar)
    else:
        predictions = evaluator.predict(positions, job.seed, lambda _count: None)
    if getattr(evaluator, "direct_metrics", False):  # generation: response-token loss and perplexity
        metrics = predictions
    else:
        metrics = {
            split: classification_metrics(
                evaluator.frames[split]["label"].to_numpy(np.int64), predicted, num_labels
            )
            for split, predicted in predictions.items()
        }
    return {
        "job": job.to_dict(),
        "size": len(positions),
        "label_counts": np.bincount(labels[positions], minlength=num_labels).astype(int).tolist(),
        "metrics": metrics,
        "seconds": round(time.perf_counter() - started, 4),
        "steps": getattr(evaluator, "last_steps", None),  # optimizer steps (fine-tune mode)
        "device": str(getattr(evaluator, "device", "cpu")),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def import_results(
    run: Run,
    archive: ResultArchive,
    jobs: list[EvalJob],
    key_hashes: dict[EvalJob, str],
    stage_name: str,
) -> int:
    """Copy into the run each archived result it lacks that was computed under the job's exact key, and
    into the archive each result the run holds; returns how many were imported."""
    imported = 0
    for job in jobs:
        if holds_result(run, job, key_hashes[job]):
            archive.save(job.store_key, run.read_json(job.store_key))
            continue
        record = archive.find(job.store_key, key_hashes[job])
        # The hash of the record's own key too: its key_hash field alone could have been edited.
        if record is not None and stable_hash(record.get("key"), 16) == key_hashes[job]:
            run.write_json(job.store_key, record, stage=stage_name)
            imported += 1
    return imported


def holds_result(run: Run, job: EvalJob, key_hash: str) -> bool:
    """True when the run stores an intact result of ``job`` computed under this exact key."""
    if not run.has(job.store_key):
        return False
    try:
        return run.read_json(job.store_key).get("key_hash") == key_hash
    except StoreError:
        return False  # damaged: recompute it


def stored_results(run: Run, log: Callable[[str], None] = print) -> list[dict]:
    """Every intact stored result (a damaged one is reported and left for the next run to recompute)."""
    records = []
    for key in run.keys(RESULTS_PREFIX, kind="json"):
        try:
            records.append(run.read_json(key))
        except StoreError as err:
            log(f"[evaluate] skipping {key}: {err}")
    return records


def refresh_table(run: Run, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Rebuild the ``evaluations`` table from the stored results; rewritten only when they changed."""
    train_labels = run.examples("train")["label"].to_numpy(np.int64)
    full_counts = np.bincount(train_labels, minlength=len(run.label_names))
    table = result_rows(stored_results(run, log), run.label_names, full_counts, metrics=metrics_for(run.task))
    if run.has(TABLE) and run.file_info(TABLE).columns == list(table.columns):
        try:
            current = run.read_table(TABLE, columns=["key_hash"])["key_hash"]
            if sorted(current) == sorted(table["key_hash"]):
                return table
        except StoreError:
            pass  # damaged: rewrite it
    run.write_table(
        TABLE,
        table,
        stage=keys.EVALUATE_SUMMARY,
        meta={"splits": ["validation", "test"], "label_names": run.label_names},
    )
    return table


def evaluations(run: Run) -> pd.DataFrame:
    """The run's ``evaluations`` table (empty, with no columns, when nothing was evaluated)."""
    return Results(run).evaluations()


def _rows_of(table: pd.DataFrame, jobs: list[EvalJob]) -> pd.DataFrame:
    wanted = pd.DataFrame([{k: v for k, v in j.to_dict().items()} for j in jobs])
    if table.empty or wanted.empty:
        return table.iloc[:0]
    merged = table.merge(wanted, on=["mode", "method", "balanced", "budget", "seed"], how="inner")
    return merged.reset_index(drop=True)
