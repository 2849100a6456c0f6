"""No process outlives its attempt: children, setsid daemons that ignore SIGTERM, all ended
(and counted) after success, failure, timeout and cancel."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psutil
import pytest

from runyard.runner import _reaper
from tests.runner.conftest import LiveClient, program, submit, wait_for, wait_status

ENDS = {
    "ok": ({}, "completed", "succeeded"),
    "fail": ({}, "failed", "failed"),
    "timeout": ({"timeout_s": 2}, "failed", "timed_out"),
    "cancel": ({}, "cancelled", "cancelled"),
}


def _marked(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in (proc.info["cmdline"] or []) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.parametrize("end", list(ENDS))
def test_nothing_an_attempt_started_outlives_it(jobs: LiveClient, tmp_path: Path, end: str) -> None:
    spec, status, attempt_status = ENDS[end]
    marker = f"runyard-escaper-{uuid.uuid4().hex}"
    pidfile = tmp_path / "pids.txt"
    mode = {"ok": "ok", "fail": "fail"}.get(end, "hang")
    run = submit(
        jobs,
        program("escaper.py", mode, marker, str(pidfile)),
        grace_s=0.5,
        max_retries=0,
        **spec,
    )
    wait_for(jobs, pidfile.exists, timeout=30)
    pids = [int(p) for p in pidfile.read_text().split()]
    if mode == "hang":  # all three are alive, the daemon outside the job's process group
        assert len(_marked(marker)) >= 3
        daemon = psutil.Process(pids[2])
        assert os.getpgid(daemon.pid) != os.getpgid(pids[0])
        probe = _reaper.Cgroup.create(f"runyard-probe-{uuid.uuid4().hex}")
        if probe is not None:  # cgroup v2 is writable here: the attempt has its own
            probe.remove()
            line = next(x for x in Path(f"/proc/{daemon.pid}/cgroup").read_text().splitlines()
                        if x.startswith("0::"))  # fmt: skip
            assert "/runyard-attempt-" in line
            cgroup_dir = Path(str(_reaper.cgroup2_mount()) + line[3:])
            assert cgroup_dir.is_dir()
    if end == "cancel":
        assert jobs.post(f"/api/runs/{run['id']}/cancel").status_code == 200
    done = wait_status(jobs, run["id"], status, timeout=60)
    attempts = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert attempts[-1]["status"] == attempt_status, (done, attempts)
    # The shim ends and reaps them before it reports: by the time the run has ended, none is
    # left (not even as a zombie).
    assert _marked(marker) == []
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    if mode == "hang" and probe is not None:
        assert not cgroup_dir.exists()  # removed once empty


def test_the_cgroup2_mount_is_read_from_mountinfo(tmp_path: Path) -> None:
    hybrid = tmp_path / "mountinfo"
    hybrid.write_text(
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    )
    assert _reaper.cgroup2_mount(str(hybrid)) == "/sys/fs/cgroup/unified"
    unified = tmp_path / "unified"
    unified.write_text("35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n")
    assert _reaper.cgroup2_mount(str(unified)) == "/sys/fs/cgroup"
    v1 = tmp_path / "v1"
    v1.write_text("31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")
    assert _reaper.cgroup2_mount(str(v1)) is None
    assert _reaper.cgroup2_mount(str(tmp_path / "absent")) is None
