"""Task kinds: what a model learns from an example, and the per-example loss every stage shares.

``classification`` (a sequence classifier, cross-entropy on the label) and ``generation`` (a causal
language model, cross-entropy on the response tokens only). The training loop, the dynamics recorder, the
representation passes and the per-example gradient pass ask the task for batches, the model and the
per-example loss, so they hold no task-specific code. See ``base.Task``.
"""

from __future__ import annotations

from prune_core.tasks.base import Task
from prune_core.tasks.classification import CLASSIFICATION
from prune_core.tasks.generation import GENERATION

TASKS: dict[str, Task] = {t.name: t for t in (CLASSIFICATION, GENERATION)}


def get_task(kind: str | None) -> Task:
    """The task of a kind name (``None``: classification, the kind of every run written before tasks)."""
    if kind is None:
        return CLASSIFICATION
    if kind not in TASKS:
        raise ValueError(f"--task: expected one of {', '.join(TASKS)}, found {kind!r}")
    return TASKS[kind]


__all__ = ["CLASSIFICATION", "GENERATION", "TASKS", "Task", "get_task"]
