"""Progress of a stage: a tqdm bar on the terminal and a small ``progress.json`` the app can follow."""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm


class StageProgress:
    """Call with the number of items just finished; writes the run's progress at most twice a second."""

    def __init__(self, run, stage: str, total: int, *, unit: str = "ex", show: bool = True):
        self.run, self.stage, self.total, self.done = run, stage, int(total), 0
        self.started = time.time()
        self._last_write = 0.0
        self.bar = tqdm(
            total=total,
            desc=stage,
            unit=unit,
            file=sys.stderr,
            disable=not show,
            dynamic_ncols=True,
            leave=True,
        )
        self._write(force=True)

    def __call__(self, count: int = 1) -> None:
        self.done += count
        self.bar.update(count)
        self._write()

    def _write(self, force: bool = False) -> None:
        now = time.time()
        if self.run is None or (not force and now - self._last_write < 0.5):
            return
        self._last_write = now
        self.run.write_progress(
            {
                "stage": self.stage,
                "done": self.done,
                "total": self.total,
                "elapsed": round(now - self.started, 1),
            }
        )

    def close(self) -> None:
        self._write(force=True)
        self.bar.close()

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
