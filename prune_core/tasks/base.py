"""The interface every task kind implements (``classification.py``, ``generation.py``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from prune_core.tokenize import Encoded


class Task(ABC):
    """How one kind of task reads, batches and scores examples.

    ``targets`` are what the loss compares the model's logits with: class indices [B] for
    classification, token targets [B, L] (``tokenize.IGNORE`` outside the response) for generation.
    ``per_example_loss(logits, targets)`` is the one loss definition that training, the recorded
    dynamics, the eval outputs and the per-example gradients all use.
    """

    name: str
    lora_task_type: str  # peft's TaskType name
    dynamics_fields: tuple[str, ...]
    has_class_logits: bool  # outputs are class logits (EL2N, AUM, margins and head gradients need them)

    @abstractmethod
    def load_model(self, name: str | None, num_labels: int, *, seed: int = 0):
        """A ``models.LoadedModel`` for this task (weights float32, tokenizer ready to pad)."""

    @abstractmethod
    def encode(
        self,
        tokenizer,
        frame: pd.DataFrame,
        max_length: int,
        log: Callable[[str], None] = print,
        source: str | None = None,
    ) -> Encoded:
        """Tokenise one split's examples (its rows of the examples table) once, unpadded; ``source``
        names the split's file in errors and notes."""

    @abstractmethod
    def batch(
        self, encoded: Encoded, labels: np.ndarray, indices: np.ndarray, device
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Model inputs (padded to the batch's longest member) and the loss targets of ``indices``."""

    @abstractmethod
    def per_example_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """[B] float32 losses of a batch's logits against its targets."""

    @abstractmethod
    def record(self, recorder, epoch: int, indices, logits, targets, losses) -> None:
        """Store one training step's per-example dynamics (from its own logits and losses)."""

    @abstractmethod
    def outputs(
        self,
        logits: torch.Tensor | None,
        last_hidden: torch.Tensor,
        head_input: torch.Tensor | None,
        batch: dict[str, torch.Tensor],
        targets: torch.Tensor,
        *,
        decoder_only: bool,
        losses: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The per-example values stored at every checkpoint, from one eval-mode forward pass
        (``losses``: the per-example losses when already known, e.g. from the gradient pass)."""

    def forward_kwargs(self, model: torch.nn.Module, targets: torch.Tensor) -> dict:
        """Extra keyword arguments of the model's forward for one batch (generation: logits only at the
        positions the loss reads). ``per_example_loss`` takes the logits of a forward with or without them."""
        return {}

    def head(self, model: torch.nn.Module) -> torch.nn.Module | None:
        """The layer whose input is stored as ``head_input`` (None: this task stores none)."""
        return None
