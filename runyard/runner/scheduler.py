"""The scheduler: queue on slots, launch through a backend, judge each end, retry, resume.

One thread. It sleeps on an event that submissions, cancels and process exits set, with a
timeout only for the next retry due (and a slow safety poll while attempts run): an idle
server uses no CPU. Everything it knows is in the store; at start it reconciles with what
is really running (re-adopting live shims, reading exit files written while it was down).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shlex
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runyard._environment import CAPTURED
from runyard._tokens import scoped_token
from runyard.capture import Capture
from runyard.config import Settings
from runyard.entities import Attempt, AttemptStatus, FailureClass, JobSpec, RunStatus
from runyard.runner import checklist, policy
from runyard.runner.backend import Backend, Handle, Launch, Outcome, Running
from runyard.runner.resources import Resources
from runyard.store import Store, faults

log = logging.getLogger("runyard.scheduler")
SAFETY_POLL_S = 5.0
QUEUED_POLL_S = 1.0  # while an attempt waits in its backend's own queue (Ray)
FAULT_RETRY_S = 1.0  # after a pass refused by a full disk or a busy database
RESUME_SLOT = "{resume_from}"  # left in the argv for the node's entrypoint to fill in


@dataclass
class _Live:
    launch: Launch
    handle: Handle
    spec: JobSpec
    backend: str  # its name in Scheduler.backends
    stop_sent: bool = False


class Scheduler:
    def __init__(
        self,
        store: Store,
        backend: Backend,
        settings: Settings,
        resources: Resources,
        others: dict[str, tuple[Backend, Resources]] | None = None,
    ):
        """`backend` (with its `resources`) runs jobs that name none; `others` are the
        further backends a job may name (a Ray server also runs jobs on its own machine),
        each with the resources it is accounted against."""
        self.store = store
        self.backend = backend
        self.settings = settings
        self.resources = resources
        self.backends: dict[str, tuple[Backend, Resources]] = {
            backend.name: (backend, resources),
            **(others or {}),
        }
        self.capture = Capture(store)  # also driven by the maintenance poller
        self._live: dict[tuple[str, int], _Live] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.blocked: dict[str, str] = {}  # why a backend cannot start attempts now
        self.ring: Callable[[], None] | None = None  # a follower's wake reaches the leader
        self.idle_poll_s: float | None = None  # look every so often though nobody woke it

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.reconcile()
        self._thread = threading.Thread(target=self._loop, name="runyard-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling; running jobs go on and are re-adopted at the next start."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()
        if self.ring is not None:
            self.ring()

    def woken(self) -> None:
        """Another process asked: look again (never rings back)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                self.tick()
                timeout = self._next_timeout()
            except Exception as exc:  # a bad pass must not end scheduling
                faults.report(exc, log, "scheduler pass failed", self.settings.home)
                timeout = FAULT_RETRY_S  # a full disk or a busy database: do it again soon
            self._wake.wait(timeout)

    def _next_timeout(self) -> float | None:
        # a cluster (Ray) may grow or come back: read it again every few seconds
        cluster = any(getattr(b, "refresh", None) is not None for b, _ in self.backends.values())
        waits = [SAFETY_POLL_S] if self._live or self.blocked or cluster else []
        if any(not live.handle.running for live in self._live.values()):
            waits.append(QUEUED_POLL_S)  # in a backend's queue: noticed soon once it runs
        # a backend that tells of an end late (Ray) has its running attempts polled
        for name in {live.backend for live in self._live.values()} & self.backends.keys():
            if (poll_s := getattr(self.backends[name][0], "running_poll_s", None)) is not None:
                waits.append(poll_s)
        if self.idle_poll_s is not None:
            waits.append(self.idle_poll_s)
        due = self.store.jobs.next_retry_at()
        if due is not None:
            waits.append(max(0.0, due - time.time()))
        return min(waits) if waits else None

    # --- one pass -------------------------------------------------------------------------

    def backend_of(self, spec: JobSpec) -> str:
        """The name of the backend a job runs on: its own choice, else the server's."""
        return spec.backend or self.backend.name

    def tick(self) -> None:
        for key, live in list(self._live.items()):
            outcome = self.backends[live.backend][0].poll(live.launch, live.handle)
            if isinstance(outcome, Running):
                if not live.handle.running:  # it waited in the backend's queue: it runs now
                    self._started(live, since=outcome.since)
                continue
            if outcome is not None:
                self._ended(live, outcome)  # if the store refuses, it stays live: next pass
                del self._live[key]
        for run_id in self.store.jobs.cancel_requested():
            for live in self._live.values():
                # One waiting in a backend's queue is asked again each pass: Ray cannot take
                # a job out of its queue, and stops it the moment it starts.
                if live.launch.run_id == run_id and (not live.stop_sent or not live.handle.running):
                    live.stop_sent = True
                    self.backends[live.backend][0].stop(live.launch, live.handle)
        for run_id in self.store.jobs.requeue_due(time.time()):
            self.store.events.emit("status", run_id, status="queued")
        self._schedule()

    def _backend_blocked(self, name: str, run_ids: list[str]) -> str | None:
        """A backend with a `blocked(resources)` check (Ray) may refuse starts for now; its
        queued runs then show why, and start once it answers."""
        backend, resources = self.backends[name]
        check = getattr(backend, "blocked", None)
        blocked: str | None = check(resources) if check is not None else None
        old = self.blocked.get(name)
        if blocked is not None or old is not None:  # new submissions get it too
            ids = None if len(self.backends) == 1 else run_ids
            self.store.jobs.set_queued_reason(blocked, old, ids)
            if blocked is None:
                self.blocked.pop(name, None)
            else:
                self.blocked[name] = blocked
        return blocked

    def _schedule(self) -> None:
        queue = self.store.jobs.queued()
        mine: dict[str, list[str]] = {name: [] for name in self.backends}
        for queued in queue:
            mine.setdefault(self.backend_of(queued.spec), []).append(queued.run_id)
        open_ = {
            name
            for name in self.backends
            if self._backend_blocked(name, mine[name]) is None
            and not self.backends[name][1].full  # not even a job with no GPU fits
        }
        for queued in queue:
            if not open_:
                return
            if queued.blocked_by_failure:
                self._end_run(queued.run_id, RunStatus.CANCELLED, "a dependency did not complete")
                self.wake()  # its own dependants are settled on the next pass
                continue
            spec = queued.spec
            name = self.backend_of(spec)
            if name not in open_:
                continue  # blocked or full, or a backend this server does not have (now)
            backend, resources = self.backends[name]
            gpus = resources.allocate(spec.gpus, spec.cpus)
            if gpus is None:
                continue  # does not fit now; smaller jobs behind it may
            number = self.store.jobs.claim(queued.run_id, name, gpus)
            if number is None:
                resources.release(gpus, spec.cpus)
                continue
            try:
                launch = self._launch(
                    queued.run_id, number, spec, Path(queued.run_dir), gpus, backend
                )
            except Exception:
                self._unclaim(queued.run_id, number, gpus, spec.cpus, resources)
                raise
            try:
                handle = backend.start(launch, self.wake)
            except Exception as exc:
                if faults.classify(exc, self.settings.home) is not None:
                    self._unclaim(queued.run_id, number, gpus, spec.cpus, resources)
                    raise
                log.exception("could not start %s attempt %d", queued.run_id, number)
                live = _Live(launch, Handle(None, None), spec, name)
                self._ended(live, Outcome(None, None, detail=f"backend could not start: {exc}"))
                continue
            live = _Live(launch, handle, spec, name)
            self._live[(queued.run_id, number)] = live  # watched from now on
            self._started(live)
            if resources.full:
                open_.discard(name)

    def _started(self, live: _Live, since: float | None = None) -> None:
        """Record a launch: running, or waiting in the backend's own queue (Ray) until a
        poll says it runs (`since`)."""
        launch, handle = live.launch, live.handle
        if since is not None:
            handle = live.handle = dataclasses.replace(handle, running=True)
        self.store.jobs.attempt_started(
            launch.run_id,
            launch.attempt,
            handle.pid,
            handle.pid_start_time,
            handle.ref,
            running=handle.running,
            since=since,
        )
        status = "running" if handle.running else "starting"
        self.store.events.emit("status", launch.run_id, status=status, attempt=launch.attempt)

    def _unclaim(
        self, run_id: str, number: int, gpus: list[int], cpus: int, resources: Resources
    ) -> None:
        """Not launched (a full disk, a busy database): free the slot, queue the run again."""
        resources.release(gpus, cpus)
        with contextlib.suppress(Exception):  # else the next start's reconcile requeues it
            self.store.jobs.unclaim(run_id, number)

    def _launch(
        self,
        run_id: str,
        number: int,
        spec: JobSpec,
        run_dir: Path,
        gpus: list[int],
        backend: Backend,
    ) -> Launch:
        for sub in ("logs", "checkpoints", "artifacts"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **spec.env}
        if spec.captured_env:  # the submitter's shell: what it did not have, the job lacks too
            for name in CAPTURED:
                if name not in spec.env:
                    env.pop(name, None)
        for name in (
            "RUNYARD_HOME",
            "RUNYARD_DATABASE_URL",
            "RUNYARD_TOKEN",
            "RUNYARD_RESUME_FROM",
            "RUNYARD_RESUME_SHA256",
        ):
            env.pop(name, None)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(
            RUNYARD_URL=self.settings.url,
            RUNYARD_RUN_ID=run_id,
            RUNYARD_ATTEMPT=str(number),
            RUNYARD_RUN_DIR=str(run_dir),
            CUDA_VISIBLE_DEVICES=",".join(map(str, gpus)),
        )
        secret = self.settings.token_value
        if secret:
            env["RUNYARD_TOKEN"] = scoped_token(secret, run_id)
        resume: Path | None = None
        argv = spec.argv
        uploads = bool(getattr(backend, "uploads", False))  # nodes without the server's disk
        if number > 1:
            registered = self.store.files.checkpoints(run_id)
            resume, skipped = policy.resume_checkpoint(
                run_dir, [*registered, *policy.local_checkpoints(run_dir)]
            )
            for why in skipped:
                self.store.events.emit("resume_skip", run_id, attempt=number, reason=why)
            if resume is not None:
                env["RUNYARD_RESUME_FROM"] = str(resume)
                # a node fetches the checkpoint first: its entrypoint fills in where it went
                node_side = uploads and resume.is_relative_to(run_dir)
                argv = _with_resume_args(spec, RESUME_SLOT if node_side else str(resume))
                if argv != spec.argv:
                    self.store.events.emit(
                        "resume", run_id, attempt=number, checkpoint=str(resume), argv=argv
                    )
        if uploads or env.get("RUNYARD_UPLOAD") == "1":
            env["RUNYARD_UPLOAD"] = "1"  # the job's node has scratch only: it sends its files
            if resume is not None and resume.is_relative_to(run_dir):  # fetched by the job
                env["RUNYARD_RESUME_FROM"] = resume.relative_to(run_dir).as_posix()
                env["RUNYARD_RESUME_SHA256"] = policy.sha256_of(resume)
        return Launch(
            run_id=run_id,
            attempt=number,
            argv=argv if number > 1 and resume is not None else spec.argv,
            cwd=spec.cwd or os.getcwd(),
            env=env,
            run_dir=run_dir,
            timeout_s=spec.timeout_s,
            grace_s=spec.grace_s,
            gpus=gpus,
            cpus=spec.cpus,
        )

    # --- endings --------------------------------------------------------------------------

    def _ended(self, live: _Live, outcome: Outcome) -> None:
        """Record the end; the attempt's slot is freed only once that is in the store."""
        run_id = live.launch.run_id
        if (
            outcome.unstarted
            and self.store.jobs.cancel_flags(run_id) is None  # a cancel ends it instead
            and self.store.jobs.unclaim(run_id, live.launch.attempt)
        ):
            reason = f"back in the queue: {outcome.detail or 'it never started'}"
            self.store.events.emit("status", run_id, status="queued", reason=reason)
        else:
            self._settle(live, outcome)
        if live.backend in self.backends:
            self.backends[live.backend][1].release(live.launch.gpus, live.launch.cpus)

    def _settle(self, live: _Live, outcome: Outcome) -> None:
        launch, spec = live.launch, live.spec
        run = self.store.runs.get(launch.run_id)
        verdict = policy.judge(outcome)
        if run.status.is_terminal():  # ended meanwhile (e.g. by hand): its attempt ends too
            self.store.jobs.end_attempt(
                launch.run_id,
                launch.attempt,
                verdict.status,
                exit_code=outcome.exit_code,
                signal=outcome.signal,
                reason=verdict.reason,
                ended_at=outcome.ended_at,
            )
            return
        run_dir = Path(run.run_dir)
        if run_dir.is_dir():  # the last lines and files of the attempt count too
            self.capture.scan(
                launch.run_id, run_dir, spec, launch.attempt, run.created_at, final=True
            )
        failure = None
        if verdict.status is AttemptStatus.FAILED:
            why = policy.cannot_start(outcome, launch.log_path)
            if why is not None:
                failure = FailureClass.CANNOT_START
                verdict = policy.Verdict(AttemptStatus.FAILED, f"cannot start: {why}")
        status = verdict.status
        cancel = self.store.jobs.cancel_flags(launch.run_id)
        if cancel is not None and status is not AttemptStatus.SUCCEEDED:
            status = AttemptStatus.CANCELLED
        self.store.jobs.end_attempt(
            launch.run_id,
            launch.attempt,
            status,
            exit_code=outcome.exit_code,
            signal=outcome.signal,
            reason=verdict.reason if status is verdict.status else "cancelled",
            ended_at=outcome.ended_at,
        )
        if run_dir.is_dir():
            self.store.run_files.scan(launch.run_id, run_dir)
        self._decide(launch.run_id, launch.attempt, spec, run_dir, status, verdict.reason, failure)

    def _decide(
        self,
        run_id: str,
        number: int,
        spec: JobSpec,
        run_dir: Path,
        status: AttemptStatus,
        why: str,
        failure: FailureClass | None,
    ) -> None:
        """The run's fate once its attempt ``number`` has ended as ``status`` (``why``)."""
        if status is AttemptStatus.SUCCEEDED:
            self._end_run(run_id, RunStatus.COMPLETED, None, (spec, run_dir))
        elif status is AttemptStatus.CANCELLED:
            if self.store.jobs.cancel_flags(run_id):  # rollback requested
                self._rollback(run_id, number, run_dir)
            end_as, reason = self.store.jobs.stop_ending(run_id)  # cancelled, or pruned
            self._end_run(run_id, end_as, reason, (spec, run_dir))
        elif policy.should_retry(spec, status, number, failure):
            delay = policy.retry_delay(spec, number)
            reason = f"attempt {number} {why}; retrying in {delay:.1f} s"
            self.store.jobs.set_retrying(run_id, time.time() + delay, reason)
            self.store.events.emit("status", run_id, status="retrying", reason=reason)
        elif failure is FailureClass.CANNOT_START:
            self._end_run(
                run_id,
                RunStatus.FAILED,
                f"{why} (attempt {number}; a configuration error: not retried)",
                (spec, run_dir),
            )
        else:
            left = "no retries left" if status in policy.FAILURE_CLASS else "not retried"
            self._end_run(
                run_id, RunStatus.FAILED, f"attempt {number} {why}; {left}", (spec, run_dir)
            )

    def _end_run(
        self,
        run_id: str,
        status: RunStatus,
        reason: str | None,
        attempt: tuple[JobSpec, Path] | None = None,
    ) -> None:
        """End a run for good, with its checklist when an attempt ran (its spec and run dir);
        queued dependants of a run that did not complete are cancelled by the next pass."""
        if attempt is not None:
            spec, run_dir = attempt
            items = checklist.evaluate(
                run_dir,
                spec.expect,
                self.store.files.checkpoints(run_id),
                cwd=Path(spec.cwd) if spec.cwd else None,
            )
            self.store.jobs.set_checklist(run_id, items)
        self.store.run_state.finish(run_id, status, reason=reason, by_runner=True)  # emits
        self.capture.forget(run_id)

    def _rollback(self, run_id: str, attempt: int, run_dir: Path) -> None:
        """Remove what the cancelled attempt wrote (its log stays) and its checkpoint records."""
        started = next(
            (a.started_at for a in self.store.jobs.attempts(run_id) if a.number == attempt), None
        )
        if started is None:
            return
        for path in sorted(run_dir.rglob("*"), reverse=True):
            rel = path.relative_to(run_dir)
            if rel.parts[0] in ("logs", "spool"):
                continue
            if path.is_file() and path.stat().st_mtime >= started:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()) and len(rel.parts) > 1:
                shutil.rmtree(path, ignore_errors=True)
        self.store.files.delete_checkpoints(run_id, attempt=attempt, since=started)
        self.store.events.emit("rollback", run_id, attempt=attempt)

    # --- restart --------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Make memory match the world: adopt live attempts, settle those that ended."""
        for attempt in self.store.jobs.live_attempts():
            run = self.store.runs.get(attempt.run_id)
            spec = JobSpec.from_dict(run.spec or {"command": []})
            launch = self._launch_of(attempt, spec, Path(run.run_dir))
            running = attempt.status is AttemptStatus.RUNNING
            handle = Handle(attempt.pid, attempt.pid_start_time, attempt.backend_ref, running)
            live = _Live(launch, handle, spec, attempt.backend)
            if attempt.backend not in self.backends:  # the server runs without it now
                self._ended(live, Outcome(None, None, lost=True, detail=_gone(attempt.backend)))
                continue
            backend, resources = self.backends[attempt.backend]
            known = attempt.pid or attempt.backend_ref
            polled = backend.poll(launch, handle) if known else None
            outcome = None if isinstance(polled, Running) else polled  # the next pass marks it
            if outcome is None and backend.adopt(launch, handle, self.wake):
                resources.take(attempt.gpus, spec.cpus)
                self._live[(attempt.run_id, attempt.number)] = live
                log.info(
                    "re-adopted %s attempt %d (pid %s)", attempt.run_id, attempt.number, attempt.pid
                )
                continue
            resources.take(attempt.gpus, spec.cpus)  # _ended releases them
            self._ended(
                live,
                outcome or Outcome(None, None, lost=True, detail="lost while the server was down"),
            )
        # A server killed after an attempt's end was stored but before its run's was left the
        # run `running` with no live attempt: decide it now from what the attempt recorded.
        for attempt in self.store.jobs.ended_while_running():
            run = self.store.runs.get(attempt.run_id)
            spec = JobSpec.from_dict(run.spec or {"command": []})
            why = attempt.reason or attempt.status.value
            failure = FailureClass.CANNOT_START if why.startswith("cannot start:") else None
            log.info("settling %s: attempt %d ended while the server was down", run.id,
                     attempt.number)  # fmt: skip
            run_dir = Path(run.run_dir)
            if run_dir.is_dir():  # what the kill may have cut short: its last lines and files
                self.capture.scan(run.id, run_dir, spec, attempt.number, run.created_at, final=True)
                self.store.run_files.scan(run.id, run_dir)  # its checkpoints, to resume from
            self._decide(run.id, attempt.number, spec, run_dir, attempt.status, why, failure)
        self.store.jobs.requeue_unlaunched()

    def _launch_of(self, attempt: Attempt, spec: JobSpec, run_dir: Path) -> Launch:
        return Launch(
            run_id=attempt.run_id,
            attempt=attempt.number,
            argv=spec.argv,
            cwd=spec.cwd or os.getcwd(),
            env={},
            run_dir=run_dir,
            timeout_s=spec.timeout_s,
            grace_s=spec.grace_s,
            gpus=attempt.gpus,
            cpus=spec.cpus,
        )


def _gone(backend: str) -> str:
    return f"this server no longer has the {backend} backend it ran on"


def _with_resume_args(spec: JobSpec, resume_from: str) -> list[str]:
    """The command of a retry that resumes: `resume_args` appended, {resume_from} filled in."""
    extra = [a.replace("{resume_from}", resume_from) for a in spec.resume_args]
    if not extra:
        return spec.argv
    if isinstance(spec.command, str):
        return ["/bin/sh", "-c", " ".join([spec.command, *map(shlex.quote, extra)])]
    return [*spec.command, *extra]
