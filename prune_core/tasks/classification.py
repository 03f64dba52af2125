"""Sequence classification: a text (or text pair) and a label; cross-entropy on the class logits."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from prune_core.models import classification_head, load_classifier
from prune_core.tasks.base import Task
from prune_core.tokenize import collate, encode


def pool(hidden: torch.Tensor, mask: torch.Tensor, decoder_only: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """First-token (last real token for decoder-only models) and mean pooling of [B, L, H] states."""
    if decoder_only:
        last = mask.sum(dim=1) - 1
        first = hidden[torch.arange(hidden.shape[0]), last]
    else:
        first = hidden[:, 0]
    weights = mask[:, :, None].to(hidden.dtype)
    mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
    return first, mean


class Classification(Task):
    name = "classification"
    lora_task_type = "SEQ_CLS"
    dynamics_fields = ("p_gold", "loss", "margin", "prob_margin", "correct")
    has_class_logits = True

    def load_model(self, name, num_labels, *, seed=0):
        return load_classifier(name, num_labels, seed=seed)

    def encode(self, tokenizer, frame, max_length, log=print, source=None):
        pairs = frame["text_pair"].tolist() if "text_pair" in frame else None
        return encode(tokenizer, frame["text"].tolist(), pairs, max_length)

    def batch(self, encoded, labels, indices, device):
        targets = torch.as_tensor(np.asarray(labels)[indices], dtype=torch.long, device=device)
        return collate(encoded, indices, device), targets

    def per_example_loss(self, logits, targets):
        return F.cross_entropy(logits.float(), targets, reduction="none")

    def record(self, recorder, epoch, indices, logits, targets, losses):
        recorder.record(epoch, indices, logits, targets, losses)

    def head(self, model):
        return classification_head(model)

    def outputs(self, logits, last_hidden, head_input, batch, targets, *, decoder_only, losses=None):
        logits = logits.float()
        mask = batch["attention_mask"]
        first, mean = pool(last_hidden.float(), mask, decoder_only)
        head_input = head_input.float()
        if head_input.dim() == 3:  # heads that pool inside (e.g. decoder-only "score" layers see every token)
            head_input, _ = pool(head_input, mask, True)
        return {
            "logits": logits,
            # from the logits even when the gradient pass knows the loss: the stored values stay bit-identical
            "loss": F.cross_entropy(logits, targets, reduction="none"),
            "hidden_cls": first,
            "hidden_mean": mean,
            "head_input": head_input,
        }


CLASSIFICATION = Classification()
