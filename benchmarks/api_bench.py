#!/usr/bin/env python
"""Latency of the API the dashboard and agents read, at 1 and at 16 concurrent clients.

The store holds N runs (default 1,000; 10 params and 5 final metrics each, goals set) and one
run with 1M points over 5 keys. The server is `runyard server` on SQLite in a temp dir, bound
to 127.0.0.1. Measured, each as a latency distribution (p50, p99, max):
- compare: POST /api/compare of 5 runs picked at random;
- list: GET /api/runs?limit=100 (the dashboard's first page), and the same ordered by a final
  metric with a filter on it;
- chart: GET /api/runs/{id}/metrics?keys=K&max_points=1000 on the 1M-point run (200,000 points
  per key, each bucket's extremes from the tiles kept at ingest): a dashboard's repeated read
  (warm: served from the chart cache after the first); and a zoom, a window never asked for
  before (the chart cache never helps: read from the stored tiles, and the chunks the window
  cuts from their tiles of 32 points, which a worker makes on its first zoom into the series
  and keeps, store/chunk_cache.py);
at 1 client and at 16 clients, each client a process of its own sending requests in sequence
on one keep-alive connection (so that the clients' GIL is not what is measured), against
`runyard server --workers W` for each W of `--workers` (default 1, 2 and 4). Client and server
share the machine's cores, as they do when the dashboard runs beside the server.

No peer is named by the issue for these routes; MLflow's list and history reads are measured
in runs_bench.py and ingest_bench.py.

After the table, a first zoom into the series, whose chunks no process has decoded yet (in
process, a fresh store each time: what the first zoom of each worker pays). A last line
gives the cost of the Host allow-list, the same-origin check and the session
cookie per request, beside the same request without them (`--only checks` prints it alone).

Run: `.venv/bin/python benchmarks/api_bench.py [--runs N] [--requests R] [--workers 1,2,4]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _common import VENV_BIN, free_port, server, table

KEYS = ["train/loss", "train/acc", "val/loss", "val/acc", "lr"]
BIG_POINTS = 1_000_000
MAX_POINTS = 1_000
TARGET_P50_MS = 50.0
TARGET_P99_MS = 250.0
TARGET_CHECKS_MS = 0.1

Request = Callable[[], tuple[str, str, Any]]  # -> (method, path, json body or None)
RNG = random.Random(42)  # the requests' choices; each client process seeds its own


def log(message: str) -> None:
    print(f"[api_bench] {message}", file=sys.stderr, flush=True)


def seed(home: Path, n_runs: int) -> tuple[list[str], str]:
    """N small runs and one 1M-point run, written straight through the store."""
    from runyard.config import Settings
    from runyard.entities import Goal
    from runyard.store import Store
    from runyard.store.metrics import Series

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir)
    rng = random.Random(0)
    ids = []
    goals = {"m0": Goal.MIN, "m1": Goal.MAX, "m2": Goal.MIN, "m3": Goal.MAX, "m4": Goal.MIN}
    try:
        for i in range(n_runs):
            params = {
                f"p{j}": rng.choice([0.1, 0.01, 0.001, "adam", "sgd", 32, 64]) for j in range(10)
            }
            params["seed"] = i
            run = store.runs.create(experiment=f"exp-{i % 5}", params=params, tags=["bench"])
            series = [
                Series(
                    k,
                    np.array([100], dtype=np.int64),
                    np.array([rng.random()]),
                    np.array([time.time()]),
                )
                for k in goals
            ]
            store.metrics.ingest(run.id, series)
            store.metrics.set_goals(run.id, goals, primary="m0")
            ids.append(run.id)
        big = store.runs.create(experiment="big", name="one-million-points")
        per_key = BIG_POINTS // len(KEYS)
        steps = np.arange(per_key, dtype=np.int64)
        now = time.time()
        for k in KEYS:
            values = np.cumsum(np.random.default_rng(1).normal(size=per_key))
            for start in range(0, per_key, 50_000):
                sl = slice(start, start + 50_000)
                ts = now + steps[sl] * 0.01
                store.metrics.ingest(big.id, [Series(k, steps[sl], values[sl], ts)])
        return ids, big.id
    finally:
        store.close()


def _client(
    url: str, make: Request, count: int, seed: int, start: Any, out: Any
) -> None:  # pragma: no cover - runs in a client process
    """One client: ``count`` requests in sequence on one keep-alive connection."""
    RNG.seed(seed)  # each client its own windows: a zoom is never another client's
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=60.0) as http:
        for _ in range(2):  # warm the connection
            method, path, body = make()
            http.request(method, path, json=body)
        start.wait()
        for _ in range(count):
            method, path, body = make()
            t0 = time.perf_counter()
            r = http.request(method, path, json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
    out.put(latencies)


def _measure(url: str, make: Request, clients: int, total: int) -> list[float]:
    """Latencies (ms) of `total` requests from `clients` client processes at once (each its
    own interpreter: the clients' GIL is not measured)."""
    ctx = multiprocessing.get_context("fork")  # the request makers are closures
    start, out = ctx.Barrier(clients + 1), ctx.Queue()
    share = [total // clients + (i < total % clients) for i in range(clients)]
    procs = [
        ctx.Process(target=_client, args=(url, make, n, 1000 + i, start, out), daemon=True)
        for i, n in enumerate(share)
    ]
    for proc in procs:
        proc.start()
    start.wait()
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(out.get(timeout=600))
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a client process exited with {proc.exitcode}")
    return latencies


def _zoom(run_id: str, rng: random.Random) -> str:
    """A window no request asked for before (a zoom): read and downsampled afresh."""
    per_key = BIG_POINTS // len(KEYS)
    start = rng.randrange(0, per_key // 2)
    end = start + rng.randrange(per_key // 4, per_key // 2)
    key = rng.choice(KEYS)
    return f"/api/runs/{run_id}/metrics?keys={key}&max_points={MAX_POINTS}&start={start}&end={end}"


def first_zooms(home: Path, run_id: str, n: int = 15) -> list[float]:
    """Milliseconds of a zoom into a series no process has decoded a chunk of: each from a
    store opened afresh (its chunk cache empty), in process, one at a time."""
    from runyard.config import Settings
    from runyard.store import Store

    settings = Settings(home=home)
    rng = random.Random(7)
    out = []
    for _ in range(n):
        store = Store.open(settings.db_url, settings.runs_dir)
        try:
            path = _zoom(run_id, rng)  # the same windows as the served zooms
            query = dict(p.split("=") for p in path.split("?")[1].split("&"))
            t0 = time.perf_counter()
            store.metrics.chart(
                run_id, [query["keys"]], int(query["start"]), int(query["end"]), MAX_POINTS
            )
            out.append((time.perf_counter() - t0) * 1000)
        finally:
            store.close()
    return out


def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def checks_cost(n: int = 20_000) -> tuple[float, float]:
    """CPU microseconds per request through the Host/Origin guard and the session-cookie auth
    (a logged-in browser's write, the slowest path) and through a bare app, in process: the
    checks alone, without network or route noise."""
    from runyard.config import Settings
    from runyard.server._middleware import TokenAuth
    from runyard.server.auth import BrowserGuard
    from runyard.server.sessions import COOKIE, SessionBook
    from runyard.store import Store

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Any:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"the checks refused the request: {message['status']}")

    with tempfile.TemporaryDirectory(prefix="runyard-checks-bench-") as tmp:
        settings = Settings(home=Path(tmp))
        store = Store.open(settings.db_url, settings.runs_dir)
        book = SessionBook(store.sessions, "s3cret", 3600)
        session_id, _ = book.start("127.0.0.1")
        guarded = BrowserGuard(
            TokenAuth(endpoint, token="s3cret", sessions=book),
            allowed_hosts=["runyard.lab"],
            bound="127.0.0.1",
            cors_origins=[],
        )
        headers = [
            (b"host", b"127.0.0.1:8420"),
            (b"origin", b"http://127.0.0.1:8420"),
            (b"content-type", b"application/json"),
            (b"cookie", f"theme=dark; {COOKIE}={session_id}".encode()),
        ]

        def scope() -> dict[str, Any]:
            return {"type": "http", "method": "POST", "path": "/api/runs/abc/cancel",
                    "headers": list(headers), "query_string": b"",
                    "server": ("127.0.0.1", 8420), "client": ("127.0.0.1", 50000)}  # fmt: skip

        async def timed(app: Any) -> float:
            for _ in range(200):
                await app(scope(), receive, send)
            t0 = time.process_time()  # CPU time: other processes' load counts less
            for _ in range(n):
                await app(scope(), receive, send)
            return (time.process_time() - t0) / n * 1e6

        async def both() -> tuple[float, float]:
            off, on = [], []
            for _ in range(5):  # interleaved: load from other processes hits both alike
                off.append(await timed(endpoint))
                on.append(await timed(guarded))
            return min(off), min(on)

        try:
            return asyncio.run(both())
        finally:
            store.close()


def _print_checks(n: int) -> None:
    off, on = checks_cost(n)
    cost_ms = (on - off) / 1000
    met = "met" if cost_ms <= TARGET_CHECKS_MS else "MISSED"
    print(
        f"\nHost/Origin/session checks: {on:.1f} CPU µs per request with the checks, {off:.1f} "
        f"without (a bare ASGI app): {cost_ms:.4f} ms per request, target ≤ "
        f"{TARGET_CHECKS_MS} ms: {met} (best of 5 × {n:,}, a logged-in browser's write)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400, help="per case and concurrency")
    parser.add_argument("--only", default="", help="measure only cases whose name has this")
    parser.add_argument(
        "--workers", default="1,2,4", help="server processes to measure (runyard server --workers)"
    )
    args = parser.parse_args(argv)
    rng = RNG
    worker_counts = [int(w) for w in args.workers.split(",")]
    if args.only == "checks":  # the checks' line alone: no store to seed, no server
        _print_checks(20_000)
        return 0

    with tempfile.TemporaryDirectory(prefix="runyard-api-bench-") as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        ids, big = seed(home, args.runs)
        took = time.perf_counter() - t0
        log(f"seeded {args.runs} runs and a {BIG_POINTS:,}-point run in {took:.1f} s")
        port = free_port()
        env = {**os.environ, "RUNYARD_HOME": str(home), "RUNYARD_PORT": str(port)}
        cases: dict[str, Request] = {
            "compare 5 runs": lambda: ("POST", "/api/compare", {"run_ids": rng.sample(ids, 5)}),
            "list 100 runs": lambda: ("GET", "/api/runs?limit=100", None),
            "list filtered + ordered": lambda: (
                "GET",
                "/api/runs?limit=100&filter=metrics.m0%20%3C%200.5&order_by=metrics.m0",
                None,
            ),
            "chart read, repeated (warm: chart cache)": lambda: (
                "GET",
                f"/api/runs/{big}/metrics?keys={rng.choice(KEYS)}&max_points={MAX_POINTS}",
                None,
            ),
            "chart zoom, never cached": lambda: ("GET", _zoom(big, rng), None),
        }
        rows = []
        for workers in worker_counts:
            with server(
                [str(VENV_BIN / "runyard"), "server", "--workers", str(workers)],
                port=port,
                health_path="/api/health",
                log=Path(tmp) / "server.log",
                cwd=Path(tmp),
                env=env,
                timeout_s=180.0,
            ) as s:
                s.settle()
                for name, make in cases.items():
                    if args.only not in name:
                        continue
                    for clients in (1, 16):
                        lat = _measure(s.url, make, clients, args.requests)
                        p50, p99 = _pct(lat, 50), _pct(lat, 99)
                        met = ""
                        if clients == 16:
                            ok = p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS
                            met = "met" if ok else "MISSED"
                        rows.append(
                            [name, str(workers), str(clients), f"{p50:.1f}", f"{p99:.1f}",
                             f"{max(lat):.1f}", f"{len(lat) / (sum(lat) / 1000 / clients):.0f}",
                             met]
                        )  # fmt: skip
                        log(f"{name}, {workers} workers, {clients} clients: "
                            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
        first = first_zooms(home, big) if args.only in "chart zoom, never cached" else []
    print(
        f"\nAPI latency: {args.runs} runs + one run of {BIG_POINTS:,} points, "
        f"{args.requests} requests per line, {os.cpu_count()} cores shared by client and server"
    )
    print(f"targets at 16 clients: p50 ≤ {TARGET_P50_MS:.0f} ms, p99 ≤ {TARGET_P99_MS:.0f} ms\n")
    headers = ["case", "workers", "clients", "p50 ms", "p99 ms", "max ms", "req/s", "target"]
    print(table(headers, rows))
    if first:
        print(
            f"\nchart zoom, first into the series (its chunks not yet decoded; in process, one "
            f"at a time): p50 {_pct(first, 50):.1f} ms, max {max(first):.1f} ms"
        )
    _print_checks(20_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
