#!/usr/bin/env python
"""Scheduler figures: submit-to-start latency on an idle queue, overhead per job while
1,000 no-op jobs drain through 2 slots, and the server's CPU while idle.

Run: `make bench` or `.venv/bin/python benchmarks/scheduler_bench.py [--jobs N]`.
No peer is named for this one in the issue; the targets are ≤ 200 ms submit-to-start,
≤ 20 ms overhead per job, idle CPU < 1 %.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from _common import VENV_BIN, _cpu_seconds, free_port, median, process_tree, server, table

SUBMIT_TO_START_RUNS = 20


def _wait_done(http: httpx.Client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http.get(f"/api/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "cancelled"):
            return run
        time.sleep(0.005)
    raise TimeoutError(run_id)


def submit_to_start(http: httpx.Client, cwd: str) -> list[float]:
    """Submit a job that prints the time it started; compare with the time of the POST."""
    out = []
    for _ in range(SUBMIT_TO_START_RUNS):
        t0 = time.time()
        run = http.post(
            "/api/runs", json={"command": ["/bin/date", "+%s.%N"], "cwd": cwd, "max_retries": 0}
        ).json()
        _wait_done(http, run["id"])
        log = http.get(f"/api/runs/{run['id']}/logs").json()["text"]
        started = float(log.split()[0])
        out.append(started - t0)
    return out


def drain(http: httpx.Client, cwd: str, jobs: int) -> tuple[float, float, float]:
    """Queue `jobs` no-op jobs at once; wall time until the last ended, mean process time."""
    t0 = time.perf_counter()
    ids = [
        http.post(
            "/api/runs", json={"command": ["/bin/true"], "cwd": cwd, "max_retries": 0}
        ).json()["id"]
        for _ in range(jobs)
    ]
    submitted = time.perf_counter() - t0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        page = http.get(
            "/api/runs", params={"status": "queued,starting,running", "limit": 1}
        ).json()
        if not page["runs"]:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    attempts = [http.get(f"/api/runs/{i}/attempts").json()["attempts"][0] for i in ids[:100]]
    from datetime import datetime

    def ts(s: str) -> float:
        return datetime.fromisoformat(s).timestamp()

    busy = median([ts(a["ended_at"]) - ts(a["started_at"]) for a in attempts])
    return submitted, wall, busy


def idle_cpu(pid: int, seconds: float = 10.0) -> float:
    tree = process_tree(pid)
    before = _cpu_seconds(tree)
    time.sleep(seconds)
    return (_cpu_seconds(tree) - before) / seconds * 100


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        port = free_port()
        argv = [str(VENV_BIN / "runyard"), "server", "--home", f"{tmp}/home", "--port", str(port),
                "--slots", "2", "--gpus", "0"]  # fmt: skip
        with server(argv, port=port, health_path="/api/health", log=Path(tmp) / "server.log",
                    cwd=Path(tmp)) as srv:  # fmt: skip
            srv.settle()
            idle_before = idle_cpu(srv.proc.pid)
            with httpx.Client(base_url=srv.url, timeout=60) as http:
                latencies = submit_to_start(http, tmp)
                submitted, wall, busy = drain(http, tmp, args.jobs)
            srv.settle()
            idle_after = idle_cpu(srv.proc.pid)
    per_job = wall * 2 / args.jobs  # two slots
    overhead = per_job - busy
    rows = [
        ["submit-to-start, idle queue (median of 20)", f"{median(latencies) * 1000:.0f} ms",
         "≤ 200 ms", "met" if median(latencies) <= 0.2 else "MISSED"],
        [f"submit {args.jobs} jobs", f"{submitted:.2f} s", "", ""],
        [f"drain {args.jobs} no-op jobs on 2 slots", f"{wall:.1f} s", "", ""],
        ["slot time per job", f"{per_job * 1000:.1f} ms", "", ""],
        ["  of which the process (median)", f"{busy * 1000:.1f} ms", "", ""],
        ["  scheduling overhead per job", f"{overhead * 1000:.1f} ms", "≤ 20 ms",
         "met" if overhead <= 0.02 else "MISSED"],
        ["server CPU idle, before load", f"{idle_before:.2f} %", "< 1 %", _met(idle_before < 1)],
        ["server CPU idle, after load", f"{idle_after:.2f} %", "< 1 %", _met(idle_after < 1)],
    ]  # fmt: skip
    print(table(["runyard scheduler", "measured", "target", ""], rows))


if __name__ == "__main__":
    main()
