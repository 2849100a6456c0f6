"""Jobs: runs with a spec that the scheduler launches; attempts and the queue's transitions.

Every transition is a conditional UPDATE (… WHERE status = the expected one), so the API and
the scheduler never overwrite each other's decisions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.entities import Attempt, AttemptStatus, JobSpec, Run, RunStatus
from runyard.errors import BadRequest, Conflict, NotFound
from runyard.store._exists import require_run
from runyard.store._locks import lock_run
from runyard.store.runs import Runs
from runyard.store.tables import attempts, run_dependencies, runs

ACTIVE = (RunStatus.STARTING.value, RunStatus.RUNNING.value)
LIVE_ATTEMPT = (AttemptStatus.STARTING.value, AttemptStatus.RUNNING.value)


@dataclass(frozen=True)
class Queued:
    run_id: str
    spec: JobSpec
    run_dir: str
    blocked_by_failure: bool  # a dependency ended other than completed: never runnable


def _to_attempt(row: Any) -> Attempt:
    m = row._mapping
    return Attempt(
        **{k: m[k] for k in Attempt.__dataclass_fields__ if k != "status"},
        status=AttemptStatus(m["status"]),
    )


class Jobs:
    def __init__(self, engine: sa.Engine, runs_repo: Runs):
        self._engine = engine
        self._runs = runs_repo

    def submit(
        self,
        spec: JobSpec,
        *,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        sweep: tuple[str, int] | None = None,
    ) -> Run:
        with self._engine.connect() as conn:
            for dep in spec.depends_on:
                if conn.execute(sa.select(runs.c.id).where(runs.c.id == dep)).first() is None:
                    raise BadRequest(f"depends_on names an unknown run {dep!r}")
        run = self._runs.create(
            experiment=experiment,
            name=name,
            params=params,
            tags=tags,
            notes=notes,
            spec=spec.to_dict(),
            status=RunStatus.QUEUED,
            priority=spec.priority,
            depends_on=spec.depends_on,
            sweep=sweep,
        )
        return run

    def queued(self, limit: int = 256) -> list[Queued]:
        """Queued runs whose dependencies are settled, by priority then age (the first
        ``limit``: a pass can only start as many as there are free slots)."""
        dep = runs.alias("dep")
        unfinished = (
            sa.select(sa.func.count())
            .select_from(run_dependencies.join(dep, dep.c.id == run_dependencies.c.depends_on))
            .where(
                run_dependencies.c.run_id == runs.c.id, dep.c.status != RunStatus.COMPLETED.value
            )
        )
        failed = unfinished.where(
            dep.c.status.in_(
                [RunStatus.FAILED.value, RunStatus.CANCELLED.value, RunStatus.PRUNED.value]
            )
        )
        stmt = (
            sa.select(
                runs.c.id,
                runs.c.spec,
                runs.c.run_dir,
                unfinished.scalar_subquery().label("waiting"),
                failed.scalar_subquery().label("failed"),
            )
            .where(runs.c.status == RunStatus.QUEUED.value)
            .order_by(runs.c.priority.desc(), runs.c.created_at, runs.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            Queued(r.id, JobSpec.from_dict(r.spec), r.run_dir, r.failed > 0)
            for r in rows
            if r.waiting == 0 or r.failed > 0
        ]

    def claim(self, run_id: str, backend: str, gpus: list[int]) -> int | None:
        """queued → starting with a new attempt; None if someone else moved the run first."""
        now = time.time()
        with self._engine.begin() as conn:
            done = conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status == RunStatus.QUEUED.value)
                .values(
                    status=RunStatus.STARTING.value,
                    attempt_count=runs.c.attempt_count + 1,
                    retry_at=None,
                    updated_at=now,
                )
            )
            if done.rowcount != 1:
                return None
            number = int(
                conn.execute(
                    sa.select(runs.c.attempt_count).where(runs.c.id == run_id)
                ).scalar_one()
            )
            conn.execute(
                attempts.insert().values(
                    run_id=run_id,
                    number=number,
                    status=AttemptStatus.STARTING.value,
                    backend=backend,
                    gpus=gpus,
                    started_at=now,
                )
            )
        return number

    def unclaim(self, run_id: str, number: int) -> bool:
        """Undo `claim` for an attempt that never launched (a full disk, a busy database) or
        never ran (it waited too long in Ray's queue): the run is queued again and the attempt
        forgotten, so it costs no retry. False if the attempt had started after all."""
        with self._engine.begin() as conn:
            gone = conn.execute(
                attempts.delete().where(
                    attempts.c.run_id == run_id,
                    attempts.c.number == number,
                    attempts.c.status == AttemptStatus.STARTING.value,
                    attempts.c.pid.is_(None),
                )
            )
            if gone.rowcount != 1:
                return False
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status == RunStatus.STARTING.value)
                .values(status=RunStatus.QUEUED.value, attempt_count=number - 1)
            )
            return True

    def attempt_started(
        self,
        run_id: str,
        number: int,
        pid: int | None,
        pid_start_time: float | None,
        ref: str | None,
        *,
        running: bool = True,
        since: float | None = None,
    ) -> None:
        """The attempt was launched: `running`, or (not `running`) waiting in its backend's
        own queue, when it and its run stay `starting` until this is called again with the
        time it began (`since`)."""
        now = time.time()
        values: dict[str, Any] = {"pid": pid, "pid_start_time": pid_start_time, "backend_ref": ref}
        if running:
            values["status"] = AttemptStatus.RUNNING.value
        if since is not None:
            values["started_at"] = since
        with self._engine.begin() as conn:
            conn.execute(
                attempts.update()
                .where(attempts.c.run_id == run_id, attempts.c.number == number)
                .values(**values)
            )
            if not running:
                return
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status == RunStatus.STARTING.value)
                .values(
                    status=RunStatus.RUNNING.value,
                    started_at=sa.func.coalesce(runs.c.started_at, since or now),
                    updated_at=now,
                )
            )

    def end_attempt(
        self,
        run_id: str,
        number: int,
        status: AttemptStatus,
        *,
        exit_code: int | None = None,
        signal: int | None = None,
        reason: str | None = None,
        ended_at: float | None = None,
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                attempts.update()
                .where(attempts.c.run_id == run_id, attempts.c.number == number)
                .values(
                    status=status.value,
                    exit_code=exit_code,
                    signal=signal,
                    reason=reason,
                    ended_at=ended_at or time.time(),
                )
            )

    def live_attempts(self) -> list[Attempt]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(attempts).where(attempts.c.status.in_(LIVE_ATTEMPT))
            ).all()
        return [_to_attempt(r) for r in rows]

    def ended_while_running(self) -> list[Attempt]:
        """The last attempt of each job run still `running` whose attempt has ended: what a
        server killed between storing an attempt's end and its run's leaves behind."""
        last = (
            sa.select(attempts.c.run_id, sa.func.max(attempts.c.number).label("number"))
            .group_by(attempts.c.run_id)
            .subquery()
        )
        stmt = (
            sa.select(attempts)
            .join(
                last,
                sa.and_(attempts.c.run_id == last.c.run_id, attempts.c.number == last.c.number),
            )
            .join(runs, runs.c.id == attempts.c.run_id)
            .where(
                runs.c.status == RunStatus.RUNNING.value,
                runs.c.spec.is_not(None),
                runs.c.deleted_at.is_(None),
                attempts.c.status.not_in(LIVE_ATTEMPT),
            )
        )
        with self._engine.connect() as conn:
            return [_to_attempt(r) for r in conn.execute(stmt).all()]

    def attempts(self, run_id: str) -> list[Attempt]:
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(
                sa.select(attempts).where(attempts.c.run_id == run_id).order_by(attempts.c.number)
            ).all()
        return [_to_attempt(r) for r in rows]

    def set_retrying(self, run_id: str, retry_at: float, reason: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status.in_(ACTIVE))
                .values(
                    status=RunStatus.RETRYING.value,
                    retry_at=retry_at,
                    reason=reason,
                    updated_at=time.time(),
                )
            )

    def requeue_due(self, now: float) -> list[str]:
        """retrying → queued for the runs whose backoff is over; their ids."""
        with self._engine.begin() as conn:
            done = conn.execute(
                runs.update()
                .where(runs.c.status == RunStatus.RETRYING.value, runs.c.retry_at <= now)
                .values(status=RunStatus.QUEUED.value, retry_at=None, reason=None, updated_at=now)
                .returning(runs.c.id)
            )
            return list(done.scalars())

    def next_retry_at(self) -> float | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(runs.c.retry_at)).where(
                    runs.c.status == RunStatus.RETRYING.value
                )
            ).scalar()
        return float(value) if value is not None else None

    def request_cancel(
        self,
        run_id: str,
        rollback: bool = False,
        *,
        stop_as: RunStatus = RunStatus.CANCELLED,
        reason: str | None = None,
    ) -> RunStatus:
        """Queued or retrying runs are cancelled at once; active ones are flagged for the
        scheduler, which stops the process. Answers the run's status after the request.

        ``stop_as`` is the status the stop ends in: ``pruned`` when a sweep's pruner asks."""
        now = time.time()
        with self._engine.begin() as conn:
            if not lock_run(conn, run_id):  # the status read stays true until the write
                raise NotFound(f"no run {run_id!r}")
            status = RunStatus(
                conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar_one()
            )
            if status.is_terminal():
                raise Conflict(f"run {run_id!r} has ended ({status.value}); nothing to cancel")
            if status in (RunStatus.QUEUED, RunStatus.RETRYING):
                conn.execute(
                    runs.update()
                    .where(runs.c.id == run_id, runs.c.status == status.value)
                    .values(
                        status=stop_as.value,
                        reason=reason
                        or (
                            "cancelled before it ran"
                            if status is RunStatus.QUEUED
                            else "cancelled while waiting to retry"
                        ),
                        ended_at=now,
                        retry_at=None,
                        updated_at=now,
                    )
                )
                return stop_as
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    cancel_requested=True,
                    cancel_rollback=rollback,
                    stop_as=None if stop_as is RunStatus.CANCELLED else stop_as.value,
                    stop_reason=reason,
                    updated_at=now,
                )
            )
            return status

    def stop_ending(self, run_id: str) -> tuple[RunStatus, str]:
        """The status and reason a requested stop of an active run ends in."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(runs.c.stop_as, runs.c.stop_reason).where(runs.c.id == run_id)
            ).first()
        if row is None or row.stop_as is None:
            return RunStatus.CANCELLED, "cancelled by request"
        return RunStatus(row.stop_as), row.stop_reason or row.stop_as

    def cancel_flags(self, run_id: str) -> bool | None:
        """None when no cancel was asked for the run; else whether a rollback was."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(runs.c.cancel_requested, runs.c.cancel_rollback).where(
                    runs.c.id == run_id
                )
            ).first()
        if row is None or not row.cancel_requested:
            return None
        return bool(row.cancel_rollback)

    def set_queued_reason(
        self, reason: str | None, old: str | None, run_ids: list[str] | None = None
    ) -> None:
        """Why queued runs (all, or those of `run_ids`: one backend's) wait (the backend is
        unreachable), or clear the old such reason."""
        where = [runs.c.status == RunStatus.QUEUED.value]
        if run_ids is not None:
            if not run_ids:
                return
            where.append(runs.c.id.in_(run_ids))
        if reason is None:
            where.append(runs.c.reason == old)
        else:
            where.append(sa.or_(runs.c.reason.is_(None), runs.c.reason == old))
        with self._engine.begin() as conn:
            conn.execute(runs.update().where(*where).values(reason=reason))

    def requeue_unlaunched(self) -> None:
        """Runs claimed (starting) whose attempt never got going go back to the queue."""
        live = sa.select(attempts.c.run_id).where(attempts.c.status.in_(LIVE_ATTEMPT))
        with self._engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.status == RunStatus.STARTING.value, runs.c.id.not_in(live))
                .values(status=RunStatus.QUEUED.value)
            )

    def cancel_requested(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(runs.c.id).where(runs.c.cancel_requested, runs.c.status.in_(ACTIVE))
                ).scalars()
            )

    def requeue(self, run_id: str) -> None:
        """A terminal run goes back to the queue by hand (`runyard retry`)."""
        now = time.time()
        with self._engine.begin() as conn:
            require_run(conn, run_id)  # one in the trash is not queued without its folder
            row = conn.execute(
                sa.select(runs.c.status, runs.c.spec).where(runs.c.id == run_id)
            ).one()
            if row.spec is None:
                raise Conflict(
                    f"run {run_id!r} was tracked, not launched: there is no job to retry"
                )
            if not RunStatus(row.status).is_terminal():
                raise Conflict(f"run {run_id!r} is {row.status}; only an ended run can be retried")
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status == row.status)
                .values(
                    status=RunStatus.QUEUED.value,
                    cancel_requested=False,
                    cancel_rollback=False,
                    ended_at=None,
                    reason=None,
                    summary=None,
                    checklist=None,
                    updated_at=now,
                )
            )

    def dependants(self, run_id: str) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(run_dependencies.c.run_id).where(
                        run_dependencies.c.depends_on == run_id
                    )
                ).scalars()
            )

    def set_checklist(self, run_id: str, items: list[dict[str, Any]]) -> None:
        with self._engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(checklist=items))

    def checklist(self, run_id: str) -> list[dict[str, Any]] | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(runs.c.checklist).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return row.checklist  # type: ignore[no-any-return]
