#!/usr/bin/env python
"""Reads that must not grow with history: a run's page and the runs list, 1k vs 10M points.

One store (SQLite, temp home) holds two experiments of 100 runs each, alike but for one run:
in "short" it holds 1,000 points, in "long" 10,000,000 (one key, batches of 5,000 points: a
long training run); the 99 others hold 5 final metrics each. `runyard server` on 127.0.0.1
then answers, on one keep-alive client:
- run page: what the dashboard asks when it opens a run: GET /api/runs/{id}, its progress,
  summary, attempts, checklist and checkpoints, and its first chart
  (GET metrics?keys=K&max_points=P with P new each round, so never from the chart cache: a
  first read, from the tiles kept at ingest);
- runs list: GET /api/runs?experiment=E&limit=100, the page that holds the run.
Each line compares the same requests for the short and the long run, interleaved round by
round (load from other processes hits both alike): median of R rounds. Target: within 20%.

Run: `.venv/bin/python benchmarks/history_bench.py [--points N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _common import VENV_BIN, free_port, median, server, table

SHORT = 1_000
BATCH = 5_000
TOLERANCE = 0.20
KEY = "train/loss"


def log(message: str) -> None:
    print(f"[history_bench] {message}", file=sys.stderr, flush=True)


def seed(home: Path, long_points: int) -> dict[str, str]:
    """Run id of the short and the long run, each in its experiment of 100 runs."""
    from runyard.config import Settings
    from runyard.store import Store
    from runyard.store.metrics import Series

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir)
    out = {}
    try:
        for exp, n in (("short", SHORT), ("long", long_points)):
            for i in range(99):
                run = store.runs.create(experiment=exp, params={"lr": 0.1, "seed": i})
                store.metrics.ingest(run.id, [
                    Series(f"m{k}", np.array([100]), np.array([k * 0.1]), np.array([1.7e9]))
                    for k in range(5)
                ])  # fmt: skip
            run = store.runs.create(experiment=exp, name=f"{exp}-history")
            rng = np.random.default_rng(0)
            for i in range(0, n, BATCH):
                steps = np.arange(i, min(n, i + BATCH), dtype=np.int64)
                values = rng.normal(size=len(steps)).cumsum()
                store.metrics.ingest(run.id, [Series(KEY, steps, values, 1.7e9 + steps * 0.01)])
            out[exp] = run.id
        return out
    finally:
        store.close()


def _get(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")


def page(http: httpx.Client, run_id: str, max_points: int) -> float:
    """Seconds for the requests that open a run's page, one after the other."""
    base = f"/api/runs/{run_id}"
    t0 = time.perf_counter()
    for tail in ("", "/progress", "/summary", "/attempts", "/checklist", "/checkpoints",
                 f"/metrics?keys={KEY}&max_points={max_points}"):  # fmt: skip
        _get(http, base + tail)
    return time.perf_counter() - t0


def listing(http: httpx.Client, experiment: str) -> float:
    t0 = time.perf_counter()
    _get(http, f"/api/runs?experiment={experiment}&limit=100")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="runyard-history-bench-") as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        runs = seed(home, args.points)
        took = time.perf_counter() - t0
        log(f"seeded runs of {SHORT:,} and {args.points:,} points in {took:.0f} s")
        port = free_port()
        env = {**os.environ, "RUNYARD_HOME": str(home), "RUNYARD_PORT": str(port)}
        with server([str(VENV_BIN / "runyard"), "server"], port=port, health_path="/api/health",
                    log=Path(tmp) / "server.log", cwd=Path(tmp), env=env) as s:  # fmt: skip
            s.settle()
            with httpx.Client(base_url=s.url, timeout=60) as http:
                for exp, rid in runs.items():  # warm the code paths and the connection
                    page(http, rid, 999)
                    listing(http, exp)
                for i in range(args.rounds):
                    order = list(runs.items()) if i % 2 else list(runs.items())[::-1]
                    for exp, rid in order:
                        times.setdefault(("page", exp), []).append(page(http, rid, 1000 + i))
                        times.setdefault(("list", exp), []).append(listing(http, exp))
    rows = []
    for case, name in (("page", "run page: 7 requests, chart a first read (1,000 points)"),
                       ("list", "runs list: the 100 runs of its experiment")):  # fmt: skip
        short, long = median(times[(case, "short")]) * 1000, median(times[(case, "long")]) * 1000
        met = "met" if long <= short * (1 + TOLERANCE) else "MISSED"
        rows.append([name, f"{short:.1f}", f"{long:.1f}", f"{long / short:.2f}x", met])
    print(f"\nReads vs history: the same requests for a run of {SHORT:,} points and for one of "
          f"{args.points:,} (same store, same server), median of {args.rounds} interleaved "
          f"rounds, {os.cpu_count()} cores shared by client and server\n")  # fmt: skip
    print(table(["case", f"{SHORT:,} pts, ms", f"{args.points:,} pts, ms", "long/short",
                 f"target ≤ {1 + TOLERANCE:.2f}x"], rows))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
