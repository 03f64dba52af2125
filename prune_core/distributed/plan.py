"""How a representation pass is cut into shards: pure functions, shared by the driver and its workers.

A shard is a run of consecutive length-sorted batches — exactly the batches the local engine forms
(``prune_core/tokenize.length_sorted_batches``). A worker handed the shard's examples forms the same
batches again (a stable sort of a contiguous stretch of the global length order, chunked from a batch
boundary), so every example is computed in the same padded batch as in one process. The arrays come out
equal to float32 rounding: bitwise where CPU kernels do not depend on the thread count, and one step
of the stored dtype apart where they do, e.g. oneDNN on AMX (``tests/test_distributed_extract.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prune_core.store import stable_hash
from prune_core.tokenize import Encoded, length_sorted_batches

# Examples per shard by default: large enough that a block amortises its scheduling and its file
# (a few batches), small enough that a killed worker loses little and that progress moves.
DEFAULT_SHARD_EXAMPLES = 2048


@dataclass(frozen=True)
class Shard:
    split: str
    index: int  # 0 = the longest examples, computed first (a batch size too large fails at once)
    rows: np.ndarray  # row positions in the split, ascending

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class SplitPlan:
    split: str
    batch_size: int
    shards: list[Shard]
    fingerprint: str  # what a stored shard must match to be reused on resume


def plan_split(split: str, encoded: Encoded, batch_size: int, shard_examples: int) -> SplitPlan:
    """Cut one split into shards of ``shard_examples`` rounded down to whole batches (at least one)."""
    if batch_size < 1 or shard_examples < 1:
        raise ValueError(f"batch size and shard size must be >= 1, got {batch_size}, {shard_examples}")
    batches = length_sorted_batches(encoded, batch_size)
    per_shard = max(1, shard_examples // batch_size)
    groups = [batches[i : i + per_shard] for i in range(0, len(batches), per_shard)]
    shards = [
        Shard(split, index, np.sort(np.concatenate(group)))
        for index, group in enumerate(reversed(groups))  # longest first, as the local engine runs
    ]
    fingerprint = stable_hash(
        {
            "split": split,
            "batch_size": batch_size,
            "per_shard": per_shard,
            "lengths": stable_hash(encoded.lengths().tolist(), 16),
        },
        16,
    )
    return SplitPlan(split, batch_size, shards, fingerprint)


def subset(encoded: Encoded, rows: np.ndarray) -> Encoded:
    """The examples ``rows`` of ``encoded``, in that order."""
    types = encoded.token_type_ids
    return Encoded(
        input_ids=[encoded.input_ids[i] for i in rows],
        token_type_ids=None if types is None else [types[i] for i in rows],
        pad_token_id=encoded.pad_token_id,
        response_start=None if encoded.response_start is None else [encoded.response_start[i] for i in rows],
    )


def shard_batches(encoded: Encoded, shard: Shard, batch_size: int) -> list[np.ndarray]:
    """The batches a worker forms from the shard's examples, as rows of the whole split."""
    return [shard.rows[b] for b in length_sorted_batches(subset(encoded, shard.rows), batch_size)]


def merge_rows(n: int, parts: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """Scatter each shard's arrays to its rows: one [n, ...] array per quantity; every row exactly once."""
    seen = np.zeros(n, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for rows, arrays in parts:
        seen[rows] += 1
        for name, value in arrays.items():
            if name not in out:
                out[name] = np.zeros((n, *value.shape[1:]), dtype=value.dtype)
            out[name][rows] = value
    if not np.all(seen == 1):
        missing, twice = int((seen == 0).sum()), int((seen > 1).sum())
        raise ValueError(f"shards cover {n - missing} of {n} examples ({twice} more than once)")
    return out
