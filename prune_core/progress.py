"""Progress of a stage: a tqdm bar on the terminal and a small ``progress.json`` the app can follow.

One bar per stage. Besides items done it carries what the stage knows about itself (the training
stage: the epoch and the running loss) and an ETA from the rate so far, on the terminal and in
``progress.json`` alike, so the dashboard's bar says the same as the terminal's.
"""

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
        self.notes: dict = {}
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

    def note(self, *, epoch: int | None = None, epochs: int | None = None, loss: float | None = None) -> None:
        """What the stage is at: ``epoch`` of ``epochs`` in the bar's title, the running loss beside it."""
        if epoch is not None:
            self.notes.update(epoch=int(epoch), epochs=int(epochs or epoch))
            self.bar.set_description(f"{self.stage} epoch {epoch}/{epochs or epoch}", refresh=False)
        if loss is not None:
            self.notes["loss"] = round(float(loss), 4)
            self.bar.set_postfix_str(f"loss {loss:.3f}", refresh=False)

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the rate so far (None before anything is done)."""
        elapsed = (now or time.time()) - self.started
        if self.done <= 0 or self.total <= 0:
            return None
        return max(0.0, elapsed * (self.total - self.done) / self.done)

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
                "eta": None if self.eta(now) is None else round(self.eta(now), 1),
                **self.notes,
            }
        )

    def close(self) -> None:
        self._write(force=True)
        self.bar.close()

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
