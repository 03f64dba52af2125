"""How long a subset is fine-tuned in ``evaluate --mode finetune``: steps-matched (default) or epochs.

Why steps-matched: trained for the run's epoch count, a 10 % subset of a 2 000-example run gets about
20 optimizer steps and every subset, random included, ends as a one-class model, so the table cannot
tell methods apart. Data-pruning papers compare subsets at a matched compute budget (Paul et al. 2021,
NeurIPS; Zheng et al. 2023, ICLR train every coreset for the same number of iterations), so the
steps-matched schedule gives every subset as many optimizer steps as the full-data run, repeating epochs
over the subset (the last one cut short), with the learning-rate schedule spread over those steps.

Floor: never fewer than ``MIN_STEPS`` optimizer steps, for the full data too (so the ceiling and the
subsets stay matched): below 20 steps the 10 % warm-up is under two steps and the schedule is
degenerate. It binds only for runs smaller than 20 batches in all (e.g. 200 examples x 3 epochs at
batch 32 is 21 steps: not bound).
"""

from __future__ import annotations

from prune_core.train import TrainConfig, steps_per_epoch

SCHEDULES = ("steps", "epochs")
MIN_STEPS = 20


def full_data_steps(n_train: int, config: TrainConfig) -> int:
    """Optimizer steps of the full-data run: ceil(n / batch) per epoch times the epoch count."""
    return steps_per_epoch(n_train, config.batch_size) * config.epochs


def matched_steps(n_train: int, config: TrainConfig) -> int:
    """The step budget of every subset under the steps-matched schedule (full-data steps, floored)."""
    return max(full_data_steps(n_train, config), MIN_STEPS)


def check_schedule(schedule: str) -> str:
    if schedule not in SCHEDULES:
        raise ValueError(f"fine-tune schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    return schedule
