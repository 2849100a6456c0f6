"""Stop training when a monitored metric has stopped improving (Keras' EarlyStopping).

It records the stop on the run (early_stopped, stopped_at_epoch) so that the dashboard can
tell a run that stopped early on purpose from one that ran out of epochs, and so that the
runner never retries it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runyard.sdk.run import Run


class EarlyStopping:
    """``step(value, epoch)`` is True once ``patience`` epochs in a row brought no improvement.

    An improvement beats the best value so far by more than ``min_delta`` in the direction of
    ``mode`` (or its alias ``goal``); when neither is given, the goal the run defined for
    ``monitor`` with `Run.define_metric`, else "min". NaN never improves.
    """

    def __init__(
        self,
        run: Run,
        monitor: str,
        mode: str | None = None,
        patience: int = 5,
        min_delta: float = 0.0,
        *,
        goal: str | None = None,
    ):
        if mode is not None and goal is not None and mode != goal:
            raise ValueError(f"mode={mode!r} and goal={goal!r} disagree; give one of them")
        chosen = mode or goal or run.goal_of(monitor) or "min"
        if chosen not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {chosen!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError("patience and min_delta must not be negative")
        self.run = run
        self.monitor = monitor
        self.mode = chosen
        self.patience = patience
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, epoch: int) -> bool:
        """Feed this epoch's value; True means stop now (and the run has recorded why)."""
        if self.stopped_epoch is not None:
            return True
        value = float(value)
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return False
        self.wait += 1
        if self.wait < self.patience:
            return False
        self.stopped_epoch = epoch
        self.run.early_stop(epoch)
        return True
