"""A real Ray cluster on this machine, fenced in a network namespace of its own.

A holder process (`unshare --net`, loopback up) owns the namespace. Each Ray node runs
`ray start --block` as PID 1 of a PID namespace of its own inside it: killing that one
process kills the whole node (raylet, agents, workers, job drivers), as a machine dying
would, and nothing of it can outlive the tests. The test thread enters the namespace
(setns(2) acts on the calling thread only), so that the runyard servers it starts and its
HTTP clients share loopback with the cluster, while the rest of the suite never sees it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

CLONE_NEWNET = 0x40000000
GCS_PORT = 6399
DASHBOARD_PORT = 8265
# A node killed by a test is found dead in ~4 s instead of ~15 (Ray's defaults: a check
# every 3 s, 5 failures of 10 s each); a live node must miss three checks of 3 s in a row.
HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "3000",
    "RAY_health_check_failure_threshold": "3",
}
ADDRESS = f"http://127.0.0.1:{DASHBOARD_PORT}"
_libc = ctypes.CDLL(None, use_errno=True)
_TEMPS: list[Path] = []


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET) failed")


def ray_available() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install runyard[ray])"
    return None


class RayCluster:
    def __init__(self, root: Path, holder: int | None = None, env: dict[str, str] | None = None):
        """A new namespace; or, with `holder`, the namespace of that holder's pid (a cluster
        kept running between test sessions by `python -m tests.ray._cluster`). `env`: more
        variables for its nodes (Ray's own settings)."""
        self.root = root
        # short, since Ray's sockets live here; one per cluster of this process
        self.temp = Path(f"/tmp/runyard-ray-{os.getpid()}-{len(_TEMPS)}")
        _TEMPS.append(self.temp)
        self.attached = holder is not None
        self.holder = (
            subprocess.Popen(
                ["unshare", "--net", "sh", "-c", "ip link set lo up && exec sleep infinity"]
            )
            if holder is None
            else _Attached(holder)
        )
        self._home_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        self._ns: int | None = None
        self._depth = 0  # `inside` nests
        deadline = time.monotonic() + 10
        # `sh` execs `sleep` once loopback is up
        while not Path(f"/proc/{self.holder.pid}/cmdline").read_bytes().startswith(b"sleep"):
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the network namespace did not come up")
            time.sleep(0.05)
        self._ns = os.open(f"/proc/{self.holder.pid}/ns/net", os.O_RDONLY)
        self.head: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self._env = {
            **os.environ,
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
            **HEALTH_CHECKS,
        }
        self._env.update(env or {})
        for name in list(self._env):
            if name.startswith("RUNYARD_"):
                del self._env[name]

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """This thread (and what it starts) in the cluster's network namespace."""
        assert self._ns is not None
        self._depth += 1
        if self._depth == 1:
            _setns(self._ns)
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                _setns(self._home_ns)

    def _node(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
        ray = str(Path(sys.executable).with_name("ray"))
        common = ["--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1"]
        common += ["--object-store-memory", str(80 * 1024**2), "--disable-usage-stats"]
        with self.inside():
            proc = subprocess.Popen(
                [*argv, ray, "start", *common, *args], env=self._env, stdout=log, stderr=log
            )
        log.close()
        return proc

    def start_head(self) -> None:
        self.head = self._node(
            "head",
            "--head",
            "--port",
            str(GCS_PORT),
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(DASHBOARD_PORT),
            "--temp-dir",
            str(self.temp),
            "--include-dashboard",
            "true",
        )

    def start_worker(self) -> None:
        # one address for both nodes: the worker's agent needs a port of its own
        self.worker = self._node(
            "worker",
            "--address",
            f"127.0.0.1:{GCS_PORT}",
            "--dashboard-agent-listen-port",
            str(DASHBOARD_PORT + 1),
        )

    def kill(self, which: str) -> None:
        proc = self.head if which == "head" else self.worker
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # PID 1 of the node's namespace: all of it dies
            proc.wait()

    def stop_all_jobs(self) -> None:
        """Stop every Ray job still going (runyard servers end; their Ray jobs do not)."""
        with self.inside(), contextlib.suppress(httpx.TransportError):  # unless Ray is down
            jobs = httpx.get(f"{ADDRESS}/api/jobs/", timeout=30).json()
            for job in jobs:
                if job["status"] in ("PENDING", "RUNNING") and job.get("submission_id"):
                    httpx.post(f"{ADDRESS}/api/jobs/{job['submission_id']}/stop", timeout=30)

    def alive_nodes(self) -> list[dict[str, object]]:
        with self.inside():
            try:
                r = httpx.get(f"{ADDRESS}/api/v0/nodes", timeout=5)
                rows = r.json()["data"]["result"]["result"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                return []
        return [n for n in rows if n.get("state") == "ALIVE"]

    def wait_nodes(self, count: int, timeout: float = 240) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        retries = 3
        while time.monotonic() < deadline:
            # Under load a node may give up its start (Ray waits 30 s for its raylet, or the
            # worker came before the GCS knew the head): start it again, a few times.
            if self.head is not None and self.head.poll() not in (None, -9) and retries:
                retries -= 1
                self.start_head()
            worker_failed = self.worker is not None and self.worker.poll() not in (None, -9)
            if worker_failed and self.head is not None and self.head.poll() is None and retries:
                retries -= 1
                self.start_worker()
            for proc, name in ((self.head, "head"), (self.worker, "worker")):
                if proc is not None and proc.poll() is not None and proc.returncode != -9:
                    text = (self.root / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"ray {name} exited {proc.returncode}: {text}")
            nodes = self.alive_nodes()
            if len(nodes) >= count:
                return nodes
            time.sleep(0.5)
        raise TimeoutError(f"the Ray cluster did not reach {count} live node(s) in time")

    def close(self) -> None:
        if self.attached:
            os.close(self._home_ns)
            return
        self.kill("worker")
        self.kill("head")
        self.holder.kill()
        self.holder.wait()
        if self._ns is not None:
            os.close(self._ns)
        os.close(self._home_ns)
        shutil.rmtree(self.temp, ignore_errors=True)


class _Attached:
    def __init__(self, pid: int):
        self.pid = pid

    def poll(self) -> int | None:
        return None


if __name__ == "__main__":  # a cluster for a developer's repeated test sessions
    import tempfile

    cluster = RayCluster(Path(tempfile.mkdtemp(prefix="runyard-ray-dev-")))
    cluster.start_head()
    cluster.start_worker()
    cluster.wait_nodes(2)
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # then sigwait takes them: close runs
    sys.stdout.write(f"RAY_TEST_HOLDER={cluster.holder.pid}  (Ctrl-C stops the cluster)\n")
    sys.stdout.flush()
    try:
        signal.sigwait(stops)
    finally:
        cluster.close()
