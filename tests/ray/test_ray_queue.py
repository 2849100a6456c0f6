"""Ray's own queue: the cluster is handed one attempt more than it has room for, which waits
`starting` in Ray's queue and runs the moment a slot frees; one that Ray gives up waiting for
(RAY_JOB_START_TIMEOUT_SECONDS) goes back to runyard's queue at no retry's cost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from runyard.store import Store
from tests.conftest import ServerProcess
from tests.ray._cluster import RayCluster
from tests.ray.conftest import Api, ray_server, wait_for
from tests.ray.test_ray_jobs import gated, log_of

pytestmark = pytest.mark.ray
RAY_GIVES_UP_S = 6  # a job waiting longer in Ray's queue is failed by Ray, never started
JOB_S = 10


@pytest.fixture
def impatient_ray(tmp_path: Path) -> Iterator[RayCluster]:
    """A head of 1 CPU, of its own, that waits RAY_GIVES_UP_S for a job to start."""
    (tmp_path / "ray").mkdir()
    cluster = RayCluster(
        tmp_path / "ray", env={"RAY_JOB_START_TIMEOUT_SECONDS": str(RAY_GIVES_UP_S)}
    )
    try:
        cluster.start_head()
        cluster.wait_nodes(1)
        yield cluster
    finally:
        cluster.close()


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_one_job_waits_in_rays_queue_and_a_wait_ray_gave_up_costs_no_try(
    impatient_ray: RayCluster, tmp_path: Path
) -> None:
    with impatient_ray.inside():
        srv = ray_server(tmp_path / "home")
        try:
            api = Api(srv.url)
            command = ["/bin/sh", "-c", f"sleep {JOB_S}; echo done"]
            ids = [api.submit(command, max_retries=0) for _ in range(3)]
            # 1 CPU: one runs, one waits in Ray's queue (`starting`), one in runyard's
            wait_for(
                lambda: (
                    sorted(api.run(i)["status"] for i in ids) == ["queued", "running", "starting"]
                ),
                3 * JOB_S,
                "one running, one in Ray's queue, one in runyard's",
            )
            runs = [api.until(i, "completed", "failed", timeout=12 * JOB_S) for i in ids]
            assert [(r["status"], r["attempt_count"]) for r in runs] == [("completed", 1)] * 3
            attempts = sorted(
                (a for i in ids for a in api.attempts(i)), key=lambda a: _at(a["started_at"])
            )
            assert [a["status"] for a in attempts] == ["succeeded"] * 3
            for before, after in zip(attempts, attempts[1:], strict=False):
                # started when seen running (polled every second while it waits), never
                # while the one before held the CPU
                assert _at(after["started_at"]) >= _at(before["ended_at"]) - 0.5
        finally:
            srv.stop()
    home = tmp_path / "home"
    store = Store.open(f"sqlite:///{home / 'runyard.db'}", home / "runs", migrate=False)
    try:
        reasons = [str(e.data.get("reason")) for i in ids for e in store.events.list(i)]
    finally:
        store.close()
    requeued = [r for r in reasons if r.startswith("back in the queue")]
    assert requeued, f"no wait was long enough for Ray to give up: {reasons}"
    assert "JOB_SUPERVISOR_ACTOR_START_TIMEOUT" in requeued[0]


def test_a_job_waiting_in_rays_queue_is_cancelled_before_it_runs(
    rayserver: ServerProcess, tmp_path: Path
) -> None:
    """Both CPUs busy: the next job waits in Ray's queue as `starting`. Ray cannot take a
    job out of its queue, so a cancel there stops it the moment Ray starts it (as `ray job
    stop` does): it ends `cancelled`, never `completed`, and the rest goes on."""
    api = Api(rayserver.url)
    flag = tmp_path / "go"
    busy = [api.submit(gated(flag), max_retries=0) for _ in range(2)]
    for rid in busy:
        api.until(rid, "running")
    waiting = api.submit(["/bin/sh", "-c", "sleep 30; echo finished"], max_retries=0)
    assert api.until(waiting, "starting")["status"] == "starting"
    r = httpx.post(f"{api.url}/api/runs/{waiting}/cancel", timeout=30)
    assert r.status_code == 200, r.text
    assert api.run(waiting)["status"] == "starting"  # still in Ray's queue
    flag.touch()
    for rid in busy:
        assert api.until(rid, "completed", "failed")["status"] == "completed"
    run = api.until(waiting, "cancelled", "completed", "failed", timeout=60)
    assert run["status"] == "cancelled", run
    assert [a["status"] for a in api.attempts(waiting)] == ["cancelled"]
    assert "finished" not in log_of(run, 1).splitlines()  # its own line, not the command's
