"""The Ray backend: each attempt is a Ray Job, submitted with `JobSubmissionClient`.

The submission id is `<run id>-<attempt>`: a start repeated after a crash finds the job that
is already there instead of launching a second one. Ray's stop sends SIGTERM to the job's
process tree and SIGKILL after `RAY_JOB_STOP_WAIT_TIME_S`, which is the attempt's grace
time; the timeout is kept here (a stop once it is due; a stopped job that ran that long
timed out). Logs are tailed into `logs/attempt-N.log` as they come, and replaced by Ray's
whole log once the job ended. Ray forgets its jobs when its head restarts: an attempt Ray
no longer knows is `lost`, and so is one in a state this module does not know.

Ray is handed an attempt more than it has room for per slot (ray_cluster.QUEUE_AHEAD), so
the next starts as soon as a slot frees: such an attempt is `starting` until a poll sees it
run, and its timeout counts from then (Ray's own start time is the submission's). One that
Ray gave up waiting for (NEVER_STARTED) goes back to runyard's queue, not counted as a try.

`ray` is imported on first use only (the `ray` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.runner.backend import Handle, Launch, Outcome, Running
from runyard.runner.ray_cluster import ClusterView, auth_headers, read_cluster
from runyard.runner.resources import Resources

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

log = logging.getLogger("runyard.ray")
CLUSTER_REFRESH_S = 5.0
# Ray tells of a job's end only by closing its log tail, a second or two late (it reads the
# log in steps of 1 s): a running attempt is asked for its state every second instead.
RUNNING_POLL_S = 1.0
# Set by the node, never shipped: Ray picks the GPUs of a job itself.
NODE_OWNED = frozenset({"CUDA_VISIBLE_DEVICES"})
# Relative: inside the job's working dir on its node. Ray unpacks one working dir for all
# jobs from the same folder, so each attempt has a scratch of its own in it.
SCRATCH_RUN_DIR = "runyard-run"
# Ray fails a job that waited in its queue past RAY_JOB_START_TIMEOUT_SECONDS (15 min by
# default) with this: it never ran, so it goes back to runyard's queue at no retry's cost.
NEVER_STARTED = "JOB_SUPERVISOR_ACTOR_START_TIMEOUT"


def submission_id(launch: Launch) -> str:
    return f"{launch.run_id}-{launch.attempt}"


@dataclass(frozen=True)
class JobState:
    """What Ray says of a job, as plain values (see `outcome_of`)."""

    status: str
    message: str | None = None
    error_type: str | None = None
    exit_code: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None


def outcome_of(
    state: JobState, timeout_s: float | None, began: float | None = None
) -> Outcome | None:
    """The attempt's outcome from Ray's words, None while it waits or runs. `began`: when it
    was first seen running (Ray's own start time is that of the submission)."""
    ended = state.end_ms / 1000 if state.end_ms else None
    why = f"Ray: {state.error_type + ': ' if state.error_type else ''}{state.message or ''}"
    match state.status:
        case "PENDING" | "RUNNING":
            return None
        case "SUCCEEDED":
            return Outcome(0, None, ended_at=ended)
        case "STOPPED":
            start = began if began is not None else (state.start_ms or 0) / 1000
            ran = (ended or 0) - start
            timed_out = timeout_s is not None and ran >= timeout_s * 0.99
            return Outcome(None, None, timed_out=timed_out, cancelled=not timed_out, ended_at=ended)
        case "FAILED" if state.error_type == NEVER_STARTED:
            detail = why.strip()
            return Outcome(None, None, lost=True, unstarted=True, ended_at=ended, detail=detail)
        case "FAILED" if state.exit_code is not None:
            code = state.exit_code
            return Outcome(code if code >= 0 else None, -code if code < 0 else None, ended_at=ended)
        case "FAILED":  # no exit code: its node or supervisor died, or it never started
            return Outcome(None, None, lost=True, ended_at=ended, detail=why.strip().rstrip(":"))
        case _:
            return Outcome(
                None,
                None,
                lost=True,
                ended_at=ended,
                detail=f"Ray reports the job as {state.status!r} ({why.strip()})",
            )


def _state(info: Any) -> JobState:
    return JobState(
        status=str(getattr(info.status, "value", info.status)),
        message=info.message,
        error_type=str(info.error_type) if getattr(info, "error_type", None) else None,
        exit_code=getattr(info, "driver_exit_code", None),
        start_ms=info.start_time,
        end_ms=info.end_time,
    )


def _is_missing(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "does not exist" in str(exc)


class RayBackend:
    name = "ray"
    running_poll_s = RUNNING_POLL_S

    def __init__(self, address: str, token: str | None = None, shared_runs: bool = False):
        self.address = address.rstrip("/")
        self.token = token
        self.shared_runs = shared_runs
        self.uploads = not shared_runs  # the SDK sends checkpoints and artifacts over HTTP
        self.cluster = ClusterView(self.address, False, "not read yet")
        self._client_obj: JobSubmissionClient | None = None
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}
        self._began: dict[str, float] = {}  # when each job was first seen running

    # --- the cluster ----------------------------------------------------------------------

    def refresh(self, resources: Resources) -> ClusterView:
        """Read the cluster again (at most every few seconds) and size `resources` by it."""
        if time.time() - self.cluster.read_at < CLUSTER_REFRESH_S and self.cluster.reachable:
            return self.cluster
        self.cluster = read_cluster(self.address, self.token)
        resources.where = self.cluster.describe()
        if self.cluster.reachable:
            resources.resize(self.cluster.gpus, self.cluster.cpus)
            resources.known = True
        return self.cluster

    def blocked(self, resources: Resources) -> str | None:
        """Why no attempt can start now (Ray does not answer), or None."""
        view = self.refresh(resources)
        return None if view.reachable else view.error

    def _client(self) -> JobSubmissionClient:
        with self._lock:
            if self._client_obj is None:
                from ray.job_submission import JobSubmissionClient

                self._client_obj = JobSubmissionClient(
                    self.address, headers=auth_headers(self.token) or None
                )
            return self._client_obj

    # --- the protocol ---------------------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> None:
        """Ray stopped answering: no start until a reading of the cluster says otherwise."""
        if not _is_missing(exc) and not isinstance(exc, RuntimeError):
            self.cluster = ClusterView(
                self.address, False, f"Ray is unreachable at {self.address}: {exc}"
            )

    def start(self, launch: Launch, on_exit: Callable[[], None]) -> Handle:
        client = self._client()
        sid = submission_id(launch)
        running = False  # Ray queues it until a node has room: `poll` says when it runs
        try:
            try:
                state = _state(client.get_job_info(sid))
            except RuntimeError as exc:
                if not _is_missing(exc):
                    raise
                self._submit(client, launch, sid)
            else:
                if state.status == "FAILED" and state.error_type == NEVER_STARTED:
                    client.delete_job(sid)  # a leftover of a wait that timed out: anew
                    self._submit(client, launch, sid)
                else:
                    log.info("%s is already on Ray: not submitted again", sid)
                    running = state.status != "PENDING"
                    if running and state.start_ms:
                        self._began.setdefault(sid, state.start_ms / 1000)
        except Exception as exc:
            self._unreachable(exc)
            raise
        self._watch(launch, sid, on_exit, time.time())
        return Handle(pid=None, pid_start_time=None, ref=sid, running=running)

    def _submit(self, client: JobSubmissionClient, launch: Launch, sid: str) -> None:
        client.submit_job(
            entrypoint=self._entrypoint(launch),
            submission_id=sid,
            entrypoint_num_cpus=launch.cpus,
            entrypoint_num_gpus=len(launch.gpus),
            runtime_env=self._runtime_env(launch),
            metadata={"runyard_run": launch.run_id, "runyard_attempt": str(launch.attempt)},
        )

    def poll(self, launch: Launch, handle: Handle) -> Outcome | Running | None:
        sid = handle.ref or submission_id(launch)
        try:
            info = self._client().get_job_info(sid)
        except Exception as exc:
            if _is_missing(exc):
                self._forget(sid)
                return Outcome(
                    None,
                    None,
                    lost=True,
                    detail=f"Ray no longer knows job {sid} (was its head restarted?)",
                )
            log.warning("cannot read %s from Ray: %s", sid, exc)
            self._unreachable(exc)
            return None  # unreachable for now: it is still ours, ask again later
        state = _state(info)
        if state.status == "RUNNING" and sid not in self._began:
            # first seen running now, unless it was already (adopted after a restart)
            known = state.start_ms if handle.running else None
            self._began[sid] = known / 1000 if known else time.time()
        outcome = outcome_of(state, launch.timeout_s, self._began.get(sid))
        if outcome is None:
            self._stop_if_due(launch, sid, state)
            return Running(self._began[sid]) if state.status == "RUNNING" else None
        self._forget(sid)
        if outcome.unstarted:
            with contextlib.suppress(Exception):  # else the next start deletes it
                self._client().delete_job(sid)
            return outcome
        self._save_log(launch, sid)
        return outcome

    def stop(self, launch: Launch, handle: Handle) -> None:
        sid = handle.ref or submission_id(launch)
        try:
            self._client().stop_job(sid)
        except Exception as exc:  # gone already, or Ray unreachable: poll settles it
            log.warning("cannot stop %s on Ray: %s", sid, exc)

    def adopt(self, launch: Launch, handle: Handle, on_exit: Callable[[], None]) -> bool:
        sid = handle.ref or submission_id(launch)
        try:
            info = self._client().get_job_info(sid)
        except Exception as exc:
            if _is_missing(exc):
                return False
            log.warning("adopting %s while Ray does not answer: %s", sid, exc)
            self._watch(launch, sid, on_exit, time.time())
            return True
        state = _state(info)
        if outcome_of(state, launch.timeout_s) is not None:
            return False
        started = state.start_ms / 1000 if state.start_ms else time.time()
        if state.status == "RUNNING" and handle.running:
            self._began.setdefault(sid, started)
        self._watch(launch, sid, on_exit, started)
        return True

    # --- helpers --------------------------------------------------------------------------

    def _entrypoint(self, launch: Launch) -> str:
        command = shlex.join(launch.argv)
        if self.shared_runs:
            return f"cd {shlex.quote(launch.cwd)} && exec {command}"
        # The sidecar ships progress and metrics. Its Python: the server's own where the node
        # has it (one image or one shared install), else the node's python3.
        python = shlex.quote(sys.executable)
        return (
            f'PY={python}; [ -x "$PY" ] || PY=python3; '
            f'exec "$PY" -m runyard.runner.sidecar {command}'
        )

    def _runtime_env(self, launch: Launch) -> dict[str, Any]:
        """The attempt's own variables (not those the server inherited) and the stop grace."""
        env = {
            k: v
            for k, v in launch.env.items()
            if k not in NODE_OWNED and (k.startswith("RUNYARD_") or os.environ.get(k) != v)
        }
        env["RAY_JOB_STOP_WAIT_TIME_S"] = str(max(1, math.ceil(launch.grace_s)))
        runtime_env: dict[str, Any] = {"env_vars": env}
        if not self.shared_runs:  # scratch in the job's own copy of its working dir
            runtime_env["working_dir"] = launch.cwd
            env["RUNYARD_RUN_DIR"] = f"{SCRATCH_RUN_DIR}/{launch.run_id}-{launch.attempt}"
        return runtime_env

    def _watch(self, launch: Launch, sid: str, on_exit: Callable[[], None], started: float) -> None:
        """Tail the job's log into the attempt's log; wake the scheduler when it ends or is
        due to time out."""
        if launch.timeout_s is not None:
            due = max(0.0, started + launch.timeout_s - time.time())
            timer = threading.Timer(due + 0.1, on_exit)
            timer.daemon = True
            with self._lock:
                old = self._timers.pop(sid, None)
                self._timers[sid] = timer
            if old is not None:
                old.cancel()
            timer.start()
        threading.Thread(
            target=self._tail, args=(launch.log_path, sid, on_exit), daemon=True,
            name=f"runyard-ray-tail-{sid}",
        ).start()  # fmt: skip

    def _tail(self, path: Path, sid: str, on_exit: Callable[[], None]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        skip = path.stat().st_size if path.exists() else 0  # written before a restart

        async def follow() -> None:
            nonlocal skip
            with open(path, "ab") as f:
                async for chunk in self._client().tail_job_logs(sid):
                    data = chunk.encode()
                    if skip:
                        cut = min(skip, len(data))
                        data, skip = data[cut:], skip - cut
                    f.write(data)
                    f.flush()

        try:
            asyncio.run(follow())
        except Exception as exc:
            log.info("log tail of %s ended: %s", sid, exc)
        finally:
            on_exit()

    def _save_log(self, launch: Launch, sid: str) -> None:
        """Ray's whole log of the ended job replaces what the tail caught (atomically)."""
        try:
            text = self._client().get_job_logs(sid)
        except Exception as exc:
            log.info("cannot read the log of %s from Ray: %s", sid, exc)
            return
        path = launch.log_path
        data = text.encode()
        if path.exists() and path.stat().st_size >= len(data):
            return
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _stop_if_due(self, launch: Launch, sid: str, state: JobState) -> None:
        began = self._began.get(sid)
        if launch.timeout_s is None or state.status != "RUNNING" or began is None:
            return
        if time.time() - began >= launch.timeout_s:
            log.info("%s timed out after %g s: stopping it", sid, launch.timeout_s)
            with contextlib.suppress(Exception):
                self._client().stop_job(sid)

    def _forget(self, sid: str) -> None:
        self._began.pop(sid, None)
        with self._lock:
            timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()
