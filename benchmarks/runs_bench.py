#!/usr/bin/env python
"""Runs at scale: runyard side by side with MLflow, measured in the same run.

What it measures, for each server (both on SQLite, bound to 127.0.0.1, in a temp dir):
- start: spawning the server process to its first 200 from the health route, on an empty
  home (so schema creation is included); the median of 3 starts;
- create: N runs (default 1,000) through the REST API, each with 10 params and 5 final
  metrics, two requests per run (create, then log the metrics), sequentially on one keep-alive
  httpx client; then the same with a few threads, each with its own client;
- batch: the same N runs through POST /api/runs:batch, 1,000 to a request; then one run per
  request from the same few threads (MLflow has no batch route: its best path stands beside);
- create directly: the same N runs without HTTP (runyard's Store in this process; MLflow's
  Python client on its SQLite store, in the side venv);
- list: runs with m0 < 0.5 ordered by m0, at most 1,000, median latency of 20 calls; the
  count and order returned are checked against the data that was sent;
- idle memory: RSS (and PSS) summed over the server's process tree, after the load.

MLflow is measured when the side venv .bench-venv exists (scripts/bench-venv.sh makes it;
`make bench` runs that first); otherwise only runyard's figures are printed.

Run: `make bench`, or `.venv/bin/python benchmarks/runs_bench.py [--runs N] [--skip-mlflow]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import (
    BENCH_VENV_BIN,
    MB,
    VENV_BIN,
    Memory,
    Server,
    bench_python,
    free_port,
    median,
    server,
    table,
)

EXPERIMENT = "bench"
FILTER_RUNYARD = "metrics.m0 < 0.5"
ORDER_RUNYARD = "metrics.m0"
FILTER_MLFLOW = "metrics.m0 < 0.5"
ORDER_MLFLOW = "metrics.m0 ASC"
LIST_LIMIT = 1000
# Targets from the issue, for 1,000 runs.
TARGET_CREATE_S = 2.0
TARGET_BATCH_S = 2.0  # issue 20: through POST /api/runs:batch
TARGET_BATCH_THREADS_S = 4.0  # issue 20: one run per request, 4 client threads
BATCH = 1000  # runs per :batch request (the route's most)
TARGET_LIST_MS = 50.0
TARGET_START_S = 1.5
TARGET_RSS_MB = 150.0
# MLflow 3.17 on SQLite, measured earlier on this machine.
MLFLOW_EARLIER = {
    "start": "5.8 s",
    "create_api": "44 s",
    "create_direct": "17 s",
    "list": "310 ms",
    "rss": "2300 MB (10 proc.)",
}
IDLE_WAIT_S = 3.0
FLOOR_REQUESTS = 400


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    params: list[dict[str, Any]]
    metrics: list[dict[str, float]]

    @property
    def expected(self) -> list[float]:
        """m0 of the runs the list must return, in order."""
        return sorted(m["m0"] for m in self.metrics if m["m0"] < 0.5)[:LIST_LIMIT]


def make_workload(n: int, seed: int = 0) -> Workload:
    rnd = random.Random(seed)
    params, metrics = [], []
    for i in range(n):
        params.append(
            {
                "lr": 10 ** rnd.uniform(-5, -1),
                "batch_size": rnd.choice([16, 32, 64, 128, 256]),
                "epochs": rnd.randint(5, 100),
                "optimizer": rnd.choice(["adam", "adamw", "sgd", "rmsprop"]),
                "weight_decay": rnd.choice([0.0, 1e-4, 1e-2]),
                "dropout": round(rnd.uniform(0, 0.5), 3),
                "model": rnd.choice(["resnet18", "resnet50", "vit-s", "mlp"]),
                "seed": i,
                "scheduler": rnd.choice(["cosine", "step", "none"]),
                "augment": rnd.choice(["flip", "crop+flip", "none"]),
            }
        )
        metrics.append({f"m{k}": rnd.random() for k in range(5)})
    return Workload(params, metrics)


def _split(n: int, parts: int) -> list[range]:
    size = -(-n // parts)
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def _timed_threads(n: int, threads: int, work: Callable[[range], None]) -> float:
    t0 = time.perf_counter()
    if threads <= 1:
        work(range(n))
    else:
        with ThreadPoolExecutor(threads) as pool:
            for f in [pool.submit(work, r) for r in _split(n, threads)]:
                f.result()
    return time.perf_counter() - t0


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:300]}"
        )
    return resp.json()


def health_floor(url: str, path: str, requests: int = FLOOR_REQUESTS) -> float:
    """Seconds per GET of the health route, sequential on one client: the HTTP round trip."""
    with httpx.Client(base_url=url, timeout=60.0) as http:
        t0 = time.perf_counter()
        for _ in range(requests):
            http.get(path).raise_for_status()
        return (time.perf_counter() - t0) / requests


def _list_ok(got: Sequence[float], want: Sequence[float]) -> str:
    if len(got) != len(want):
        return f"WRONG: {len(got)} returned, {len(want)} expected"
    if any(abs(a - b) > 1e-9 for a, b in zip(got, want, strict=True)):
        return "WRONG order or values"
    return "ok"


# --- results ---------------------------------------------------------------------------------


@dataclass
class Figures:
    starts: list[float] = field(default_factory=list)
    restart_s: float | None = None
    settle_s: float | None = None
    floor_s: float | None = None
    create_s: float | None = None
    create_threads_s: float | None = None
    create_direct_s: float | None = None
    batch_s: float | None = None  # all runs in requests of BATCH runs (runyard: :batch)
    batch_threads_s: float | None = None  # one run per request, a few threads
    list_s: list[float] = field(default_factory=list)
    list_count: int | None = None
    list_check: str = ""
    memory: Memory | None = None
    note: str = ""


# --- runyard ---------------------------------------------------------------------------------


def runyard_create(url: str, work: Workload, experiment: str, threads: int) -> float:
    def create(indices: range) -> None:
        with httpx.Client(base_url=url, timeout=60.0) as http:
            for i in indices:
                run = _check(
                    http.post(
                        "/api/runs", json={"experiment": experiment, "params": work.params[i]}
                    )
                )
                batch = {
                    k: {"steps": [0], "values": [v], "timestamps": []}
                    for k, v in work.metrics[i].items()
                }
                _check(http.post(f"/api/runs/{run['id']}/metrics", json={"metrics": batch}))

    return _timed_threads(len(work.params), threads, create)


def _batch_run(work: Workload, i: int, experiment: str) -> dict[str, Any]:
    return {"experiment": experiment, "params": work.params[i], "metrics": work.metrics[i]}


def runyard_batch(url: str, work: Workload, experiment: str, threads: int, per: int) -> float:
    """The runs through POST /api/runs:batch, ``per`` runs to a request."""

    def create(indices: range) -> None:
        with httpx.Client(base_url=url, timeout=120.0) as http:
            for lo in range(indices.start, indices.stop, per):
                runs = [
                    _batch_run(work, i, experiment) for i in range(lo, min(lo + per, indices.stop))
                ]
                ids = _check(http.post("/api/runs:batch", json={"runs": runs}))["ids"]
                assert len(ids) == len(runs)

    return _timed_threads(len(work.params), threads, create)


def runyard_list(url: str, reps: int) -> tuple[list[float], list[float]]:
    params = {
        "experiment": EXPERIMENT,
        "filter": FILTER_RUNYARD,
        "order_by": ORDER_RUNYARD,
        "limit": LIST_LIMIT,
    }
    times, m0 = [], []
    with httpx.Client(base_url=url, timeout=60.0) as http:
        _check(http.get("/api/runs", params=params))  # warm-up, not counted
        for _ in range(reps):
            t0 = time.perf_counter()
            page = _check(http.get("/api/runs", params=params))
            times.append(time.perf_counter() - t0)
        m0 = [r["metrics"]["m0"] for r in page["runs"]]
    return times, m0


def runyard_direct(work: Workload, home: Path) -> float:
    """The same runs through runyard's Store in this process: the cost without HTTP."""
    import numpy as np

    from runyard.config import Settings
    from runyard.store import Store
    from runyard.store.metrics import Series

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        t0 = time.perf_counter()
        for p, m in zip(work.params, work.metrics, strict=True):
            run = store.runs.create(experiment=EXPERIMENT, params=p)
            Path(run.run_dir).mkdir(parents=True, exist_ok=True)
            now = time.time()
            series = [
                Series(k, np.array([0], np.int64), np.array([v]), np.array([now]))
                for k, v in m.items()
            ]
            store.metrics.ingest(run.id, series)
        return time.perf_counter() - t0
    finally:
        store.close()


def _starts_and_load(
    name: str,
    fig: Figures,
    starts: int,
    start: Callable[[int], contextlib.AbstractContextManager[Server]],
    load: Callable[[Server], None],
) -> None:
    """``starts`` starts on empty stores, the load on the last one, then one restart of it."""
    for i in range(starts):
        with start(i) as s:
            fig.starts.append(s.startup_s)
            log(f"{name}: start {i + 1}/{starts} (empty store): {s.startup_s:.2f} s")
            if i == starts - 1:
                load(s)
    with start(starts - 1) as s:
        fig.restart_s = s.startup_s
        log(f"{name}: restart on the loaded store: {s.startup_s:.2f} s")


def bench_runyard(work: Workload, tmp: Path, starts: int, threads: int, reps: int) -> Figures:
    fig = Figures()
    exe = VENV_BIN / "runyard"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}

    def start(i: int) -> contextlib.AbstractContextManager[Server]:
        home, port = tmp / f"runyard-home-{i}", free_port()
        argv = [str(exe), "server", "--home", str(home), "--host", "127.0.0.1", "--port", str(port)]
        return server(
            argv,
            port=port,
            health_path="/api/health",
            log=tmp / "runyard.log",
            cwd=tmp,
            env={**env, "RUNYARD_HOME": str(home)},
        )

    _starts_and_load(
        "runyard", fig, starts, start, lambda s: _runyard_load(s, work, fig, threads, reps)
    )
    log("runyard: create directly (in-process store)")
    fig.create_direct_s = runyard_direct(work, tmp / "runyard-direct")
    return fig


def _runyard_load(s: Server, work: Workload, fig: Figures, threads: int, reps: int) -> None:
    n = len(work.params)
    fig.settle_s = s.settle()
    log(f"runyard: settled (tree under 10% of a core) {fig.settle_s:.1f} s after its first 200")
    fig.floor_s = health_floor(s.url, "/api/health")
    log(f"runyard: create {n} runs, sequential")
    fig.create_s = runyard_create(s.url, work, EXPERIMENT, 1)
    log(f"runyard: list x{reps}")
    fig.list_s, m0 = runyard_list(s.url, reps)
    fig.list_count, fig.list_check = len(m0), _list_ok(m0, work.expected)
    if threads > 1:
        log(f"runyard: create {n} runs, {threads} threads")
        fig.create_threads_s = runyard_create(s.url, work, f"{EXPERIMENT}-threads", threads)
    log(f"runyard: create {n} runs through :batch, {BATCH} per request")
    fig.batch_s = runyard_batch(s.url, work, f"{EXPERIMENT}-batch", 1, BATCH)
    log(f"runyard: create {n} runs through :batch, one per request, {threads} threads")
    fig.batch_threads_s = runyard_batch(s.url, work, f"{EXPERIMENT}-batch1", threads, 1)
    time.sleep(IDLE_WAIT_S)
    s.settle()
    fig.memory = s.memory()


# --- MLflow ----------------------------------------------------------------------------------

MLFLOW_API = "/api/2.0/mlflow"
MLFLOW_ENV = {
    # No phoning home from the benchmark (runyard has no telemetry either).
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}

# Runs in .bench-venv: the same two calls as the REST path (create_run, log_batch), no server.
MLFLOW_DIRECT = r"""
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
work = json.load(open(sys.argv[1]))
client = MlflowClient(tracking_uri=sys.argv[2])
exp = client.create_experiment("bench")
t0 = time.perf_counter()
for p, m in zip(work["params"], work["metrics"]):
    run = client.create_run(exp)
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, now, 0) for k, v in m.items()],
        params=[Param(k, str(v)) for k, v in p.items()],
    )
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def mlflow_create(url: str, work: Workload, experiment: str, threads: int) -> float:
    with httpx.Client(base_url=url, timeout=60.0) as http:
        exp_id = _check(http.post(f"{MLFLOW_API}/experiments/create", json={"name": experiment}))[
            "experiment_id"
        ]

    def create(indices: range) -> None:
        with httpx.Client(base_url=url, timeout=60.0) as http:
            for i in indices:
                now = int(time.time() * 1000)
                created = _check(
                    http.post(
                        f"{MLFLOW_API}/runs/create",
                        json={"experiment_id": exp_id, "start_time": now},
                    )
                )
                batch = {
                    "run_id": created["run"]["info"]["run_id"],
                    "params": [{"key": k, "value": str(v)} for k, v in work.params[i].items()],
                    "metrics": [
                        {"key": k, "value": v, "timestamp": now, "step": 0}
                        for k, v in work.metrics[i].items()
                    ],
                }
                _check(http.post(f"{MLFLOW_API}/runs/log-batch", json=batch))

    return _timed_threads(len(work.params), threads, create)


def mlflow_list(url: str, reps: int) -> tuple[list[float], list[float]]:
    with httpx.Client(base_url=url, timeout=60.0) as http:
        exp = _check(
            http.get(
                f"{MLFLOW_API}/experiments/get-by-name", params={"experiment_name": EXPERIMENT}
            )
        )
        body = {
            "experiment_ids": [exp["experiment"]["experiment_id"]],
            "filter": FILTER_MLFLOW,
            "order_by": [ORDER_MLFLOW],
            "max_results": LIST_LIMIT,
        }
        _check(http.post(f"{MLFLOW_API}/runs/search", json=body))  # warm-up, not counted
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            page = _check(http.post(f"{MLFLOW_API}/runs/search", json=body))
            times.append(time.perf_counter() - t0)
    m0 = []
    for run in page.get("runs", []):
        values = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
        m0.append(values["m0"])
    return times, m0


def mlflow_direct(python: Path, work: Workload, tmp: Path) -> float:
    data = tmp / "workload.json"
    data.write_text(json.dumps({"params": work.params, "metrics": work.metrics}))
    out = subprocess.run(
        [str(python), "-c", MLFLOW_DIRECT, str(data), f"sqlite:///{tmp / 'mlflow-direct.db'}"],
        cwd=tmp,
        env={**os.environ, **MLFLOW_ENV},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"MLflow client failed ({out.returncode}): {out.stderr[-1500:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def bench_mlflow(
    python: Path, work: Workload, tmp: Path, starts: int, threads: int, reps: int, direct: bool
) -> Figures:
    fig = Figures()
    exe = BENCH_VENV_BIN / "mlflow"
    version = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout.strip()
    fig.note = f"MLflow {version or '?'}"

    def start(i: int) -> contextlib.AbstractContextManager[Server]:
        port = free_port()
        argv = [
            str(exe),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp / f'mlflow-{i}.db'}",
            "--default-artifact-root",
            str(tmp / f"mlflow-artifacts-{i}"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        return server(
            argv,
            port=port,
            health_path="/health",
            log=tmp / "mlflow.log",
            cwd=tmp,
            env={**os.environ, **MLFLOW_ENV},
        )

    _starts_and_load(
        "MLflow", fig, starts, start, lambda s: _mlflow_load(s, work, fig, threads, reps)
    )
    if direct:
        log("MLflow: create directly (MlflowClient on SQLite)")
        fig.create_direct_s = mlflow_direct(python, work, tmp)
    return fig


def _mlflow_load(s: Server, work: Workload, fig: Figures, threads: int, reps: int) -> None:
    n = len(work.params)
    fig.settle_s = s.settle()
    log(f"MLflow: settled (tree under 10% of a core) {fig.settle_s:.1f} s after its first 200")
    fig.floor_s = health_floor(s.url, "/health")
    log(f"MLflow: create {n} runs, sequential")
    fig.create_s = mlflow_create(s.url, work, EXPERIMENT, 1)
    log(f"MLflow: list x{reps}")
    fig.list_s, m0 = mlflow_list(s.url, reps)
    fig.list_count, fig.list_check = len(m0), _list_ok(m0, work.expected)
    if threads > 1:
        log(f"MLflow: create {n} runs, {threads} threads")
        fig.create_threads_s = mlflow_create(s.url, work, f"{EXPERIMENT}-threads", threads)
    time.sleep(IDLE_WAIT_S)
    s.settle()
    fig.memory = s.memory()


# --- report ----------------------------------------------------------------------------------


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} s"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f} ms"


def _count(fig: Figures) -> str:
    return "-" if fig.list_count is None else f"{fig.list_count} {fig.list_check}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or a == 0 else f"{b / a:.1f}x"


def _met(value: float | None, limit: float) -> str:
    return "-" if value is None else ("met" if value <= limit else "MISSED")


def report(
    ry: Figures,
    ml: Figures | None,
    work: Workload,
    threads: int,
    ml_reason: str,
    load: tuple[float, float] = (0.0, 0.0),
) -> None:
    n = len(work.params)
    scale = n / 1000
    target_create = TARGET_CREATE_S * scale
    skipped = ml is None
    m = ml or Figures()

    def mb(mem: Memory | None, pss: bool = False) -> float | None:
        if mem is None:
            return None
        return (mem.pss if pss else mem.rss) / MB

    def mem_text(mem: Memory | None, pss: bool = False) -> str:
        value = mb(mem, pss)
        return "-" if mem is None or value is None else f"{value:.0f} MB ({mem.processes} proc.)"

    def ml_cell(text: str) -> str:
        return "skipped" if skipped else text

    start_ry = median(ry.starts) if ry.starts else None
    start_ml = median(m.starts) if m.starts else None
    list_ry = median(ry.list_s) * 1000 if ry.list_s else None
    list_ml = median(m.list_s) * 1000 if m.list_s else None
    rate = (2 * n / ry.create_s) if ry.create_s else None
    rate_ml = (2 * n / m.create_s) if m.create_s else None
    expected = len(work.expected)
    rows = [
        [
            f"start, empty store (median of {len(ry.starts)})",
            _s(start_ry),
            ml_cell(_s(start_ml)),
            _ratio(start_ry, start_ml),
            f"<= {TARGET_START_S} s",
            _met(start_ry, TARGET_START_S),
            MLFLOW_EARLIER["start"],
        ],
        [
            f"  restart with {2 * n} runs stored",
            _s(ry.restart_s),
            ml_cell(_s(m.restart_s)),
            _ratio(ry.restart_s, m.restart_s),
            "",
            "",
            "",
        ],
        [
            "  busy after its first 200 (settling)",
            _s(ry.settle_s),
            ml_cell(_s(m.settle_s)),
            "-",
            "",
            "",
            "",
        ],
        [
            f"create {n} runs via API (1 client)",
            _s(ry.create_s),
            ml_cell(_s(m.create_s)),
            _ratio(ry.create_s, m.create_s),
            f"<= {target_create:g} s",
            _met(ry.create_s, target_create),
            MLFLOW_EARLIER["create_api"] if n == 1000 else "",
        ],
        [
            "  requests/s (2 per run)",
            "-" if rate is None else f"{rate:.0f}",
            ml_cell("-" if rate_ml is None else f"{rate_ml:.0f}"),
            "-" if rate is None or rate_ml is None else f"{rate / rate_ml:.1f}x",
            "",
            "",
            "",
        ],
    ]
    rows.append(
        [
            "  HTTP floor: GET health, per request",
            _ms(ry.floor_s),
            ml_cell(_ms(m.floor_s)),
            _ratio(ry.floor_s, m.floor_s),
            "",
            "",
            "",
        ]
    )
    if threads > 1:
        rows.append(
            [
                f"create {n} runs via API ({threads} threads)",
                _s(ry.create_threads_s),
                ml_cell(_s(m.create_threads_s)),
                _ratio(ry.create_threads_s, m.create_threads_s),
                "",
                "",
                "",
            ]
        )
    target_batch, target_batch_threads = TARGET_BATCH_S * scale, TARGET_BATCH_THREADS_S * scale
    rows += [
        [
            f"create {n} runs, batches of {min(n, BATCH)} (1 client)",
            _s(ry.batch_s),
            ml_cell(_s(m.create_s) + " *"),
            _ratio(ry.batch_s, m.create_s),
            f"<= {target_batch:g} s",
            _met(ry.batch_s, target_batch),
            "",
        ],
        [
            f"create {n} runs, 1 per request ({threads} threads)",
            _s(ry.batch_threads_s),
            ml_cell(_s(m.create_threads_s) + " *"),
            _ratio(ry.batch_threads_s, m.create_threads_s),
            f"<= {target_batch_threads:g} s",
            _met(ry.batch_threads_s, target_batch_threads),
            "",
        ],
    ]
    rows += [
        [
            f"create {n} runs directly (no HTTP)",
            _s(ry.create_direct_s),
            ml_cell(_s(m.create_direct_s)),
            _ratio(ry.create_direct_s, m.create_direct_s),
            "",
            "",
            MLFLOW_EARLIER["create_direct"] if n == 1000 else "",
        ],
        [
            "filtered, ordered list (median of reps)",
            "-" if list_ry is None else f"{list_ry:.1f} ms",
            ml_cell("-" if list_ml is None else f"{list_ml:.1f} ms"),
            _ratio(list_ry, list_ml),
            f"<= {TARGET_LIST_MS:g} ms",
            _met(list_ry, TARGET_LIST_MS),
            MLFLOW_EARLIER["list"] if n == 1000 else "",
        ],
        [
            f"  runs returned (expected {expected})",
            _count(ry),
            ml_cell(_count(m)),
            "",
            "",
            "",
            "",
        ],
        [
            "idle RSS after load (sum over tree)",
            mem_text(ry.memory),
            ml_cell(mem_text(m.memory)),
            _ratio(mb(ry.memory), mb(m.memory)),
            f"<= {TARGET_RSS_MB:g} MB",
            _met(mb(ry.memory), TARGET_RSS_MB),
            MLFLOW_EARLIER["rss"],
        ],
        [
            "  idle PSS (shared pages split)",
            mem_text(ry.memory, pss=True),
            ml_cell(mem_text(m.memory, pss=True)),
            _ratio(mb(ry.memory, True), mb(m.memory, True)),
            "",
            "",
            "",
        ],
    ]
    header = [
        "metric",
        "runyard",
        "MLflow",
        "MLflow/runyard",
        "target",
        "runyard",
        "MLflow earlier",
    ]
    print()
    print(
        f"runs benchmark: {n} runs x (10 params + 5 metrics), SQLite, 127.0.0.1, "
        f"{os.cpu_count()} CPUs"
    )
    print(table(header, rows))
    print()
    print(
        f"load average (1 min) at start {load[0]:.2f}, at end {load[1]:.2f} "
        f"on {os.cpu_count()} CPUs: other work on the machine skews every figure above"
    )
    print()
    starts = "starts, s:  runyard " + " ".join(f"{x:.2f}" for x in ry.starts)
    if m.starts:
        starts += "  |  MLflow " + " ".join(f"{x:.2f}" for x in m.starts)
    print(starts)
    if ry.list_s:
        lists = f"list, ms:   runyard min {min(ry.list_s) * 1e3:.1f} max {max(ry.list_s) * 1e3:.1f}"
        if m.list_s:
            lists += f"  |  MLflow min {min(m.list_s) * 1e3:.1f} max {max(m.list_s) * 1e3:.1f}"
        print(lists)
    print(
        "runyard's batch lines: POST /api/runs:batch (params, tags and final metrics of each "
        "run in the same request). * MLflow has no route that creates runs in a batch: its "
        "cells there are its best REST path, create-run + log-batch per run (the lines above)."
    )
    if scale != 1:
        print(f"note: the create target is scaled to {n} runs ({TARGET_CREATE_S:g} s per 1,000).")
    print("'MLflow earlier': MLflow 3.17 on SQLite, measured earlier on this machine.")
    if skipped:
        print(f"MLflow skipped: {ml_reason}")
    else:
        print(
            f"{m.note}: server with its default workers; search via POST /runs/search; "
            "create directly = MlflowClient.create_run + log_batch."
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1000, help="runs to create (default 1000)")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure runyard only")
    parser.add_argument("--threads", type=int, default=4, help="clients of the threaded create")
    parser.add_argument("--reps", type=int, default=20, help="repetitions of the list call")
    parser.add_argument("--starts", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument(
        "--skip-mlflow-direct", action="store_true", help="skip MLflow's create without HTTP"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 100_000 or not 1 <= args.starts <= 10 or not 1 <= args.reps <= 1000:
        parser.error("--runs 1..100000, --starts 1..10, --reps 1..1000")
    work = make_workload(args.runs)
    load_start = os.getloadavg()[0]
    python = bench_python()
    reason = ""
    if args.skip_mlflow:
        reason = "--skip-mlflow was given."
    elif python is None:
        reason = "no .bench-venv; `make bench` (or scripts/bench-venv.sh) creates it with MLflow."
    with tempfile.TemporaryDirectory(prefix="runyard-bench-", ignore_cleanup_errors=True) as d:
        tmp = Path(d)
        ry = bench_runyard(work, tmp, args.starts, args.threads, args.reps)
        ml = None
        if not reason and python is not None:
            try:
                ml = bench_mlflow(
                    python,
                    work,
                    tmp,
                    args.starts,
                    args.threads,
                    args.reps,
                    not args.skip_mlflow_direct,
                )
            except Exception as exc:  # keep runyard's figures when the peer breaks
                reason = f"MLflow failed: {exc}"
                log(reason)
    report(ry, ml, work, args.threads, reason, (load_start, os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
