"""The run store: one directory per run, the only package that touches run files.

Layout of a run directory (``<runs_dir>/<run_id>/``)::

    manifest.json        config, versions, dataset summary, per-stage status, every file with its
                         shape / dtype / sha256 (rewritten atomically on every change)
    examples.parquet     uid, split, label, text[, text_pair], length — the key of every other table
    arrays/<key>.npy     dense arrays, e.g. arrays/hidden/train/epoch-2/cls.npy (memory-mapped on read)
    tables/<name>.parquet  per-example tables keyed by uid (scores) and long tables (selections)
    json/<name>.json     small structured results
    checkpoints/<id>/    model weights and optimizer state (safetensors, never pickle)
    run.lock             held by whichever process computes on the run

Rules: write to a temporary name then rename; validate shape / dtype / checksum on read and
report what fails so its stage is recomputed; never pickle; a lock so two computations on one run cannot
interleave.
"""

from prune_core.store.errors import CorruptFileError, RunLockedError, StoreError
from prune_core.store.files import atomic_write, atomic_write_text, file_sha256, stable_hash
from prune_core.store.run import MANIFEST, ArrayInfo, Run
from prune_core.store.runs import FORMAT_VERSION, RunStore

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "ArrayInfo",
    "CorruptFileError",
    "Run",
    "RunLockedError",
    "RunStore",
    "StoreError",
    "atomic_write",
    "atomic_write_text",
    "file_sha256",
    "stable_hash",
]
