"""The fine-tune evaluation: train the run's model afresh on a subset and predict the held-out splits.

This is the question every reviewer of Du et al. (2025) asked of a pruning method: how well does a model
*trained on the subset* perform? The model starts from the same pre-trained weights with a fresh head
seeded by the evaluation seed, and trains with the run's own training config (epochs, learning-rate
schedule, batch size, LoRA) through ``train_reference`` — the exact loop of the reference fine-tune, so
the full data with seed s reproduces a plain fine-tune with seed s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from prune_core.models import apply_lora, load_classifier
from prune_core.represent.features import forward_features
from prune_core.tokenize import Encoded, encode
from prune_core.train import TrainConfig, train_reference

EVAL_BATCH_SIZE = 64


def encode_frame(tokenizer, frame: pd.DataFrame, max_length: int) -> Encoded:
    """Token ids of a frame of examples (``text`` and, for sentence pairs, ``text_pair``)."""
    pairs = frame["text_pair"].tolist() if "text_pair" in frame else None
    return encode(tokenizer, frame["text"].tolist(), pairs, max_length)


def finetune_predictions(
    model_name: str,
    num_labels: int,
    config: TrainConfig,
    train: pd.DataFrame,
    evaluate_on: dict[str, pd.DataFrame],
    device: torch.device,
    *,
    progress: Callable[[int], None] | None = None,
    precision: str = "auto",
) -> dict[str, np.ndarray]:
    """Fine-tune a fresh ``model_name`` classifier on ``train`` and predict the labels of each frame.

    ``config.seed`` seeds the new head, the data order and dropout. Returns int64 predictions per split;
    ``progress`` is called with the number of examples trained or predicted. ``precision`` is the
    training precision (``models.resolve_precision``); predictions are computed in fp32.
    """
    if len(train) == 0:
        raise ValueError(
            "finetune_predictions: expected at least one training example, found an empty subset"
        )
    loaded = load_classifier(model_name, num_labels, seed=config.seed)
    model = loaded.model
    if config.lora:
        model = apply_lora(
            model,
            r=config.lora_r,
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            target_modules=config.lora_targets,
        )
    encoded = encode_frame(loaded.tokenizer, train, config.max_length)
    train_reference(
        model,
        encoded,
        train["label"].to_numpy(np.int64),
        config,
        device,
        progress=progress,
        precision=precision,
    )
    predictions = {}
    for split, frame in evaluate_on.items():
        outputs = forward_features(
            model,
            encode_frame(loaded.tokenizer, frame, config.max_length),
            frame["label"].to_numpy(np.int64),
            device,
            batch_size=EVAL_BATCH_SIZE,
            progress=progress,
        )
        predictions[split] = outputs["logits"].argmax(axis=1).astype(np.int64)
    return predictions
