"""Sweeps: a search's definition and state. Its trials are runs with ``sweep_id`` and
``trial``; the optimiser's own records live in Optuna's storage, never in these tables."""

from __future__ import annotations

import builtins
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.entities import Run
from runyard.errors import Conflict, NotFound
from runyard.store.runs import RunQuery, Runs
from runyard.store.tables import metric_summaries, runs, sweeps

RUNNING = "running"
ENDINGS = ("completed", "stopped", "failed")


@dataclass(frozen=True)
class Sweep:
    id: str
    name: str
    experiment: str
    spec: dict[str, Any]
    status: str  # running | completed | stopped | failed
    message: str | None
    created_at: float
    ended_at: float | None


def _to_sweep(row: Any) -> Sweep:
    m = row._mapping
    return Sweep(**{k: m[k] for k in Sweep.__dataclass_fields__})


class Sweeps:
    def __init__(self, engine: sa.Engine, runs_repo: Runs):
        self._engine = engine
        self._runs = runs_repo

    def create(self, *, name: str, experiment: str, spec: dict[str, Any]) -> Sweep:
        now = time.time()
        sweep_id = secrets.token_hex(8)
        with self._engine.begin() as conn:
            conn.execute(
                sweeps.insert().values(
                    id=sweep_id,
                    name=name,
                    experiment=experiment,
                    spec=spec,
                    status=RUNNING,
                    created_at=now,
                    updated_at=now,
                )
            )
        return self.get(sweep_id)

    def get(self, sweep_id: str) -> Sweep:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(sweeps).where(sweeps.c.id == sweep_id)).first()
        if row is None:
            raise NotFound(f"no sweep {sweep_id!r}")
        return _to_sweep(row)

    def list(self, *, running_only: bool = False, limit: int = 1000) -> list[Sweep]:
        stmt = sa.select(sweeps).order_by(sweeps.c.created_at.desc(), sweeps.c.id).limit(limit)
        if running_only:
            stmt = stmt.where(sweeps.c.status == RUNNING)
        with self._engine.connect() as conn:
            return [_to_sweep(r) for r in conn.execute(stmt).all()]

    def end(self, sweep_id: str, status: str, message: str | None = None) -> bool:
        """running → an ending; False when it had ended already."""
        assert status in ENDINGS
        now = time.time()
        with self._engine.begin() as conn:
            done = conn.execute(
                sweeps.update()
                .where(sweeps.c.id == sweep_id, sweeps.c.status == RUNNING)
                .values(status=status, message=message, ended_at=now, updated_at=now)
            )
        return done.rowcount == 1

    def stop(self, sweep_id: str) -> Sweep:
        sweep = self.get(sweep_id)
        if not self.end(sweep_id, "stopped", "stopped by request"):
            raise Conflict(f"sweep {sweep_id!r} has ended ({sweep.status}); nothing to stop")
        return self.get(sweep_id)

    def set_message(self, sweep_id: str, message: str | None) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sweeps.update()
                .where(sweeps.c.id == sweep_id)
                .values(message=message, updated_at=time.time())
            )

    def trials(self, sweep_id: str) -> builtins.list[Run]:
        """Its runs, by trial number."""
        out = self._runs.list(RunQuery(sweep=sweep_id, limit=100_000)).runs
        return sorted(out, key=lambda r: r.trial if r.trial is not None else -1)

    def trial_numbers(self, sweep_id: str) -> builtins.dict[int, str]:
        """trial → run id, cheaply (the controller asks on every pass)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs.c.trial, runs.c.id).where(runs.c.sweep_id == sweep_id)
            ).all()
        return {int(r.trial): r.id for r in rows}

    def objective(
        self, sweep_id: str, key: str
    ) -> builtins.dict[str, tuple[float | None, int, int]]:
        """run id → (last value, last step, count) of ``key``, for every trial that logged it."""
        t = metric_summaries
        stmt = (
            sa.select(t.c.run_id, t.c.last, t.c.last_step, t.c["count"])
            .join(runs, runs.c.id == t.c.run_id)
            .where(runs.c.sweep_id == sweep_id, t.c.key == key)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return {r[0]: (r[1], int(r[2] or 0), int(r[3])) for r in rows}
