"""Subset evaluation: how well does a model trained on a method's subset perform?

Du et al. (2025) compare pruning methods by fine-tuning on each subset and reporting accuracy and
macro-F1; this package does the same for a run, caching one result per (method, budget, balanced, seed,
mode). ``mode="finetune"`` fine-tunes the run's model afresh with the run's training config;
``mode="fast"`` fits a logistic-regression probe on frozen pre-trained hidden states for a quick look at
large grids. Random subsets at each budget (the baseline band) and the full data (the ceiling) are
evaluated beside the methods.

Modules: ``jobs`` (what a request expands to, cache keys), ``probe`` and ``finetune`` (the two ways to
train), ``modes`` (each bound to a run), ``metrics``, ``runner`` (the cached loop), ``summary`` (tables).
"""

from prune_core.evaluate.metrics import classification_metrics
from prune_core.evaluate.modes import EvaluationError
from prune_core.evaluate.plan import (
    BASELINES,
    FULL_DATA,
    MODES,
    RANDOM_BAND,
    VARIANTS,
    EvalJob,
    plan_jobs,
    result_key,
)
from prune_core.evaluate.probe import ProbeConfig, probe_predictions
from prune_core.evaluate.runner import (
    DEFAULT_BUDGETS,
    EvaluationReport,
    evaluate_run,
    evaluations,
    refresh_table,
)
from prune_core.evaluate.summary import aggregate, leaderboard, metric_column, series_name

__all__ = [
    "BASELINES",
    "DEFAULT_BUDGETS",
    "FULL_DATA",
    "MODES",
    "RANDOM_BAND",
    "VARIANTS",
    "EvalJob",
    "EvaluationError",
    "EvaluationReport",
    "ProbeConfig",
    "aggregate",
    "classification_metrics",
    "evaluate_run",
    "evaluations",
    "leaderboard",
    "metric_column",
    "plan_jobs",
    "probe_predictions",
    "refresh_table",
    "result_key",
    "series_name",
]
