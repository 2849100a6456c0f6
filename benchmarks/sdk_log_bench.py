#!/usr/bin/env python
"""The SDK's hot path and its end-to-end throughput, measured: runyard alone, no peer here.

MLflow's logging calls (synchronous and asynchronous) are measured beside runyard's in
ingest_bench.py, against a live server each.

1. `run.log` with 10 keys in a tight loop (default 1,000,000 calls), each call timed with
   perf_counter_ns: median, p99, p99.9 and max. The run records offline (RUNYARD_URL points
   at a closed port), so only the SDK itself is measured: the buffer append in the caller and,
   competing for the GIL, the background thread that turns rows into batches and spools them.
2. SDK → server: a live `runyard server` (SQLite, temp home), 200,000 steps x 10 keys logged as
   fast as possible, then `finish()`; points/s counted from the first log call until the server
   has acknowledged everything (the finish op included). The points are then read back and
   counted.

Run: `.venv/bin/python benchmarks/sdk_log_bench.py [--calls N] [--steps N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from array import array
from pathlib import Path

import httpx
from _common import VENV_BIN, free_port, server

KEYS = [f"metric/k{i}" for i in range(10)]


def _percentile(sorted_ns: array[int], q: float) -> float:
    return float(sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))])


def bench_log_calls(calls: int, workdir: Path) -> None:
    import runyard

    os.chdir(workdir)
    os.environ["RUNYARD_URL"] = f"http://127.0.0.1:{free_port()}"
    os.environ["RUNYARD_FLUSH_TIMEOUT"] = "1"
    run = runyard.init(experiment="bench")
    times = array("q", bytes(8 * calls))
    clock = time.perf_counter_ns
    log = run.log
    row = {k: 0.0 for k in KEYS}
    t_start = time.perf_counter()
    for i in range(calls):
        row[KEYS[i % 10]] = i * 0.001
        t0 = clock()
        log(row)
        times[i] = clock() - t0
    wall = time.perf_counter() - t_start
    t_finish = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - t_finish
    ordered = array("q", sorted(times))
    print(f"run.log, 10 keys, {calls:,} calls in a tight loop (offline run, spooling on)")
    print(f"  median  {statistics.median(times) / 1000:8.2f} µs")
    print(f"  p99     {_percentile(ordered, 0.99) / 1000:8.2f} µs")
    print(f"  p99.9   {_percentile(ordered, 0.999) / 1000:8.2f} µs")
    print(f"  max     {ordered[-1] / 1000:8.2f} µs")
    print(f"  loop    {calls / wall:,.0f} calls/s ({calls * 10 / wall:,.0f} points/s)")
    print(f"  finish  {finish_s:.2f} s (spooling the rest; no server to deliver to)")


def bench_throughput(steps: int, workdir: Path) -> None:
    import runyard

    port = free_port()
    home = workdir / "home"
    argv = [str(VENV_BIN / "runyard"), "server", "--port", str(port), "--home", str(home)]
    with server(
        argv, port=port, health_path="/api/health", log=workdir / "server.log", cwd=workdir
    ) as srv:
        os.environ["RUNYARD_URL"] = srv.url
        os.environ["RUNYARD_FLUSH_TIMEOUT"] = "600"
        run = runyard.init(experiment="bench")
        t0 = time.perf_counter()
        for step in range(steps):
            run.log({k: step * 0.5 + i for i, k in enumerate(KEYS)})
        logged = time.perf_counter() - t0
        run.finish()
        total = time.perf_counter() - t0
        assert run.delivered, "not everything was delivered"
        points = steps * len(KEYS)
        body = httpx.get(f"{srv.url}/api/runs/{run.id}/summary", timeout=60).json()
        counted = sum(m["count"] for m in body["metrics"].values())
        print(f"\nSDK → server ({srv.url}, SQLite), {steps:,} steps x {len(KEYS)} keys")
        print(f"  logging loop   {logged:6.2f} s  ({points / logged:,.0f} points/s into the SDK)")
        print(f"  until acked    {total:6.2f} s  ({points / total:,.0f} points/s delivered)")
        print(f"  server counts  {counted:,} points (expected {points:,})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runyard-sdk-bench-") as tmp:
        bench_log_calls(args.calls, Path(tmp))
        sys.stdout.flush()
        bench_throughput(args.steps, Path(tmp))


if __name__ == "__main__":
    main()
