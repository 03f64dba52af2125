"""Evaluating a generation run's subsets: fine-tune a fresh causal LM on the subset, score held-out
response tokens.

The model starts from the run's pre-trained weights (LoRA adapters freshly initialised with the
evaluation seed when the run used LoRA) and trains with the run's own config through ``train_reference``
with the generation task, so the loss is the mean response-token cross-entropy, exactly as in the
reference fine-tune. The score of a split is its token-weighted response-token loss and the perplexity
exp(loss) (lower is better), the measure LESS (Xia et al. 2024, ICML) and S2L (Yang et al. 2024, NeurIPS)
report next to task metrics. Optionally (``rouge_sample``) the ROUGE-L F-measure (Lin 2004, "ROUGE: A
Package for Automatic Evaluation of Summaries", ACL workshop) of greedy generations on a seeded sample of
each split, scored by Google's ``rouge-score`` package (the reference re-implementation of ROUGE-1.5.5)
with its Porter stemmer.
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


def rouge_l(predictions: list[str], references: list[str]) -> float:
    """Mean ROUGE-L F-measure of ``predictions`` against ``references`` (rouge-score, with stemming)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError as err:
        raise ValueError("ROUGE-L needs the rouge-score package: pip install 'rouge-score==0.1.2'") from err
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]
    return float(np.mean(scores)) if scores else float("nan")


@torch.no_grad()
def greedy_responses(
    model, tokenizer, prompts: list[str], device, *, max_new_tokens: int, max_length: int
) -> list[str]:
    """Greedy continuations of each prompt (one at a time: no padding to get wrong), special tokens
    dropped, cut at the end token."""
    model.eval()
    out = []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"][:, -max_length:].to(device)
        generated = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        out.append(tokenizer.decode(generated[0, ids.shape[1] :], skip_special_tokens=True).strip())
    return out


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
    rouge_sample: int = 0,
) -> tuple[dict[str, dict[str, float]], int]:
    """Fine-tune a fresh ``model_name`` causal LM on ``train``; response-token scores of each frame and the
    optimizer steps taken (``max_steps``: the steps-matched schedule, else ``config.epochs``).
    ``rouge_sample`` > 0 adds ``rouge_l`` from greedy generations on that many examples of each frame
    (a sample seeded by the split name, so every subset is scored on the same prompts)."""
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
        if rouge_sample > 0:
            rows = np.random.default_rng(list(split.encode())).permutation(len(frame))[:rouge_sample]
            sample = frame.iloc[np.sort(rows)]
            references = sample["response"].tolist()
            longest = max(len(loaded.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in references)
            predictions = greedy_responses(
                model,
                loaded.tokenizer,
                sample["text"].tolist(),
                device,
                max_new_tokens=longest + 8,
                max_length=config.max_length,
            )
            scores[split]["rouge_l"] = rouge_l(predictions, references)
    return scores, state.step
