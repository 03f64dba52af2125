"""The run store: one directory per run, the only package that touches run files.

Layout of a run directory (``<runs_dir>/<run_id>/``)::

    manifest.json        config, versions, dataset summary, per-stage status, every file with its
                         shape / dtype / sha256 (rewritten atomically on every change); typed records
                         in ``manifest.py``, read and changed only through ``Run``
    examples.parquet     uid, split, label, text[, text_pair], length — the key of every other table
    arrays/<key>.npy     dense arrays, e.g. arrays/hidden/train/epoch-2/cls.npy (memory-mapped on read)
    tables/<name>.parquet  per-example tables keyed by uid (scores) and long tables (selections)
    json/<name>.json     small structured results
    checkpoints/<id>/    model weights and optimizer state (safetensors, never pickle), registered with
                         sha256 like every other file
    run.lock             held by whichever process computes on the run

Every key (``hidden/train/epoch-2/cls``...) and stage name is built and parsed by ``keys.py``; every
stage runs through the one lifecycle of ``stage.py`` (check done, begin, record failure, finish).

Rules: write to a temporary name then rename; validate shape / dtype / checksum on read and
report what fails so its stage is recomputed; never pickle; a lock so two computations on one run cannot
interleave.
"""

from prune_core.store import keys
from prune_core.store.errors import CorruptFileError, RunLockedError, StoreError
from prune_core.store.files import atomic_write, atomic_write_text, file_sha256, stable_hash
from prune_core.store.manifest import (
    FORMAT_VERSION,
    CheckpointInfo,
    DatasetInfo,
    FileRecord,
    Manifest,
    StageRecord,
)
from prune_core.store.run import MANIFEST, Run
from prune_core.store.runs import RunStore
from prune_core.store.stage import Stage

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "CheckpointInfo",
    "CorruptFileError",
    "DatasetInfo",
    "FileRecord",
    "Manifest",
    "Run",
    "RunLockedError",
    "RunStore",
    "Stage",
    "StageRecord",
    "StoreError",
    "keys",
    "atomic_write",
    "atomic_write_text",
    "file_sha256",
    "stable_hash",
]
