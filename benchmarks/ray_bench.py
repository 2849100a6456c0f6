#!/usr/bin/env python
"""Ray figures, each beside its peer, in one run on one Ray cluster:

- N no-op jobs through `runyard server --backend ray` beside the same N submitted with
  `JobSubmissionClient.submit_job` directly (what `ray job submit` does): submit-to-start
  latency (the job prints when it started) and the total time until all have ended;
- a checkpoint upload (the SDK's chunked, SHA-256-checked path) of an M MB file beside `cp`
  of it to the same disk (then `sync`): the file as `run.checkpoint` ships it (its SHA-256
  known from placing it), and a file nobody hashed before; once beside the idle Ray head (the
  server that ran the jobs), and once more by a server alone on the machine, the cluster
  stopped (an idle Ray node wakes often: on 2 cores it slowed an upload by a fifth).

Targets (issue 17): runyard adds ≤ 10 % to Ray's own time; uploads ≥ 50 % of disk speed.
Run as root (the cluster lives in a network namespace, as in tests/ray):
`.venv/bin/python benchmarks/ray_bench.py [--jobs 200] [--mb 500]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port, median, server, table  # noqa: E402

from runyard.sdk._files import place  # noqa: E402
from runyard.sdk._upload import Uploader  # noqa: E402
from tests.ray._cluster import ADDRESS, RayCluster  # noqa: E402

NOOP = ["/bin/date", "+%s.%N"]


def _started_at(log: str) -> float:
    """The time the job printed; Ray's own lines ("Running entrypoint for job …") may come
    before or after it."""
    for line in reversed(log.strip().splitlines()):
        try:
            return float(line)
        except ValueError:
            continue
    raise ValueError(f"no start time in the job's log: {log[-300:]!r}")


def direct(jobs: int) -> tuple[list[float], float]:
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(ADDRESS)
    t0 = time.time()
    submitted = {}
    for _ in range(jobs):
        sid = client.submit_job(entrypoint=" ".join(NOOP), entrypoint_num_cpus=1)
        submitted[sid] = time.time()
    pending = set(submitted)
    while pending:
        for sid in list(pending):
            if client.get_job_status(sid) in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                pending.discard(sid)
        time.sleep(0.05)
    total = time.time() - t0
    latencies = [_started_at(client.get_job_logs(s)) - t for s, t in submitted.items()]
    return latencies, total


@contextlib.contextmanager
def _runyard(home: Path, *args: str, **env: str) -> Iterator[tuple[str, httpx.Client]]:
    """`runyard server ARGS` on a new home, healthy: its URL and a client of it."""
    home.mkdir(parents=True)
    port = free_port()
    argv = [sys.executable, "-m", "runyard", "server", "--port", str(port), *args]
    full = {**os.environ, "RUNYARD_HOME": str(home), **env}
    log = home / "server.log"
    with (
        server(argv, port=port, health_path="/api/health", log=log, cwd=home, env=full) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as http,
    ):
        yield srv.url, http


def through_runyard(jobs: int, home: Path, mb: int) -> tuple[list[float], float, Speeds]:
    ray = ("--backend", "ray", "--ray-address", ADDRESS)
    with _runyard(home, *ray, RUNYARD_SHARED_RUNS="1") as (url, http):
        t0 = time.time()
        submitted = {}
        for _ in range(jobs):
            run = http.post("/api/runs", json={"command": NOOP, "max_retries": 0}).json()
            submitted[run["id"]] = time.time()
        runs = {}
        while len(runs) < jobs:
            for rid in set(submitted) - set(runs):
                run = http.get(f"/api/runs/{rid}").json()
                if run["status"] in ("completed", "failed", "cancelled"):
                    runs[rid] = run
            time.sleep(0.05)
        total = time.time() - t0
        latencies = [
            _started_at((Path(r["run_dir"]) / "logs" / "attempt-1.log").read_text())
            - submitted[rid]
            for rid, r in runs.items()
        ]
        return latencies, total, upload_speed(http, url, home, mb)


Speeds = tuple[float, float, float, float]  # MB/s: placed, not hashed before, cp; busy before


def _cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of the machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def settle(quiet: float = 0.15, patience_s: float = 60.0) -> float:
    """Waits (up to `patience_s`) until the machine is at most `quiet` busy over half a
    second: the Ray cluster winds down after the jobs. Returns the last reading."""
    deadline = time.monotonic() + patience_s
    while True:
        a = _cpu_times()
        time.sleep(0.5)
        b = _cpu_times()
        busy = 1 - (b[1] - a[1]) / max(1, b[0] - a[0])
        if busy <= quiet or time.monotonic() > deadline:
            return busy


def upload_speed(http: httpx.Client, url: str, home: Path, mb: int, rounds: int = 3) -> Speeds:
    """MB/s of the upload path and of `cp` (then `sync`), for one MB-sized file on the same
    disk, the median of `rounds` rounds. Each round copies with `cp`, uploads the file as
    `run.checkpoint` ships it (placed: its SHA-256 known from the placing), and uploads it as
    a file nobody hashed before (hashed while it is sent); what each wrote is deleted before
    the next, so that all three write into page cache in the same state. A round starts once
    the machine is quiet (the Ray cluster goes on working for a while after 2 x N jobs);
    also returned: how busy it was then (median)."""
    scratch = home / "scratch"
    (scratch / "checkpoints").mkdir(parents=True)
    src = scratch / "checkpoints" / "big.bin"
    with open(src, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1024 * 1024))
    placed = place(src, scratch, "checkpoints", None)  # what run.checkpoint does first
    speeds: list[list[float]] = [[], [], [], []]
    for _ in range(rounds):
        speeds[3].append(settle())  # cp and uploads alike start on a quiet machine
        t0 = time.perf_counter()
        shutil.copyfile(src, home / "copy.bin")
        os.sync()
        speeds[2].append(mb / (time.perf_counter() - t0))
        (home / "copy.bin").unlink()
        for i, known in enumerate(((placed.sha256, placed.hashed), None)):
            run = http.post("/api/runs", json={"name": "upload"}).json()
            uploader = Uploader(url, None, run["id"], scratch)
            t0 = time.perf_counter()
            uploader.send("checkpoints/big.bin", known=known)
            assert uploader.close(3600) is True
            speeds[i].append(mb / (time.perf_counter() - t0))
            (Path(run["run_dir"]) / "checkpoints" / "big.bin").unlink()
    placed_s, unhashed_s, cp_s, busy = (median(s) for s in speeds)
    return placed_s, unhashed_s, cp_s, busy


def alone(home: Path, mb: int) -> Speeds:
    """The upload figures again, from a runyard server alone on the machine."""
    with _runyard(home) as (url, http):
        return upload_speed(http, url, home, mb)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=200)
    p.add_argument("--mb", type=int, default=500)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="runyard-ray-bench-"))
    cluster = RayCluster(root)
    try:
        cluster.start_head()
        cluster.wait_nodes(1)
        with cluster.inside():
            ray_lat, ray_total = direct(args.jobs)
            ry_lat, ry_total, beside = through_runyard(args.jobs, root / "home", args.mb)
    finally:
        cluster.close()
    try:
        by_itself = alone(root / "alone", args.mb)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.jobs} no-op jobs on a 1-CPU Ray head; load average {os.getloadavg()[0]:.1f}")
    print(
        table(
            ["", "Ray directly", "through runyard", "runyard adds"],
            [
                [
                    "submit→start, median",
                    f"{median(ray_lat):.2f} s",
                    f"{median(ry_lat):.2f} s",
                    f"{(median(ry_lat) / median(ray_lat) - 1) * 100:+.0f} %",
                ],
                [
                    "all ended",
                    f"{ray_total:.1f} s",
                    f"{ry_total:.1f} s",
                    f"{(ry_total / ray_total - 1) * 100:+.0f} %",
                ],
            ],
        )  # fmt: skip
    )
    for where, (up, unhashed, cp, busy) in (
        ("beside the idle Ray head", beside),
        ("by a server alone, the cluster stopped", by_itself),
    ):
        print(
            f"upload of {args.mb} MB {where} (median of 3): a checkpoint placed by "
            f"run.checkpoint {up:.0f} MB/s, a file not hashed before {unhashed:.0f} MB/s, "
            f"beside cp + sync {cp:.0f} MB/s ({up / cp * 100:.0f} % and "
            f"{unhashed / cp * 100:.0f} %); the machine {busy * 100:.0f} % busy before a round "
            "(median)"
        )


if __name__ == "__main__":
    main()
