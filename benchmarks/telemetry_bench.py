#!/usr/bin/env python
"""The telemetry sampler's own cost: CPU of the server process (its own, not its jobs')
with 8 sleeping jobs sampled, against the same 8 jobs with the sampler idle, and no jobs.

Two views of one figure:
- a real `runyard server` subprocess, its CPU seconds over a window (noisy on a shared box);
- in process, the CPU time of one sampler pass (host, 8 process trees, 8 metric writes) on
  its own thread, divided by the interval (steady).

Run: `.venv/bin/python benchmarks/telemetry_bench.py [--seconds 30] [--interval 5]`.
Target: the sampler costs ≤ 2 % of one core with 8 jobs at the default interval.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _common import VENV_BIN, _cpu_seconds, free_port, server, table

JOBS = 8
SLEEP = ["/bin/sleep", "600"]


def _wait_running(http: httpx.Client, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = http.get("/api/runs", params={"status": "running", "limit": 100}).json()
        if {r["id"] for r in page["runs"]} >= set(ids):
            return
        time.sleep(0.1)
    raise TimeoutError("the jobs did not all start")


def _server_cpu(interval: float, jobs: int, seconds: float) -> float:
    """Percent of one core the server process itself used over ``seconds``."""
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        port = free_port()
        argv = [str(VENV_BIN / "runyard"), "server", "--home", f"{tmp}/home", "--port", str(port),
                "--slots", str(JOBS), "--gpus", "0"]  # fmt: skip
        env = {**os.environ, "RUNYARD_TELEMETRY_INTERVAL_S": str(interval)}
        log = Path(tmp) / "server.log"
        with (
            server(
                argv, port=port, health_path="/api/health", log=log, cwd=Path(tmp), env=env
            ) as srv,
            httpx.Client(base_url=srv.url, timeout=60) as http,
        ):
            ids = [
                http.post("/api/runs", json={"command": SLEEP, "max_retries": 0}).json()["id"]
                for _ in range(jobs)
            ]
            _wait_running(http, ids)
            time.sleep(max(3.0, 2 * min(interval, 5.0)))  # past start-up and a first pass
            before = _cpu_seconds([srv.proc.pid])
            time.sleep(seconds)
            used = _cpu_seconds([srv.proc.pid]) - before
            for run_id in ids:
                http.post(f"/api/runs/{run_id}/cancel")
    return used / seconds * 100


def _pass_cost(passes: int) -> tuple[float, float]:
    """CPU ms of one sampler pass with 8 jobs: median and max."""
    from runyard.config import Settings
    from runyard.entities import JobSpec
    from runyard.server.sampler import Sampler
    from runyard.store import Store

    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        settings = Settings(home=Path(tmp) / "home")
        store = Store.open(settings.db_url, settings.runs_dir)
        procs = [subprocess.Popen(SLEEP) for _ in range(JOBS)]
        try:
            for proc in procs:
                run = store.jobs.submit(JobSpec(command=SLEEP), experiment="bench")
                store.jobs.claim(run.id, "local", [])
                start = psutil.Process(proc.pid).create_time()
                store.jobs.attempt_started(run.id, 1, proc.pid, start, None)
            sampler = Sampler(store, settings)
            sampler.host.prime()
            sampler.tick()  # the first pass opens what later ones reuse
            costs = []
            for _ in range(passes):
                t0 = time.thread_time()
                sampler.tick()
                costs.append((time.thread_time() - t0) * 1000)
            sampler.stop()
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
            store.close()
    return statistics.median(costs), max(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring window per case")
    parser.add_argument("--interval", type=float, default=5.0, help="the sampling interval")
    parser.add_argument("--passes", type=int, default=50)
    args = parser.parse_args()
    off = 3600.0  # the sampler takes one pass at start, then none within the window
    idle = _server_cpu(args.interval, 0, args.seconds)
    quiet = _server_cpu(off, JOBS, args.seconds)
    sampled = _server_cpu(args.interval, JOBS, args.seconds)
    median_ms, max_ms = _pass_cost(args.passes)
    share = median_ms / (args.interval * 1000) * 100
    rows = [
        ["server, no jobs, sampler on", f"{idle:.2f} %", "", ""],
        [f"server, {JOBS} sleeping jobs, sampler idle", f"{quiet:.2f} %", "", ""],
        [f"server, {JOBS} sleeping jobs, sampler every {args.interval:g} s", f"{sampled:.2f} %",
         "", ""],
        ["  the sampler's share (difference)", f"{sampled - quiet:.2f} %", "≤ 2 %",
         "met" if sampled - quiet <= 2 else "MISSED"],
        [f"one pass, {JOBS} jobs, in process (median / max of {args.passes})",
         f"{median_ms:.1f} / {max_ms:.1f} ms", "", ""],
        [f"  as a share of one core at {args.interval:g} s", f"{share:.2f} %", "≤ 2 %",
         "met" if share <= 2 else "MISSED"],
    ]  # fmt: skip
    print(table(["runyard telemetry (% of one core)", "measured", "target", ""], rows))


if __name__ == "__main__":
    main()
