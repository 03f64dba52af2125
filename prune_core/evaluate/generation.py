"""Evaluating a generation run's subsets: fine-tune a fresh causal LM on the subset, score held-out
response tokens.

The model starts from the run's pre-trained weights (LoRA adapters freshly initialised with the
evaluation seed when the run used LoRA) and trains with the run's own config through ``train_reference``
with the generation task, so the loss is the mean response-token cross-entropy, exactly as in the
reference fine-tune. The score of a split is its token-weighted response-token loss and the perplexity
exp(loss) (lower is better), the measure LESS (Xia et al. 2024, ICML) and S2L (Yang et al. 2024, NeurIPS)
report next to task metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from prune_core.models import apply_lora
from prune_core.represent.features import forward_features
from prune_core.tasks import GENERATION
from prune_core.train import TrainConfig, train_reference

EVAL_BATCH_SIZE = 32


def response_scores(losses: np.ndarray, tokens: np.ndarray) -> dict[str, float]:
    """Token-weighted mean response-token loss and its perplexity over one split's examples."""
    losses, tokens = np.asarray(losses, np.float64), np.asarray(tokens, np.float64)
    loss = float((losses * tokens).sum() / max(tokens.sum(), 1.0))
    return {"loss": loss, "perplexity": float(np.exp(loss)), "examples": int(len(losses))}


def finetune_response_scores(
    model_name: str,
    config: TrainConfig,
    train: pd.DataFrame,
    evaluate_on: dict[str, pd.DataFrame],
    device: torch.device,
    *,
    progress: Callable[[int], None] | None = None,
    precision: str = "auto",
    max_steps: int | None = None,
) -> tuple[dict[str, dict[str, float]], int]:
    """Fine-tune a fresh ``model_name`` causal LM on ``train``; response-token scores of each frame and the
    optimizer steps taken (``max_steps``: the steps-matched schedule, else ``config.epochs``)."""
    if len(train) == 0:
        raise ValueError("finetune_response_scores: expected at least one training example, found none")
    loaded = GENERATION.load_model(model_name, 0, seed=config.seed)
    model = loaded.model
    if config.lora:
        torch.manual_seed(config.seed)
        model = apply_lora(
            model,
            r=config.lora_r,
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            target_modules=config.lora_targets,
            task_type=GENERATION.lora_task_type,
        )
    quiet = lambda _m: None  # noqa: E731  (truncation notes were given by compute already)
    encoded = GENERATION.encode(loaded.tokenizer, train, config.max_length, log=quiet)
    state = train_reference(
        model,
        encoded,
        train["label"].to_numpy(np.int64),
        config,
        device,
        progress=progress,
        precision=precision,
        max_steps=max_steps,
        task=GENERATION,
    )
    scores = {}
    for split, frame in evaluate_on.items():
        outputs = forward_features(
            model,
            GENERATION.encode(loaded.tokenizer, frame, config.max_length, log=quiet),
            frame["label"].to_numpy(np.int64),
            device,
            batch_size=EVAL_BATCH_SIZE,
            progress=progress,
            task=GENERATION,
        )
        scores[split] = response_scores(outputs["loss"], outputs["tokens"])
    return scores, state.step
