"""The one lifecycle of a stage: check done -> begin -> record failure -> finish.

Every computation that writes into a run (compute's data / train / represent stages, each ``select``
method, each map, each evaluation) goes through :class:`Stage`::

    stage = run.stage("select:el2n", params, errors="record")
    if stage.done:                   # finished with these params and every file it wrote is intact
        ...reuse it
    else:
        with stage:                  # begin: drop the stage's stale files, mark it running
            run.write_array(key, array, stage=stage.name)
            stage.report(examples=n) # kept on the stage's record when it finishes
        if stage.error: ...          # only with errors="record"

Raise or record, chosen per stage by its owner (there is no silent default in between):

- ``errors="raise"`` (the default): the failure is recorded on the stage (status ``failed`` and the error)
  and the exception propagates. For stages whose successors cannot work without them (compute's stages)
  and for requests that must fail loudly (evaluate).
- ``errors="record"``: an ``Exception`` is recorded and swallowed; ``stage.error`` says what happened.
  For stages that are independent of each other (one ``select`` method or one map failing must not lose
  the others). ``KeyboardInterrupt`` and ``SystemExit`` are still recorded, then re-raised.

Stale files: a stage that is begun again starts clean (its files from an interrupted or damaged run are
deleted and unregistered), except files its owner marks as worth keeping with ``keep`` that are still
intact: training checkpoints to resume from, evaluation results each keyed by what they depend on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prune_core.store.manifest import FileRecord

if TYPE_CHECKING:
    from prune_core.store.run import Run

ERROR_POLICIES = ("raise", "record")


class Stage:
    """One stage of one run; see the module docstring for the protocol. Built by :meth:`Run.stage`."""

    def __init__(
        self,
        run: Run,
        name: str,
        params: dict | None = None,
        *,
        errors: str = "raise",
        keep: Callable[[FileRecord], bool] | None = None,
    ):
        if errors not in ERROR_POLICIES:
            raise ValueError(f"stage errors must be one of {ERROR_POLICIES}, got {errors!r}")
        self.run, self.name, self.params = run, name, params or {}
        self.errors, self.keep = errors, keep
        self.error: str | None = None  # "<type>: <message>" of a failure, as recorded on the stage
        self.exception: BaseException | None = None
        self.seconds: float | None = None
        self._report: dict[str, Any] = {}
        self._started: float | None = None

    @property
    def done(self) -> bool:
        """Finished with these parameters, and every file it wrote still matches the manifest."""
        return self.run.stage_is_done(self.name, self.params)

    @property
    def record(self):
        """The stage's :class:`StageRecord` as the manifest holds it now."""
        return self.run.stage_record(self.name)

    def report(self, **values: Any) -> None:
        """Facts to keep on the stage's record when it finishes (e.g. split sizes, training history)."""
        self._report.update(values)

    def __enter__(self) -> Stage:
        run = self.run
        stale = [
            key
            for key in run.stage_files(self.name)
            if self.keep is None or not self.keep(run.file_info(key)) or run.problems([key])
        ]
        if stale:
            run.forget_files(stale)
        run.begin_stage(self.name, self.params)
        self.error, self.exception, self._report = None, None, {}
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self.seconds = time.perf_counter() - self._started
        if error is None:
            self.run.finish_stage(self.name, self.seconds, **self._report)
            return False
        self.error, self.exception = f"{kind.__name__}: {error}", error
        self.run.fail_stage(self.name, self.error)
        return self.errors == "record" and isinstance(error, Exception)
