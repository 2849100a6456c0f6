"""Ray's own queue: the cluster is handed one attempt more than it has room for, which waits
`starting` in Ray's queue and runs the moment a slot frees; one that Ray gives up waiting for
(RAY_JOB_START_TIMEOUT_SECONDS) goes back to runyard's queue at no retry's cost."""

from __future__ import annotations

from collections.abc import Iterator
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


def _requeued(home: Path, ids: list[str]) -> list[str]:
    """The reasons of the waits Ray gave up on: each put its attempt back in the queue."""
    store = Store.open(f"sqlite:///{home / 'runyard.db'}", home / "runs", migrate=False)
    try:
        reasons = [str(e.data.get("reason")) for i in ids for e in store.events.list(i)]
    finally:
        store.close()
    return [r for r in reasons if r.startswith("back in the queue")]


def test_one_job_waits_in_rays_queue_and_a_wait_ray_gave_up_costs_no_try(
    impatient_ray: RayCluster, tmp_path: Path
) -> None:
    home, flag = tmp_path / "home", tmp_path / "go"
    with impatient_ray.inside():
        srv = ray_server(home)
        try:
            api = Api(srv.url)
            # each job notes when it began and ended holding the CPU
            held = (
                'date +%s.%N > "$RUNYARD_RUN_DIR/began"; '
                f'while [ ! -e "{flag}" ]; do sleep 0.2; done; '
                'date +%s.%N > "$RUNYARD_RUN_DIR/ended"'
            )
            ids = [api.submit(["/bin/sh", "-c", held], max_retries=0) for _ in range(3)]
            # 1 CPU: one runs, one waits in Ray's queue (`starting`), one in runyard's
            wait_for(
                lambda: (
                    sorted(api.run(i)["status"] for i in ids) == ["queued", "running", "starting"]
                ),
                60,
                "one running, one in Ray's queue, one in runyard's",
            )
            # the first holds the CPU until Ray has given up a wait (after RAY_GIVES_UP_S)
            requeued = wait_for(lambda: _requeued(home, ids), 60, "Ray gave up a wait")
            assert "JOB_SUPERVISOR_ACTOR_START_TIMEOUT" in requeued[0]
            flag.touch()
            runs = [api.until(i, "completed", "failed", timeout=120) for i in ids]
            assert [(r["status"], r["attempt_count"]) for r in runs] == [("completed", 1)] * 3
            assert [a["status"] for i in ids for a in api.attempts(i)] == ["succeeded"] * 3
        finally:
            srv.stop()
    # one at a time: none began before the one before it ended
    spans = sorted(
        tuple(float((Path(r["run_dir"]) / name).read_text()) for name in ("began", "ended"))
        for r in runs
    )
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert began >= ended, spans


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
    # (stopped the moment it starts: a grace of 1 s, not the 10 s default, before SIGKILL)
    waiting = api.submit(["/bin/sh", "-c", "sleep 30; echo finished"], max_retries=0, grace_s=1)
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
