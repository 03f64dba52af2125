"""What can go wrong in the run store, as exception types the CLI and the app turn into clear messages."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Something in the run store is missing or inconsistent; the message names the run and file."""


class RunLockedError(StoreError):
    """Another process is computing on this run."""


class CorruptFileError(StoreError):
    """A stored file does not match what the manifest recorded (truncated, altered or missing)."""

    def __init__(self, run, key: str, reason: str):
        self.key = key
        record = run.manifest.files.get(key)
        self.stage = record.stage if record else None
        super().__init__(
            f"run {run.id}: stored file {key!r} is unusable ({reason}); "
            f"stage {self.stage!r} will recompute it on the next `compute`"
        )
