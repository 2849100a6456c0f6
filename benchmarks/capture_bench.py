#!/usr/bin/env python
"""What reading an unchanged program's output costs: 200,000 metric lines on stdout and
200,000 TensorBoard scalars, each from a job of a real `runyard server`.

Figures, per source:
- latency from a point being written to it being readable over the API (p50, p99): a line
  carries its write time as its value; a scalar carries it as its wall time;
- the server's CPU per 10,000 points (its own process; its idle CPU and the CPU of the API
  poll that measures the latency, both measured first, are subtracted);
- beside the peer: tensorboard's own EventAccumulator reading the same event file (wall
  time and CPU per 10,000 scalars).

Run: `.venv/bin/python benchmarks/capture_bench.py [--points 200000] [--rate 5000]`.
Targets: p99 ≤ 2 s; ≤ 1 % of a core per 1,000 lines/s (0.1 CPU-s per 10,000 lines).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from _common import _cpu_seconds, free_port, server, table

POLL_S = 0.1  # how often the API is asked for new points

LINES = textwrap.dedent(
    """
    import sys, time
    n, rate = int(sys.argv[1]), float(sys.argv[2])
    t0 = time.time()
    for i in range(n):
        ahead = t0 + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        print(f"iter {i}: loss 0.5, t {time.time():.6f}", flush=(i % 50 == 0))
    """
)
SCALARS = textwrap.dedent(
    """
    import sys, time
    from torch.utils.tensorboard import SummaryWriter
    n, rate = int(sys.argv[1]), float(sys.argv[2])
    w = SummaryWriter("tb", flush_secs=1)
    t0 = time.time()
    for i in range(n):
        ahead = t0 + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        w.add_scalar("loss", 0.5, i)
    w.close()
    print("event file:", w.file_writer.event_writer._file_name, flush=True)
    """
)


def _follow(http: httpx.Client, run_id: str, key: str, n: int, use_value: bool) -> list[float]:
    """Poll the API until n points of key are readable; latency of each, in seconds."""
    latencies: list[float] = []
    next_step = 0
    deadline = time.monotonic() + 3600
    while next_step < n and time.monotonic() < deadline:
        got = http.get(
            f"/api/runs/{run_id}/metrics", params={"keys": key, "start": next_step}
        ).json()["metrics"]
        now = time.time()
        series = got.get(key)
        if series and series["steps"]:
            written = series["values"] if use_value else series["timestamps"]
            latencies.extend(now - float(w) for w in written)
            next_step = series["steps"][-1] + 1
        time.sleep(POLL_S)
    return latencies


def _poll_cost(url: str, pid: int, seconds: float = 5.0) -> float:
    """CPU-s per second that polling an idle run's metrics costs the server (subtracted)."""
    with httpx.Client(base_url=url, timeout=60) as http:
        run = http.post("/api/runs", json={"experiment": "poll"}).json()
        c0, t0 = _cpu_seconds([pid]), time.monotonic()
        while time.monotonic() - t0 < seconds:
            http.get(f"/api/runs/{run['id']}/metrics", params={"keys": "t", "start": 0})
            time.sleep(POLL_S)
        return (_cpu_seconds([pid]) - c0) / (time.monotonic() - t0)


def _measure(url: str, pid: int, idle_rate: float, body: dict, key: str, n: int, by_value: bool):
    with httpx.Client(base_url=url, timeout=60) as http:
        cpu0, t0 = _cpu_seconds([pid]), time.monotonic()
        run = http.post("/api/runs", json=body).json()
        latencies = _follow(http, run["id"], key, n, by_value)
        cpu = _cpu_seconds([pid]) - cpu0 - idle_rate * (time.monotonic() - t0)
        deadline = time.monotonic() + 120
        while http.get(f"/api/runs/{run['id']}").json()["status"] not in ("completed", "failed"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return run, latencies, cpu


def _pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else float("nan")


def _peer(event_file: Path) -> tuple[float, float, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    t0, c0 = time.perf_counter(), time.process_time()
    acc = EventAccumulator(str(event_file), size_guidance={"scalars": 0})
    acc.Reload()
    count = len(acc.Scalars("loss"))
    return time.perf_counter() - t0, time.process_time() - c0, count


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=5000, help="points written per second")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
        work = Path(tmp)
        (work / "lines.py").write_text(LINES)
        (work / "scalars.py").write_text(SCALARS)
        port = free_port()
        argv = [sys.executable, "-m", "runyard", "server", "--home", f"{tmp}/home",
                "--port", str(port), "--gpus", "0"]  # fmt: skip
        with server(argv, port=port, health_path="/api/health", log=work / "server.log",
                    cwd=work, env=dict(os.environ)) as srv:  # fmt: skip
            srv.settle()
            c0 = _cpu_seconds([srv.proc.pid])
            time.sleep(5)
            idle = (_cpu_seconds([srv.proc.pid]) - c0) / 5
            polling = _poll_cost(srv.url, srv.proc.pid)
            base = idle + polling
            common = {"cwd": str(work), "max_retries": 0}
            n, rate = str(args.points), str(args.rate)
            _, lat, cpu = _measure(
                srv.url, srv.proc.pid, base,
                {**common, "command": [sys.executable, "lines.py", n, rate],
                 "metrics_patterns": [r"iter (?P<step>\d+): loss [\d.]+, t (?P<t>[\d.]+)"]},
                "t", args.points, True,
            )  # fmt: skip
            rows.append(["stdout lines (runyard)", f"{len(lat)}", f"{_pct(lat, 50):.2f}",
                         f"{_pct(lat, 99):.2f}", f"{cpu / len(lat) * 1e4:.3f}"])  # fmt: skip
            _, lat, cpu = _measure(
                srv.url, srv.proc.pid, base,
                {**common, "command": [sys.executable, "scalars.py", n, rate]},
                "loss", args.points, False,
            )  # fmt: skip
            per = cpu / max(1, len(lat)) * 1e4
            rows.append(["TB scalars (runyard)", f"{len(lat)}", f"{_pct(lat, 50):.2f}",
                         f"{_pct(lat, 99):.2f}", f"{per:.3f}"])  # fmt: skip
        (event_file,) = (work / "tb").glob("events.out.tfevents.*")
        wall, cpu, count = _peer(event_file)
        rows.append(["TB scalars (EventAccumulator, whole file)", f"{count}", "-",
                     f"({wall:.2f} s to read)", f"{cpu / count * 1e4:.3f}"])  # fmt: skip
    print(f"{args.points} points at {args.rate:g}/s; server idle CPU {idle * 100:.1f}% of a core, "
          f"the latency poll {polling * 100:.1f}% (both subtracted)")  # fmt: skip
    print(table(["source", "points", "p50 s", "p99 s", "CPU-s / 10k"], rows))
    print("targets: p99 ≤ 2 s; ≤ 0.1 CPU-s per 10k lines (1% of a core per 1,000 lines/s)")


if __name__ == "__main__":
    main()
