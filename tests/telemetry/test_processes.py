"""Process trees of real subprocesses: CPU and memory of the whole tree, pids checked."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from runyard.telemetry import ProcessTrees
from tests._hog import hog as start_hog

MB = 1024 * 1024


@pytest.fixture
def hog() -> Iterator[subprocess.Popen[bytes]]:
    """A parent that waits for a child holding 64 MB and spinning one core."""
    with start_hog(64) as proc:
        yield proc


def _start(pid: int) -> float:
    return psutil.Process(pid).create_time()


def test_the_whole_tree_is_sampled(hog: subprocess.Popen[bytes]) -> None:
    trees = ProcessTrees()
    roots = {("run", 1): (hog.pid, _start(hog.pid))}
    deadline = time.monotonic() + 30
    first = trees.sample(roots)[("run", 1)]
    assert first.cpu_percent is None  # psutil needs two looks at a process
    while time.monotonic() < deadline:
        sample = trees.sample(roots)[("run", 1)]
        if len(sample.pids) == 2 and sample.rss_bytes >= 64 * MB and (sample.cpu_percent or 0) > 20:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the child's memory and CPU never showed: {sample}")
    assert sample.pids[0] == hog.pid
    assert len(trees) == 1


def test_a_pid_that_started_at_another_time_is_not_ours(hog: subprocess.Popen[bytes]) -> None:
    trees = ProcessTrees()
    assert trees.sample({"a": (hog.pid, _start(hog.pid) - 5.0)}) == {}
    assert trees.sample({"b": (hog.pid, None)}) == {}
    assert len(trees) == 0


def test_trees_are_forgotten_when_their_key_goes(hog: subprocess.Popen[bytes]) -> None:
    trees = ProcessTrees()
    roots = {"a": (hog.pid, _start(hog.pid))}
    assert "a" in trees.sample(roots)
    assert trees.sample({}) == {} and len(trees) == 0


def test_an_ended_process_drops_out() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        trees = ProcessTrees()
        roots = {"a": (proc.pid, _start(proc.pid))}
        assert "a" in trees.sample(roots)
    finally:
        proc.kill()
        proc.wait()
    assert trees.sample(roots) == {}
    assert len(trees) == 0
