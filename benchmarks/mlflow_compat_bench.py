"""The same MLflow client script against runyard's MLflow API and against a real `mlflow server`.

Lines: 1,000 `log_metric` calls; 100 `log_batch` calls of 1,000 metrics; `get_metric_history`
of 200,000 points; `search_runs` over 1,000 runs (a page of 1,000 and a filtered search).
The client is MLflow's own, from the side venv (scripts/bench-venv.sh, or MLFLOW_BENCH_PYTHON).
Target: runyard at least 5x faster on each line.

What each line compares: the wall time of the same `MlflowClient` calls, made one after the
other from one process, against each server in turn; a read line is the median of several
calls (3 for the history, 7 for a search), the same on both sides. Connection mode: the
client's own, a `requests` session that keeps one connection alive per server (both servers
keep it open; `MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`, so a failure is not hidden by a retry).
runyard runs as
`runyard server` (its default workers, SQLite in WAL mode); MLflow as `mlflow server` with its
defaults (uvicorn, 4 worker processes, a SQLite backend store). Each server is left to settle
after its health route answers, and the client warms its connection up before timing.
The client's own work (building and parsing protobufs) is in every line, on both sides; a
second table times the read lines' requests sent raw (bytes and json.loads), so the client's
share, and the most any server could gain through this client, are printed beside them.

Run: `python benchmarks/mlflow_compat_bench.py [--runs 1000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_python, free_port, server, table  # noqa: E402

CLIENT = r"""
import json, sys, time
import mlflow, requests
from mlflow.entities import Metric
url, n_runs = sys.argv[1], int(sys.argv[2])
client = mlflow.MlflowClient(tracking_uri=url)
deadline = time.monotonic() + 60
while True:  # warm up: a worker that is still starting refuses the first connection
    try:
        client.search_experiments()
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
exp = client.create_experiment("compat-bench")
run = client.create_run(exp).info.run_id
out = {}
t = time.perf_counter()
for i in range(1000):
    client.log_metric(run, "single", i * 0.5, step=i)
out["1,000 log_metric calls"] = time.perf_counter() - t
now = int(time.time() * 1000)
batches = [[Metric("loss", float(b * 1000 + i), now, b * 1000 + i) for i in range(1000)]
           for b in range(200)]
t = time.perf_counter()
for b in batches[:100]:
    client.log_batch(run, metrics=b)
out["100 log_batch x 1,000 metrics"] = time.perf_counter() - t
for b in batches[100:]:
    client.log_batch(run, metrics=b)
def median_of(f, times):  # the read lines are short: one call of each is noise
    spent = []
    for _ in range(times):
        t = time.perf_counter()
        result = f()
        spent.append(time.perf_counter() - t)
    return sorted(spent)[times // 2], result
out["get_metric_history, 200,000 points"], history = median_of(
    lambda: client.get_metric_history(run, "loss"), 3)
assert len(history) == 200_000, len(history)
for i in range(n_runs):
    r = client.create_run(exp).info.run_id
    client.log_batch(r, metrics=[Metric("acc", i / n_runs, now, 0)])
out[f"search_runs, {n_runs + 1:,} runs"], found = median_of(
    lambda: client.search_runs([exp], max_results=n_runs + 1), 7)
out["search_runs, filter + order_by"], best = median_of(
    lambda: client.search_runs([exp], "metrics.acc > 0.9", order_by=["metrics.acc DESC"]), 7)
assert len(found) == n_runs + 1 and best[0].data.metrics["acc"] == (n_runs - 1) / n_runs
# The same requests sent raw (requests, one kept-alive session; bytes and json.loads only):
# what is left of a line without the client's own parsing into entities.
raw = requests.Session()
api = url.rstrip("/") + "/api/2.0/mlflow"
def pages(query):
    token = None
    while True:
        q = dict(query, **({"page_token": token} if token else {}))
        token = raw.get(f"{api}/metrics/get-history", params=q).json().get("next_page_token")
        if not token:
            return
def timed(f, times):
    return median_of(f, times)[0]
out["raw: get_metric_history, 200,000 points"] = timed(
    lambda: pages({"run_id": run, "metric_key": "loss", "max_results": 25000}), 3)
out[f"raw: search_runs, {n_runs + 1:,} runs"] = timed(lambda: raw.post(
    f"{api}/runs/search", json={"experiment_ids": [exp], "max_results": n_runs + 1}).json(), 7)
out["raw: search_runs, filter + order_by"] = timed(lambda: raw.post(
    f"{api}/runs/search", json={"experiment_ids": [exp], "filter": "metrics.acc > 0.9",
                                "order_by": ["metrics.acc DESC"], "max_results": 1000}).json(), 7)
print(json.dumps(out))
"""


def run_client(python: str, url: str, n_runs: int, cwd: Path) -> dict[str, float]:
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [python, "-c", CLIENT, url, str(n_runs)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"client failed against {url}:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=1000)
    args = p.parse_args()
    python = os.environ.get("MLFLOW_BENCH_PYTHON") or str(bench_python() or "")
    if not python:
        sys.exit("no side venv with mlflow: run scripts/bench-venv.sh or set MLFLOW_BENCH_PYTHON")
    mlflow_bin = str(Path(python).with_name("mlflow"))
    with tempfile.TemporaryDirectory(prefix="mlflow-compat-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        env = {**os.environ, "RUNYARD_HOME": str(tmp / "home")}
        argv = [sys.executable, "-m", "runyard", "server", "--port", str(port)]
        with server(argv, port=port, health_path="/api/health", log=tmp / "ry.log", cwd=tmp,
                    env=env) as srv:  # fmt: skip
            srv.settle()
            ours = run_client(python, srv.url, args.runs, tmp)
        print("runyard:", json.dumps({k: round(v, 3) for k, v in ours.items()}), flush=True)
        port = free_port()
        argv = [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
                "--default-artifact-root", str(tmp / "mlartifacts"),
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        with server(argv, port=port, health_path="/health", log=tmp / "ml.log", cwd=tmp,
                    env=env, timeout_s=600) as srv:  # fmt: skip
            srv.settle()
            theirs = run_client(python, srv.url, args.runs, tmp)
    rows = [
        [line, f"{ours[line]:.2f} s", f"{theirs[line]:.2f} s", f"{theirs[line] / ours[line]:.1f}x"]
        for line in ours
        if not line.startswith("raw: ")
    ]
    print(table(["same MLflow client script", "runyard", "mlflow server", "speed-up"], rows))
    # The client's own share: its time less the same requests' raw time, the same on both sides.
    rows = []
    for line in ours:
        if not line.startswith("raw: "):
            continue
        whole = line.removeprefix("raw: ")
        client = max(0.0, ours[whole] - ours[line])
        rows.append([
            whole, f"{ours[line]:.3f} s", f"{theirs[line]:.3f} s",
            f"{theirs[line] / ours[line]:.1f}x", f"{client:.3f} s",
            f"{theirs[whole] / client:.1f}x" if client else "-",
        ])  # fmt: skip
    print()
    head = ["the same requests, raw (no client parsing)", "runyard", "mlflow server", "speed-up"]
    print(table([*head, "client's own share", "ceiling through the client"], rows))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
