"""Nodes die under running jobs: a worker node (the attempt fails and runs again on the
other node), the head (Ray forgets its jobs: the attempt is lost and runs again, once)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.ray._cluster import ADDRESS, RayCluster
from tests.ray.conftest import Api, wait_for
from tests.ray.test_ray_jobs import began, gated

pytestmark = pytest.mark.ray


def driver_node(submission_id: str) -> str:
    return str(
        httpx.get(f"{ADDRESS}/api/jobs/{submission_id}", timeout=10).json()["driver_node_id"]
    )


def test_a_killed_worker_node_fails_the_attempt_and_it_runs_again_elsewhere(
    rayserver: ServerProcess, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    nodes = ray_cluster.wait_nodes(2)
    worker = next(str(n["node_id"]) for n in nodes if not n["is_head_node"])
    head = next(str(n["node_id"]) for n in nodes if n["is_head_node"])
    api = Api(rayserver.url)
    flags = {}
    for name in ("a", "b"):  # one CPU per node: one on each
        flags[name] = tmp_path / name
        rid = api.submit(gated(flags[name]), max_retries=2, retry_delay_s=0.5)
        flags[rid] = flags.pop(name)
    rids = list(flags)
    for rid in rids:
        wait_for(lambda rid=rid: began(api, rid), what=f"{rid} started")
    on_worker = [rid for rid in rids if driver_node(f"{rid}-1") == worker]
    assert len(on_worker) == 1, [driver_node(f"{rid}-1") for rid in rids]
    (victim,) = on_worker
    (other,) = set(rids) - {victim}

    ray_cluster.kill("worker")
    # (the retry may wait for a CPU: the head's only one is `other`'s until it ends)
    first = wait_for(
        lambda: (a := api.attempts(victim)[0])["status"] in ("lost", "failed") and a,
        120,
        "the victim's attempt ended",
    )
    assert first["reason"] and "Ray" in first["reason"], first
    flags[other].touch()  # frees the head's only CPU for the retry
    assert api.until(other, "completed", "failed")["status"] == "completed"
    wait_for(lambda: began(api, victim, 2), 120, "the retry started")
    assert driver_node(f"{victim}-2") == head
    flags[victim].touch()
    run = api.until(victim, "completed", "failed")
    assert run["status"] == "completed", run
    assert (Path(run["run_dir"]) / "starts").read_text() == "attempt 1\nattempt 2\n"


def test_a_restarted_head_loses_running_attempts_and_runs_them_once_more(
    rayserver: ServerProcess, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    api = Api(rayserver.url)
    flag = tmp_path / "go"
    rid = api.submit(gated(flag), max_retries=2, retry_delay_s=0.5)
    wait_for(lambda: began(api, rid), what="started")
    ray_cluster.kill("worker")
    ray_cluster.kill("head")  # Ray's job history goes with it

    waiting = api.submit(["/bin/sh", "-c", "echo later"])
    run = api.until(waiting, "queued")
    wait_for(
        lambda: "unreachable" in (api.run(waiting)["reason"] or ""), 30, "queued with the reason"
    )
    ray_cluster.start_head()
    ray_cluster.wait_nodes(1)

    # the older run goes first on the head's one CPU: its retry, then the waiting job
    wait_for(lambda: began(api, rid, 2), 180, "the second attempt started")
    lost = api.attempts(rid)[0]
    assert lost["status"] == "lost" and "no longer knows" in lost["reason"], lost
    flag.touch()
    run = api.until(rid, "completed", "failed")
    assert run["status"] == "completed" and run["attempt_count"] == 2, run
    assert (Path(run["run_dir"]) / "starts").read_text() == "attempt 1\nattempt 2\n"
    assert api.until(waiting, "completed", "failed")["status"] == "completed"
