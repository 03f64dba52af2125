"""Generation: a prompt and a response; a causal language model trained on the response tokens only.

The loss of an example is the mean cross-entropy of its response tokens given everything before them
(prompt tokens are read, never predicted), as in LESS (Xia et al. 2024, ICML) and Du et al.'s
DialogSum set-up (Du et al. 2025, ACL). A batch's training loss is the mean of its examples' losses, so
each example weighs the same in training, in the recorded dynamics and in its per-example gradient.

p_gold for a sequence is exp(-mean token loss): the geometric mean probability of the response's tokens,
the sequence-level analogue of the gold-label probability that data maps (Swayamdipta et al. 2020,
EMNLP) and S2L (Yang et al. 2024, NeurIPS) read.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from prune_core.data_readers import DataError
from prune_core.models import load_causal_lm
from prune_core.tasks.base import Task
from prune_core.tokenize import IGNORE, Encoded, collate, response_targets


def end_token_id(tokenizer) -> int | None:
    """The token that ends a response (EOS; BERT-style tokenizers have only [SEP])."""
    for name in ("eos_token_id", "sep_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return None


def encode_generation(
    tokenizer,
    prompts: list[str],
    responses: list[str],
    max_length: int,
    *,
    uids: list[str] | None = None,
    source: str | None = None,
    log: Callable[[str], None] = print,
) -> Encoded:
    """Tokenise prompt then response (+ the end token), at most ``max_length`` tokens per example.

    Truncation keeps the whole prompt and cuts the response's end, and says how many were cut; a prompt
    that leaves no room for a single response token is an error naming the example (nothing to learn).
    The prompt gets the tokenizer's special tokens (BOS for Llama and OPT) unless it already starts
    with BOS (a chat template writes it); the response gets none but the end token.
    """
    end = end_token_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (end if end is not None else 0)
    bos = getattr(tokenizer, "bos_token", None)
    with_specials = [not (bos and p.startswith(bos)) for p in prompts]
    prompt_ids = [
        tokenizer(p, add_special_tokens=special)["input_ids"] for p, special in zip(prompts, with_specials)
    ]
    response_ids = tokenizer(list(responses), add_special_tokens=False)["input_ids"]
    input_ids, starts, cut = [], [], []
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
        r = list(r) + ([end] if end is not None else [])
        where = f"{source + ', ' if source else ''}example {uids[i] if uids else i + 1}"
        if not r:
            raise DataError(f"{where}: the response has no tokens; expected some text to learn")
        if len(p) >= max_length:
            raise DataError(
                f"{where}: the prompt is {len(p)} tokens and fills --max-length {max_length}, leaving "
                "no response token to learn from; raise --max-length or shorten the prompt"
            )
        if len(p) + len(r) > max_length:
            cut.append(len(r) - (max_length - len(p)))
            r = r[: max_length - len(p)]
        input_ids.append(list(p) + r)
        starts.append(len(p))
    if cut:
        log(
            f"note: {len(cut)} of {len(input_ids)} responses{' in ' + source if source else ''} were cut to "
            f"fit --max-length {max_length} (up to {max(cut)} tokens each; every one keeps >= 1 token)"
        )
    return Encoded(input_ids=input_ids, token_type_ids=None, pad_token_id=pad, response_start=starts)


def kept_positions(targets: torch.Tensor, width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The positions whose logits the loss reads and the tokens they predict, both [B, P].

    Position t is read when the token at t + 1 is a response token. P (``width``) is the batch's most
    response tokens; an example with fewer fills its row with unread positions whose target is ``IGNORE``.
    Passing ``width`` keeps the shapes static (inside vmap, where the per-example gradients are taken)."""
    wanted = targets[:, 1:]
    keep = wanted != IGNORE
    if width is None:
        width = max(int(keep.sum(dim=1).max()), 1)
    # A stable sort puts each row's read positions first, in order.
    positions = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]
    return positions, wanted.gather(1, positions)


def accepts_logits_to_keep(model: torch.nn.Module) -> bool:
    """Whether the causal LM's forward takes ``logits_to_keep`` (transformers' models do, through peft
    and DistributedDataParallel wrappers too)."""
    inner = getattr(model, "module", model)
    if hasattr(inner, "get_base_model"):
        inner = inner.get_base_model()
    return "logits_to_keep" in inspect.signature(type(inner).forward).parameters


def response_token_losses(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean response-token cross-entropy [B] and response-token counts [B] of a batch's logits.

    ``logits`` are [B, L, V] (every position: the logits at t predict the token at t + 1) or [B, P, V] at
    the ``kept_positions`` of ``targets`` (a forward with ``logits_to_keep``); positions whose target is
    ``IGNORE`` (prompt, padding, fill) add nothing."""
    if logits.shape[1] == targets.shape[1]:
        logits, wanted = logits[:, :-1], targets[:, 1:]
    else:
        wanted = kept_positions(targets, width=logits.shape[1])[1]
    rows, width = wanted.shape
    token_losses = F.cross_entropy(
        logits.float().reshape(rows * width, -1), wanted.reshape(-1), ignore_index=IGNORE, reduction="none"
    ).view(rows, width)
    counts = (wanted != IGNORE).sum(dim=1)
    return token_losses.sum(dim=1) / counts.clamp(min=1), counts


def response_pools(hidden: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The last prompt token's state and the mean state over response tokens, of [B, L, H] states."""
    response = (targets != IGNORE).to(hidden.dtype)
    first = response.argmax(dim=1)  # position of the first response token
    last_prompt = hidden[torch.arange(hidden.shape[0]), (first - 1).clamp(min=0)]
    mean = (hidden * response[:, :, None]).sum(dim=1) / response.sum(dim=1, keepdim=True).clamp(min=1)
    return last_prompt, mean


class Generation(Task):
    name = "generation"
    lora_task_type = "CAUSAL_LM"
    dynamics_fields = ("p_gold", "loss")
    has_class_logits = False

    def load_model(self, name, num_labels, *, seed=0):
        return load_causal_lm(name, seed=seed)

    def encode(self, tokenizer, frame, max_length, log=print, source=None):
        return encode_generation(
            tokenizer,
            frame["text"].tolist(),
            frame["response"].tolist(),
            max_length,
            uids=frame["uid"].tolist(),
            source=source,
            log=log,
        )

    def batch(self, encoded, labels, indices, device):
        inputs = collate(encoded, indices, device)
        targets = response_targets(encoded, np.asarray(indices), inputs["input_ids"].shape[1])
        return inputs, targets.to(device)

    def per_example_loss(self, logits, targets):
        return response_token_losses(logits, targets)[0]

    def forward_kwargs(self, model, targets):
        # The vocabulary projection and its softmax dominate a small decoder's step (MiniLM: 30 522 x 384,
        # more than the six blocks together); only response positions need them.
        if not accepts_logits_to_keep(model):
            return {}
        return {"logits_to_keep": kept_positions(targets)[0]}

    def record(self, recorder, epoch, indices, logits, targets, losses):
        recorder.record_losses(epoch, indices, losses)

    def outputs(self, logits, last_hidden, head_input, batch, targets, *, decoder_only, losses=None):
        counts = (targets[:, 1:] != IGNORE).sum(dim=1)
        if losses is None:
            losses = response_token_losses(logits, targets)[0]
        last_prompt, mean = response_pools(last_hidden.float(), targets)
        return {
            "loss": losses.float(),
            "tokens": counts.float(),
            "hidden_cls": last_prompt,
            "hidden_mean": mean,
        }


GENERATION = Generation()
