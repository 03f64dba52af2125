"""The two ways to score a subset: a probe on frozen features (fast) or a fresh fine-tune (finetune).

Generation runs (prune_core/tasks) have no labels to probe: both modes fine-tune a fresh causal LM on the
subset and score held-out response tokens (:class:`GenerationEvaluation`); fast mode trains for the run's
epoch count over the subset (so a 10 % subset costs 10 % of the reference fine-tune), fine-tune mode for
the steps-matched budget.

Both expose the same three things to the runner: ``settings`` (what their numbers depend on, for the
cache key), ``work(size)`` (progress units of one job) and ``predict(positions, seed, progress)`` (the
predicted labels of every held-out split after training on the training rows ``positions``). Both check
on construction that the run holds what they need and name the stage that computes it otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from prune_core.evaluate.finetune import finetune_predictions
from prune_core.evaluate.probe import ProbeConfig, probe_predictions
from prune_core.evaluate.schedule import MIN_STEPS, check_schedule, matched_steps
from prune_core.evaluate.summary import SPLITS
from prune_core.store import Run, StoreError, keys


class EvaluationError(StoreError):
    """The run cannot be evaluated as asked; the message says what it lacks and what computes it."""


def _eval_splits(run: Run) -> dict[str, pd.DataFrame]:
    """The held-out splits the run has (validation, test), each in its stored row order."""
    if not run.has(keys.EXAMPLES):
        raise EvaluationError(_missing_stage_message(run, keys.EXAMPLES, keys.DATA_STAGE))
    examples = run.examples()
    splits = {s: examples[examples["split"] == s].reset_index(drop=True) for s in SPLITS}
    splits = {s: frame for s, frame in splits.items() if len(frame)}
    if not splits:
        raise EvaluationError(f"run {run.id} has no validation or test examples to score a subset on")
    return splits


def _missing_stage_message(run: Run, key: str, stage: str) -> str:
    status = run.stage_status(stage)
    return (
        f"run {run.id} lacks {key!r}, written by the stage {stage!r} (status: {status}); run "
        f"`prunescope compute --data {run.config.get('dataset', {}).get('train', 'PATH')} ...` "
        f"with this run's settings to compute it"
    )


class ProbeEvaluation:
    """Fast mode: logistic regression on the frozen pre-trained hidden states (``probe.py``)."""

    def __init__(self, run: Run, config: ProbeConfig):
        self.config = config
        self.frames = _eval_splits(run)
        self.features, self.sha = {}, {}
        train = run.examples("train")
        self.train_labels = train["label"].to_numpy(np.int64)
        for split, size in (("train", len(train)), *((s, len(f)) for s, f in self.frames.items())):
            key = keys.hidden(split, "pretrained", config.pooling)
            if not run.has(key):
                raise EvaluationError(_missing_stage_message(run, key, keys.represent_stage("pretrained")))
            array = np.asarray(run.read_array(key), dtype=np.float32)
            if array.shape[0] != size:
                raise EvaluationError(
                    f"run {run.id}: {key!r} has {array.shape[0]} rows but the {split} split has "
                    f"{size} examples; recompute the run"
                )
            self.features[split], self.sha[split] = array, run.file_info(key).sha256
        self.settings = {"probe": config.to_dict(), "features": self.sha}

    def work(self, size: int) -> int:
        return 1

    def predict(
        self, positions: np.ndarray, seed: int, progress: Callable[[int], None]
    ) -> dict[str, np.ndarray]:
        out = probe_predictions(
            self.features["train"][positions],
            self.train_labels[positions],
            {s: self.features[s] for s in self.frames},
            self.config,
            seed,
        )
        progress(1)  # one fit: the whole job
        return out


class GenerationEvaluation:
    """A generation run's subsets: a fresh causal LM fine-tuned on the subset, scored by response-token
    loss and perplexity of each held-out split (``generation.py``). ``direct_metrics``: ``predict`` returns
    the metrics of each split, not predicted labels."""

    direct_metrics = True

    def __init__(
        self,
        run: Run,
        mode: str,
        device: str,
        precision: str = "auto",
        schedule: str = "steps",
        rouge_sample: int = 0,
    ):
        from prune_core.models import choose_device, resolve_precision
        from prune_core.pipeline import model_identity
        from prune_core.train import TrainConfig

        config = run.config
        if "train" not in config or "model" not in config:
            raise EvaluationError(
                f"run {run.id} has no model or training config in its manifest (config.model, "
                "config.train); only runs made by `prunescope compute` can be evaluated"
            )
        self.train_config = TrainConfig(**config["train"])
        self.model = config["model"]
        self.device = choose_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.frames = _eval_splits(run)
        self.train = run.examples("train")
        self.schedule = "epochs" if mode == "fast" else check_schedule(schedule)
        self.max_steps = (
            matched_steps(len(self.train), self.train_config) if self.schedule == "steps" else None
        )
        base = {k: v for k, v in self.train_config.to_dict().items() if k != "seed"}
        self.settings = {
            "task": "generation",
            "model": model_identity(self.model),
            "train": base,
            "device": self.device.type,
            "precision": self.precision,
            "schedule": {"kind": self.schedule, "steps": self.max_steps, "floor": MIN_STEPS},
        }
        self.rouge_sample = int(rouge_sample)
        if self.rouge_sample:
            self.settings["rouge_sample"] = self.rouge_sample
        self.last_steps: int | None = None

    def work(self, size: int) -> int:
        if self.max_steps is None:
            trained = size * self.train_config.epochs
        else:
            batch = self.train_config.batch_size
            passes, rest = divmod(self.max_steps, -(-size // batch))
            trained = passes * size + min(rest * batch, size)
        return trained + sum(len(f) for f in self.frames.values())

    def predict(self, positions: np.ndarray, seed: int, progress: Callable[[int], None]) -> dict[str, dict]:
        from prune_core.evaluate.generation import finetune_response_scores
        from prune_core.reproducibility import deterministic

        config = replace(self.train_config, seed=seed)
        with deterministic(self.device):
            scores, self.last_steps = finetune_response_scores(
                self.model,
                config,
                self.train.iloc[positions],
                self.frames,
                self.device,
                progress=progress,
                precision=self.precision,
                max_steps=self.max_steps,
                rouge_sample=self.rouge_sample,
            )
        return scores


class FinetuneEvaluation:
    """Fine-tune mode: the run's model trained afresh on the subset with the run's training config.

    ``schedule="steps"`` (default) trains every subset for the full-data run's optimizer steps
    (``schedule.matched_steps``); ``"epochs"`` for the run's epoch count. ``last_steps`` holds the
    optimizer steps of the latest ``predict`` (recorded with each result).
    """

    def __init__(self, run: Run, device: str, precision: str = "auto", schedule: str = "steps"):
        from prune_core.models import choose_device, resolve_precision
        from prune_core.pipeline import model_identity
        from prune_core.train import TrainConfig

        config = run.config
        if "train" not in config or "model" not in config:
            raise EvaluationError(
                f"run {run.id} has no model or training config in its manifest (config.model, "
                "config.train); only runs made by `prunescope compute` can be "
                "evaluated in fine-tune mode (fast mode needs only hidden states)"
            )
        self.train_config = TrainConfig(**config["train"])
        self.model = config["model"]
        self.device = choose_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.frames = _eval_splits(run)
        self.train = run.examples("train")
        self.num_labels = len(run.label_names)
        base = {k: v for k, v in self.train_config.to_dict().items() if k != "seed"}  # the seed is the job's
        # A result trained on another device kind or in another precision is another result (never reused).
        self.settings = {
            "model": model_identity(self.model),
            "train": base,
            "device": self.device.type,
            "precision": self.precision,
        }
        self.schedule = check_schedule(schedule)
        self.max_steps = matched_steps(len(self.train), self.train_config) if schedule == "steps" else None
        if self.max_steps is not None:  # epoch-schedule keys stay as before, so their cached results hold
            self.settings["schedule"] = {"kind": "steps", "steps": self.max_steps, "floor": MIN_STEPS}
        self.last_steps: int | None = None

    def work(self, size: int) -> int:
        if self.max_steps is None:
            trained = size * self.train_config.epochs
        else:  # whole passes over the subset, then the cut-short last one
            batch = self.train_config.batch_size
            passes, rest = divmod(self.max_steps, -(-size // batch))
            trained = passes * size + min(rest * batch, size)
        return trained + sum(len(f) for f in self.frames.values())

    def predict(
        self, positions: np.ndarray, seed: int, progress: Callable[[int], None]
    ) -> dict[str, np.ndarray]:
        from prune_core.reproducibility import deterministic

        config = replace(self.train_config, seed=seed)
        with deterministic(self.device):
            predictions, self.last_steps = finetune_predictions(
                self.model,
                self.num_labels,
                config,
                self.train.iloc[positions],
                self.frames,
                self.device,
                progress=progress,
                precision=self.precision,
                max_steps=self.max_steps,
            )
        return predictions
