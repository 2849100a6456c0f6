"""Jobs on Ray nodes that do not share the server's disk: the attempt runs in scratch on its
node, its checkpoint and artifact are uploaded and checked, and the retry resumes from the
checkpoint downloaded to its node, `resume_args` given that node-local path."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from tests.ray._cluster import RayCluster
from tests.ray.conftest import Api, ray_server
from tests.ray.test_ray_jobs import log_of
from tests.runner.conftest import PROGRAMS

pytestmark = pytest.mark.ray


def _line(log: str, start: str) -> dict[str, str]:
    line = next(x for x in log.splitlines() if x.startswith(start))
    return dict(part.split("=", 1) for part in line.split()[2:])


def test_a_job_on_scratch_uploads_and_its_retry_resumes_from_the_node_local_copy(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    project = tmp_path / "project"  # shipped to the node as the job's working dir
    project.mkdir()
    shutil.copy(PROGRAMS / "node_resume.py", project / "train.py")
    srv = ray_server(tmp_path / "home", shared=False)
    try:
        api = Api(srv.url)
        rid = api.submit(
            # One machine here: the node has this venv (a real node, its own install).
            [sys.executable, "train.py"],
            cwd=str(project),
            checkpoints=["checkpoints/*.bin"],
            resume_args=["--resume", "{resume_from}"],
            max_retries=1,
            retry_delay_s=0.2,
        )
        run = api.until(rid, "completed", "failed", timeout=150)
        assert run["status"] == "completed", (run, log_of(run, 1), log_of(run, 2))
        loss = httpx.get(f"{srv.url}/api/runs/{rid}/metrics", params={"keys": "loss"}).json()
    finally:
        srv.stop()
        ray_cluster.stop_all_jobs()
    assert loss["metrics"]["loss"]["steps"] == [1, 2]
    server_dir = Path(run["run_dir"])
    first, second = log_of(run, 1), log_of(run, 2)
    node_1 = Path(_line(first, "attempt 1")["dir"])
    assert not node_1.is_relative_to(server_dir) and node_1.name == f"{rid}-1"
    kept = server_dir / "checkpoints" / "weights.bin"
    assert kept.read_bytes() == (node_1 / "checkpoints" / "weights.bin").read_bytes()
    assert (server_dir / "artifacts" / "report.txt").read_text() == "made on a node\n"

    seen = _line(second, "attempt 2")
    node_2 = Path(seen["dir"])
    assert node_2.name == f"{rid}-2" and not node_2.is_relative_to(server_dir)
    fetched = node_2 / "checkpoints" / "weights.bin"
    assert seen["resume"] == seen["from"] == str(fetched)  # the node's path, not the server's
    assert fetched.read_bytes() == kept.read_bytes()
    assert f"resumed {hashlib.sha256(kept.read_bytes()).hexdigest()}" in second
