"""How well the reference model itself did: validation accuracy and macro-F1 at every checkpoint.

Every pruning score is read off this model, so a run whose model never learned (validation accuracy at
chance after the last epoch) scores examples by noise; ``compute`` prints the curve at its end, ``info``
and the run overview show it. The numbers come from the validation logits each ``represent:<checkpoint>``
stage stores (eval mode, the same pass the representations come from), recorded in that stage's manifest
entry and recomputed from the logits for runs written before it was recorded.
"""

from __future__ import annotations

import numpy as np

from prune_core.evaluate.metrics import classification_metrics
from prune_core.store import Run, StoreError, keys


def validation_scores(logits: np.ndarray, labels: np.ndarray, num_labels: int) -> dict[str, float]:
    """Accuracy, macro-F1 and mean cross-entropy of one checkpoint's validation logits."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    metrics = classification_metrics(labels, logits.argmax(axis=1), num_labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(labels)), labels].mean())
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "loss": round(loss, 4),
    }


def generation_validation_scores(losses: np.ndarray, tokens: np.ndarray) -> dict[str, float]:
    """Response-token loss and perplexity of one checkpoint (token-weighted over the validation set)."""
    losses = np.asarray(losses, dtype=np.float64)
    tokens = np.asarray(tokens, dtype=np.float64)
    loss = float((losses * tokens).sum() / max(tokens.sum(), 1.0))
    return {"loss": round(loss, 4), "perplexity": round(float(np.exp(loss)), 4)}


def _checkpoints(run: Run) -> list[tuple[str, int]]:
    """Checkpoints with validation outputs (or a stage that recorded scores), in training order."""
    names = {keys.parse(key).checkpoint for key in run.keys(keys.prefix(keys.OUTPUTS, "validation"))}
    names |= {k.split(":", 1)[1] for k in run.stages() if k.startswith("represent:")}
    found = []
    for name in names:
        if name == "pretrained":
            found.append((name, 0))
        elif name.startswith("epoch-") and name[6:].isdigit():
            found.append((name, int(name[6:])))
    return sorted(found, key=lambda item: item[1])


def reference_curve(run: Run) -> list[dict]:
    """One row per checkpoint that has validation outputs: checkpoint, epoch, accuracy, macro_f1, loss,
    and the mean training loss of that epoch (from the training history)."""
    stages = {name: record.to_dict() for name, record in run.stages().items()}
    history = {int(h["epoch"]): h for h in stages.get("train", {}).get("history", []) if "epoch" in h}
    labels = None
    rows = []
    for checkpoint, epoch in _checkpoints(run):
        scores = stages.get(f"represent:{checkpoint}", {}).get("validation")
        key = keys.outputs("validation", checkpoint, "logits")
        if scores is None and run.has(key):
            try:
                if labels is None:
                    labels = run.examples("validation")["label"].to_numpy()
                scores = validation_scores(run.read_array(key), labels, len(run.label_names))
            except StoreError:
                scores = None
        if scores is None:
            continue
        train_loss = history.get(epoch, {}).get("mean_loss")
        rows.append(
            {
                "checkpoint": checkpoint,
                "epoch": epoch,
                **scores,
                "train_loss": None if train_loss is None else round(float(train_loss), 4),
            }
        )
    return rows


def curve_lines(curve: list[dict]) -> list[str]:
    """The curve as aligned text lines (the end of ``compute`` and ``info``)."""
    lines = []
    for row in curve:
        train = "" if row.get("train_loss") is None else f"  train loss {row['train_loss']:.3f}"
        if "accuracy" not in row:  # generation: response-token loss and perplexity
            lines.append(
                f"{row['checkpoint']:<11} validation loss {row['loss']:.3f}  perplexity "
                f"{row['perplexity']:.2f}{train}"
            )
            continue
        lines.append(
            f"{row['checkpoint']:<11} validation accuracy {row['accuracy']:.3f}  macro-F1 "
            f"{row['macro_f1']:.3f}  loss {row['loss']:.3f}{train}"
        )
    return lines
