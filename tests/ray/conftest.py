"""Ray fixtures: one real cluster (a head and a worker node) for the session, in a network
namespace that each `ray`-marked test enters; runyard servers on the `ray` backend."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.ray._cluster import ADDRESS, RayCluster, ray_available


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that kill nodes run last: the cluster they leave behind is smaller. Under
    pytest-xdist (`--dist loadgroup`) every `ray` test goes to one worker, which starts the
    one cluster: two would not fit on two cores beside the rest."""
    items.sort(key=lambda item: item.path.name == "test_ray_nodes.py")
    for item in items:
        if item.get_closest_marker("ray") is not None:
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    why = ray_available()
    if why is not None:
        pytest.skip(why)
    holder = os.environ.get("RAY_TEST_HOLDER")  # a cluster kept between sessions
    cluster = RayCluster(tmp_path_factory.mktemp("ray"), int(holder) if holder else None)
    try:
        if not holder:
            cluster.start_head()
            cluster.start_worker()  # it waits for the head's GCS: both start at once
        cluster.wait_nodes(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(autouse=True)
def _in_cluster_netns(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("ray") is None:
        yield
        return
    cluster: RayCluster = request.getfixturevalue("ray_cluster")
    with cluster.inside():
        yield


def ray_server(
    home: Path, *args: str, port: int | None = None, shared: bool = True
) -> ServerProcess:
    """`runyard server --backend ray` on the test cluster, the run dirs shared (one disk),
    or not (`shared=False`: jobs get scratch on their node and upload what they make);
    its output is in `srv.log_path`."""
    srv = ServerProcess(
        home,
        "--backend",
        "ray",
        "--ray-address",
        ADDRESS,
        *args,
        env={"RUNYARD_SHARED_RUNS": "1" if shared else "0"},
        port=port,
    )
    try:
        return srv.wait_ready(timeout=120)  # a cold start on a busy machine may be slow
    except BaseException:
        srv.stop()  # never left behind
        raise


@pytest.fixture
def rayserver(
    tmp_path: Path, ray_cluster: RayCluster, _in_cluster_netns: None
) -> Iterator[ServerProcess]:
    cluster = ray_cluster
    srv = ray_server(tmp_path / "home")
    yield srv
    srv.stop()
    cluster.stop_all_jobs()


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not met in {timeout:g} s")


class Api:
    """The few calls these tests make, on one server URL."""

    def __init__(self, url: str):
        self.url = url

    def submit(self, command: list[str] | str, **spec: Any) -> str:
        r = httpx.post(f"{self.url}/api/runs", json={"command": command, **spec}, timeout=30)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/api/runs/{run_id}", timeout=30).json())

    def attempts(self, run_id: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/runs/{run_id}/attempts", timeout=30)
        return list(r.json()["attempts"])

    def until(self, run_id: str, *statuses: str, timeout: float = 120.0) -> dict[str, Any]:
        try:
            return dict(
                wait_for(
                    lambda: (r := self.run(run_id))["status"] in statuses and r,
                    timeout,
                    f"run {run_id} {'/'.join(statuses)}",
                )
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {self.run(run_id)} {self.attempts(run_id)}") from None


def kill_server(srv: ServerProcess) -> None:
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.stop()
