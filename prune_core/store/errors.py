"""What can go wrong in the run store, as exception types the CLI and the app turn into clear messages."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Something in the run store is missing or inconsistent; the message names the run and file."""


class RunLockedError(StoreError):
    """Another process is computing on this run."""


class CorruptFileError(StoreError):
    """A stored file does not match what the manifest recorded (truncated, altered or missing)."""

    def __init__(self, run, key: str, reason: str):
        from prune_core.store.remedy import file_command, files_of  # the one place remedies are worked out

        self.key = key
        self.stage = (files_of(run).get(key) or {}).get("stage")
        self.command = file_command(run, key)
        super().__init__(
            f"run {run.id}: stored file {key!r} is unusable ({reason}); "
            f"stage {self.stage!r} rewrites it: run `{self.command}`"
        )
