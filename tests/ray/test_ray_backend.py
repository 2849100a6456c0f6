"""The Ray backend without a cluster: Ray's words mapped onto outcomes, an unreachable Ray
address (the server starts, jobs wait with the reason shown), the queue resized."""

from __future__ import annotations

from pathlib import Path

import httpx

from runyard.runner.ray import JobState, outcome_of
from runyard.runner.resources import Resources
from tests._postgres import free_port
from tests.conftest import ServerProcess
from tests.ray.conftest import wait_for


def test_ray_states_map_onto_outcomes() -> None:
    assert outcome_of(JobState("PENDING"), None) is None
    assert outcome_of(JobState("RUNNING"), 5) is None
    done = outcome_of(JobState("SUCCEEDED", end_ms=2000), None)
    assert done is not None and (done.exit_code, done.ended_at) == (0, 2.0)
    failed = outcome_of(JobState("FAILED", exit_code=3), None)
    assert failed is not None and (failed.exit_code, failed.lost) == (3, False)
    killed = outcome_of(JobState("FAILED", exit_code=-9), None)
    assert killed is not None and (killed.exit_code, killed.signal) == (None, 9)
    node_died = outcome_of(
        JobState("FAILED", message="the node died", error_type="JOB_SUPERVISOR_ACTOR_DIED"), None
    )
    assert node_died is not None and node_died.lost
    assert node_died.detail == "Ray: JOB_SUPERVISOR_ACTOR_DIED: the node died"
    stopped = outcome_of(JobState("STOPPED", start_ms=0, end_ms=1000), timeout_s=10)
    assert stopped is not None and stopped.cancelled and not stopped.timed_out
    timed_out = outcome_of(JobState("STOPPED", start_ms=0, end_ms=10_500), timeout_s=10)
    assert timed_out is not None and timed_out.timed_out and not timed_out.cancelled
    # submitted at 0, waited 6 s in Ray's queue, ran from 6 to 10.5: not timed out
    waited = outcome_of(JobState("STOPPED", start_ms=0, end_ms=10_500), 10, began=6.0)
    assert waited is not None and waited.cancelled and not waited.timed_out
    never = outcome_of(
        JobState("FAILED", message="waited 900 s", error_type="JOB_SUPERVISOR_ACTOR_START_TIMEOUT"),
        None,
    )
    assert never is not None and never.unstarted and never.lost  # lost, where not requeued


def test_a_state_runyard_does_not_know_is_lost_with_rays_words() -> None:
    odd = outcome_of(JobState("HIBERNATING", message="napping"), None)
    assert odd is not None and odd.lost
    assert odd.detail == "Ray reports the job as 'HIBERNATING' (Ray: napping)"


def test_resources_follow_the_cluster_and_keep_what_is_in_use() -> None:
    res = Resources(gpus=0, cpus=0)
    res.resize(2, 4)
    assert res.allocate(1, 3) == [0]
    res.resize(1, 2)  # a node left: what runs still counts
    assert res.free == (0, 0)
    res.release([0], 3)
    assert res.free == (1, 2)


def test_a_cluster_is_handed_one_attempt_ahead_per_slot() -> None:
    """Ray queues the extra ones and starts each as a slot frees; `free` counts only what
    exists, `full` the places handed out."""
    res = Resources(gpus=0, cpus=0, ahead=1.0)
    res.resize(1, 2)
    assert res.free == (1, 2) and not res.full
    assert res.allocate(1, 1) == [0] and res.allocate(1, 1) == [1]  # a GPU and its place
    assert res.allocate(1, 1) is None  # two GPU places, both handed out
    assert res.free == (0, 0) and not res.full  # all 2 CPUs busy; 2 queue places left
    assert res.allocate(0, 2) == [] and res.full
    res.release([1], 1)
    assert not res.full and res.free == (0, 0)
    res.release([0], 1)
    res.release([], 2)
    assert res.free == (1, 2)


def test_an_unreachable_ray_leaves_the_server_up_and_jobs_queued_with_the_reason(
    tmp_path: Path,
) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    srv = ServerProcess(
        tmp_path / "home", "--backend", "ray", "--ray-address", address
    ).wait_ready()
    try:
        r = httpx.post(f"{srv.url}/api/runs", json={"command": ["true"], "gpus": 64})
        assert r.status_code == 201, r.text  # the cluster's size is unknown: queued, not refused
        rid = r.json()["id"]
        run = wait_for(
            lambda: (x := httpx.get(f"{srv.url}/api/runs/{rid}").json())["reason"] and x,
            what="a reason on the queued run",
        )
        assert run["status"] == "queued"
        assert f"Ray is unreachable at {address}" in run["reason"]
        cluster = httpx.get(f"{srv.url}/api/system").json()["cluster"]
        assert (cluster["address"], cluster["reachable"], cluster["nodes"]) == (address, False, [])
        assert "unreachable" in cluster["error"]
    finally:
        srv.stop()


def test_a_ray_server_runs_a_job_that_asks_for_this_machine_while_ray_is_away(
    tmp_path: Path,
) -> None:
    """Per-job backends: on a Ray server, `backend: local` runs here, accounted against this
    machine's slots, while jobs for Ray (the server's default) wait for Ray with the reason;
    a local server refuses `backend: ray` naming what it has."""
    address = f"http://127.0.0.1:{free_port()}"
    srv = ServerProcess(
        tmp_path / "home", "--backend", "ray", "--ray-address", address, "--slots", "1"
    ).wait_ready()
    try:
        url = srv.url
        assert httpx.get(f"{url}/api/system").json()["backends"] == ["ray", "local"]
        too_big = httpx.post(
            f"{url}/api/runs", json={"command": ["true"], "backend": "local", "cpus": 2}
        )
        assert too_big.status_code == 400, too_big.text
        assert "this server has 1" in too_big.json()["error"]["message"]
        bogus = httpx.post(f"{url}/api/runs", json={"command": ["true"], "backend": "slurm"})
        assert bogus.status_code == 422 and "backend" in bogus.json()["error"]["message"]

        for_ray = httpx.post(f"{url}/api/runs", json={"command": ["true"]}).json()["id"]
        here = [
            httpx.post(
                f"{url}/api/runs",
                json={"command": ["/bin/sh", "-c", "echo here"], "backend": "local"},
            ).json()["id"]
            for _ in range(2)  # one slot: one after the other
        ]
        for rid in here:
            run = wait_for(
                lambda rid=rid: (
                    (x := httpx.get(f"{url}/api/runs/{rid}").json())["status"] == "completed" and x
                ),
                what=f"local job {rid} completed",
            )
            assert run["reason"] is None
            (attempt,) = httpx.get(f"{url}/api/runs/{rid}/attempts").json()["attempts"]
            assert attempt["backend"] == "local" and attempt["pid"] is not None
        waiting = wait_for(
            lambda: (x := httpx.get(f"{url}/api/runs/{for_ray}").json())["reason"] and x,
            what="the Ray job's reason",
        )
        assert waiting["status"] == "queued" and "unreachable" in waiting["reason"]
    finally:
        srv.stop()
    local = ServerProcess(tmp_path / "home2").wait_ready()
    try:
        r = httpx.post(f"{local.url}/api/runs", json={"command": ["true"], "backend": "ray"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"] == (
            "this server has no ray backend (it runs jobs on: local); start it with --backend ray"
        )
        assert httpx.get(f"{local.url}/api/system").json()["backends"] == ["local"]
    finally:
        local.stop()
