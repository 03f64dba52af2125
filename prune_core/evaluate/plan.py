"""What an evaluation request expands to: one job per (method, budget, balanced, seed, mode), its subset
for the two baselines, and the cache key that says when a stored result is still valid.

Two baselines frame every method's score (the seed paper's figures draw both):
- the random band (``random-band``): uniform random subsets at the same budget drawn with the
  *evaluation* seed — plain, and label-balanced with the same quotas as the run's methods — so its
  spread over seeds shows how much a subset's luck alone moves the score. (The ``random`` method keeps
  one fixed subset, seed 0, so its seeds only vary the training, and not even that in fast mode.)
- the full data (``full-data``): every training example, once per seed: the ceiling.

A cached result is reused only when its key matches: the job itself, the identity of the subset (a hash
of the sorted uids, so a re-selected method with a changed subset is re-evaluated) and every setting
that changes the numbers (the probe, or the model and training config), plus the data it was scored on.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np

from prune_core.methods.registry import get_method
from prune_core.select.balance import label_balanced
from prune_core.select.budget import BudgetError, budget_to_k
from prune_core.select.random import random_subset
from prune_core.store import keys, stable_hash

MODES = ("fast", "finetune")
VARIANTS = ("plain", "balanced")
RANDOM_BAND = "random-band"
FULL_DATA = "full-data"
BASELINES = (RANDOM_BAND, FULL_DATA)
FAST_BAND_DRAWS = 3  # random subsets behind the random band of a fast evaluation, at the least
RESULT_FORMAT = 1  # bump when a result's meaning changes, so older cached results are recomputed


@dataclass(frozen=True, order=True)
class EvalJob:
    """One evaluation: train on ``method``'s subset at ``budget`` with ``seed``, in ``mode``."""

    method: str
    budget: float
    balanced: bool
    seed: int
    mode: str

    @property
    def variant(self) -> str:
        return "balanced" if self.balanced else "plain"

    @property
    def store_key(self) -> str:
        """Where the result lives in the run store (one small JSON per job)."""
        return keys.evaluation(self.mode, self.method, self.budget, self.balanced, self.seed)

    @property
    def label(self) -> str:
        if self.method == FULL_DATA:
            return f"full data, seed {self.seed}"
        return f"{self.method} {self.budget * 100:.4g}% {self.variant}, seed {self.seed}"

    def to_dict(self) -> dict:
        return asdict(self)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"evaluate: expected mode 'fast' or 'finetune', found {mode!r}")
    return mode


def _is_fraction(budget: object) -> bool:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        return False
    if isinstance(budget, numbers.Integral) and budget != 1:
        return False  # a count such as 500 is not a share
    return 0 < float(budget) <= 1  # False for NaN too


def check_budgets(budgets) -> list[float]:
    """Fractions in (0, 1], ascending and without repeats (counts are refused here: a fraction means the
    same share of every dataset, which is what curves over budgets compare; the CLI's ``--counts`` turns a
    count into the fraction that keeps exactly that many). Rounded to 12 digits, so such a fraction still
    gives back its count."""
    checked = []
    for budget in budgets:
        if not _is_fraction(budget):
            raise BudgetError(
                f"evaluate: budget {budget!r} is outside (0, 1]; give the share of training "
                "examples to keep, e.g. 0.1 or 0.3"
            )
        checked.append(round(float(budget), 12))
    if not checked:
        raise BudgetError("evaluate: expected at least one budget in (0, 1], found none")
    return sorted(set(checked))


def check_seeds(seeds) -> list[int]:
    checked = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"evaluate: seeds must be whole numbers >= 0, found {seed!r}")
        checked.append(int(seed))
    if not checked:
        raise ValueError("evaluate: expected at least one seed, found none")
    return sorted(set(checked))


def check_methods(methods) -> list[str]:
    """Method ids in the order given; an unknown id raises ``UnknownMethod`` before any work starts."""
    checked = []
    for method in methods:
        if method not in BASELINES:
            get_method(method)
        checked.append(method)
    return list(dict.fromkeys(checked))


def plan_jobs(
    methods, budgets, seeds, mode: str, *, variants=VARIANTS, baselines: bool = True
) -> list[EvalJob]:
    """Every job of a request: each method x budget x variant x seed, then the random band at the same
    budgets and variants and the full data once per seed (unless ``baselines`` is False)."""
    mode = check_mode(mode)
    budgets, seeds = check_budgets(budgets), check_seeds(seeds)
    wanted = list(dict.fromkeys(variants))
    if not wanted or any(v not in VARIANTS for v in wanted):
        raise ValueError(
            f"evaluate: variants must be a non-empty subset of {VARIANTS}, found {list(variants)}"
        )
    names = check_methods(methods)
    if baselines:
        names += [b for b in BASELINES if b not in names]
    jobs = []
    for method in names:
        runs = job_seeds(method, mode, seeds)
        if method == FULL_DATA:
            jobs += [EvalJob(FULL_DATA, 1.0, False, seed, mode) for seed in runs]
            continue
        jobs += [
            EvalJob(method, budget, variant == "balanced", seed, mode)
            for budget in budgets
            for variant in wanted
            for seed in runs
        ]
    return list(dict.fromkeys(jobs))


def is_deterministic(method: str, mode: str) -> bool:
    """Whether a job's result cannot depend on its seed: in fast mode the probe (lbfgs logistic
    regression) is deterministic and a method's subset is fixed, so only the random band varies."""
    return mode == "fast" and method != RANDOM_BAND


def job_seeds(method: str, mode: str, seeds: list[int]) -> list[int]:
    """The seeds a method is evaluated with. Fast mode: one run of every deterministic series (more
    seeds would only repeat it and print a fake ``± 0.000``), and at least ``FAST_BAND_DRAWS`` random
    draws for the random band, the one series whose spread means something."""
    if not is_deterministic(method, mode):
        if mode == "fast" and len(seeds) < FAST_BAND_DRAWS:
            return [seeds[0] + i for i in range(FAST_BAND_DRAWS)]
        return list(seeds)
    return [seeds[0]]


def baseline_subset(job: EvalJob, labels: np.ndarray, *, balance_mode: str = "stratified") -> np.ndarray:
    """Training positions of a baseline job: the whole split, or a random subset drawn with the job's seed."""
    n = len(labels)
    if job.method == FULL_DATA:
        return np.arange(n, dtype=np.int64)
    if job.method != RANDOM_BAND:
        raise ValueError(f"baseline_subset: {job.method!r} is not a baseline ({', '.join(BASELINES)})")
    k = budget_to_k(job.budget, n)
    if not job.balanced:
        return random_subset(n, k, seed=job.seed)

    def draw(members, quota):
        return random_subset(len(members), quota, seed=job.seed)

    return label_balanced(draw, np.asarray(labels), k, mode=balance_mode, seed=job.seed)


def selection_hash(uids) -> str:
    """Identity of a subset: a hash of its sorted uids (the order a method keeps them in does not matter)."""
    return stable_hash(sorted(str(u) for u in uids), 16)


def result_key(job: EvalJob, selection: str, settings: dict) -> dict:
    """The full cache key of one result; ``settings`` holds what the mode's numbers depend on."""
    return {"format": RESULT_FORMAT, "job": job.to_dict(), "selection": selection, "settings": settings}
