"""Real training-like programs (tests/programs/sdk_train.py) against real servers: many at once,
offline then synced, terminated, and with the server killed under them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.sdk.conftest import (
    closed_url,
    get,
    result_of,
    run_program,
    script_env,
    series,
    start_program,
    sync,
    wait_output,
)

TRAIN_KEYS = ["train/m0", "train/m1", "train/m2", "train/m3"]


def assert_exactly_once(url: str, run_id: str, steps: int, keys: list[str]) -> None:
    data = series(url, run_id)
    for key in [*keys, "epoch"]:
        got = data[key]["steps"]
        assert len(got) == steps, f"{key}: {len(got)} points, expected {steps}"
        assert got == list(range(steps)), f"{key}: steps missing or repeated"
    k = keys[-1]
    assert data[k]["values"][:3] == [0.0 + len(keys) - 1, 0.5 + len(keys) - 1, 1.0 + len(keys) - 1]


def test_sixteen_processes_log_to_sixteen_runs(server: ServerProcess, tmp_path: Path) -> None:
    args = ["--steps", "1500", "--keys", "4", "--epochs", "3"]
    procs = [start_program(args, tmp_path, script_env(server.url)) for _ in range(16)]
    reports = [result_of(p, timeout=120) for p in procs]
    assert len({r["run_id"] for r in reports}) == 16
    for r in reports:
        # A server too busy to answer init within its ~2 s makes a run start offline; its
        # data must arrive all the same.
        assert r["delivered"] is True
        assert_exactly_once(server.url, r["run_id"], 1500, TRAIN_KEYS)
        assert len(series(server.url, r["run_id"])["val/loss"]["steps"]) == 3
        assert get(server.url, f"/api/runs/{r['run_id']}")["status"] == "completed"


def _comparable(url: str, run_id: str) -> dict[str, Any]:
    run = get(url, f"/api/runs/{run_id}")
    summary = get(url, f"/api/runs/{run_id}/summary")
    summary.pop("duration_s")
    checkpoints = get(url, f"/api/runs/{run_id}/checkpoints")["checkpoints"]
    return {
        "run": {
            k: run[k]
            for k in (
                "experiment",
                "status",
                "params",
                "tags",
                "early_stopped",
                "stopped_at_epoch",
                "progress",
                "primary_metric",
                "metric_goals",
                "metrics",
            )
        },  # fmt: skip
        "points": {k: (s["steps"], s["values"]) for k, s in series(url, run_id).items()},
        "summary": summary,
        "checkpoints": [
            {k: c[k] for k in ("name", "path", "step", "epoch", "size", "sha256", "metrics")}
            for c in checkpoints
        ],
        "progress": get(url, f"/api/runs/{run_id}/progress")["early_stopped"],
    }


def test_offline_then_sync_equals_an_online_run(server: ServerProcess, tmp_path: Path) -> None:
    args = ["--steps", "400", "--keys", "3", "--epochs", "4", "--early-stop"]
    online = run_program(args, tmp_path, script_env(server.url))
    offline = run_program(args, tmp_path, script_env(closed_url()))
    assert offline["offline"] is True and offline["delivered"] is False
    assert Path(offline["run_dir"]) == tmp_path / "runyard-offline" / offline["run_id"]

    done = sync(server.url, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(offline["run_id"]) == 1 and "delivered" in done.stdout
    want = _comparable(server.url, online["run_id"])
    assert want["run"]["early_stopped"] and want["run"]["status"] == "completed"
    assert len(want["checkpoints"]) == 3 and len(want["points"]["train/m2"][0]) == 300
    assert _comparable(server.url, offline["run_id"]) == want

    again = sync(server.url, tmp_path)  # nothing left: the run stays as it is
    assert again.returncode == 0 and "up to date" in again.stdout
    assert _comparable(server.url, offline["run_id"]) == want


def test_sync_fails_with_exit_1_when_the_server_is_away(tmp_path: Path) -> None:
    offline = run_program(["--steps", "10", "--epochs", "1"], tmp_path, script_env(closed_url()))
    done = sync(closed_url(), tmp_path)
    assert done.returncode == 1 and offline["run_id"] in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("ending", "status", "exit_code"),
    [("pass", "completed", 0), ("raise RuntimeError('boom')", "failed", 1)],
)
def test_without_a_with_block_the_run_is_finished_at_exit(
    server: ServerProcess, tmp_path: Path, ending: str, status: str, exit_code: int
) -> None:
    code = f"import runyard\nrun = runyard.init()\nprint(run.id)\nrun.log({{'a': 1.0}})\n{ending}\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=script_env(server.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_code, done.stderr
    got = get(server.url, f"/api/runs/{done.stdout.split()[0]}")
    assert (got["status"], got["metrics"]) == (status, {"a": 1.0})


def test_sigterm_exits_at_once_and_delivers_what_was_logged(
    server: ServerProcess, tmp_path: Path
) -> None:
    env = script_env(server.url, RUNYARD_FLUSH_TIMEOUT="10")
    proc = start_program(
        ["--forever", "--keys", "2", "--report-every", "1000", "--pace-every", "100"], tmp_path, env
    )
    wait_output(proc, "logged 3000\n")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM  # it died of SIGTERM, as without the SDK
    assert time.monotonic() - t0 < 10  # the server is up: no need to use the flush timeout
    (run_id,) = [r["id"] for r in get(server.url, "/api/runs")["runs"]]
    got = get(server.url, f"/api/runs/{run_id}")
    assert got["status"] == "failed"
    steps = series(server.url, run_id)["train/m1"]["steps"]
    assert len(steps) >= 3000 and steps == list(range(len(steps)))


def test_a_programs_own_sigterm_handler_is_chained_and_decides(
    server: ServerProcess, tmp_path: Path
) -> None:
    args = ["--forever", "--keys", "2", "--report-every", "1000", "--pace-every", "100"]
    proc = start_program([*args, "--own-sigterm"], tmp_path, script_env(server.url))
    wait_output(proc, "logged 2000\n")
    proc.send_signal(signal.SIGTERM)
    report = result_of(proc, timeout=30)  # exit 0: it stopped at its own pace
    assert report["stopped_by_signal"] is True and report["delivered"] is True
    assert get(server.url, f"/api/runs/{report['run_id']}")["status"] == "completed"
    steps = series(server.url, report["run_id"])["train/m1"]["steps"]
    assert steps == list(range(report["calls"]))


def test_sigterm_while_the_server_is_down_leaves_the_rest_to_sync(
    server: ServerProcess, tmp_path: Path
) -> None:
    env = script_env(server.url, RUNYARD_FLUSH_TIMEOUT="2")
    proc = start_program(
        ["--forever", "--keys", "2", "--report-every", "1000", "--pace-every", "100"], tmp_path, env
    )
    wait_output(proc, "logged 2000\n")
    (run_id,) = [r["id"] for r in get(server.url, "/api/runs")["runs"]]
    server.proc.kill()
    server.proc.wait()
    wait_output(proc, "logged 4000\n")  # logging goes on while nobody listens
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert time.monotonic() - t0 < 2 + 5  # the flush timeout, and no more than a little slack
    run_dir = server.home / "runs" / run_id
    assert any((run_dir / "spool").glob("*.spool"))

    back = ServerProcess(server.home, port=server.port).wait_ready()
    try:
        done = sync(back.url, tmp_path, str(run_dir))
        assert done.returncode == 0, done.stdout + done.stderr
        steps = series(back.url, run_id)["train/m0"]["steps"]
        assert len(steps) >= 4000 and steps == list(range(len(steps)))
        assert get(back.url, f"/api/runs/{run_id}")["status"] == "failed"
    finally:
        back.stop()


@pytest.mark.slow
def test_server_killed_and_restarted_while_logging_loses_and_repeats_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    steps = 50_000  # x 4 keys: 200,000 points, over about 20 s
    env = script_env(server.url, RUNYARD_FLUSH_TIMEOUT="30")
    proc = start_program(
        ["--steps", str(steps), "--keys", "4", "--epochs", "5", "--report-every", "1000",
         "--pace-every", "250", "--pace-s", "0.1"],
        tmp_path,
        env,
    )  # fmt: skip
    wait_output(proc, "logged 5000\n")
    server.proc.kill()
    server.proc.wait()
    wait_output(proc, "logged 30000\n")  # about 10 s of logging with the server away
    back = ServerProcess(server.home, port=server.port).wait_ready()
    try:
        report = result_of(proc, timeout=180)
        assert report["delivered"] is True  # all of it, in this process, before it exited
        assert report["calls"] == steps
        assert_exactly_once(back.url, report["run_id"], steps, TRAIN_KEYS)
        assert get(back.url, f"/api/runs/{report['run_id']}")["status"] == "completed"
        # Never blocked on the network: generous against a loaded 2-core CI box, yet far
        # below any connect timeout or retry delay (see the report's max_ns).
        assert report["max_ns"] < 50e6, report
        sys.stderr.write(
            f"\nlog() while the server was killed and restarted: max "
            f"{report['max_ns'] / 1e6:.2f} ms, median {report['median_ns'] / 1e3:.2f} µs\n"
        )
    finally:
        back.stop()


def test_import_is_light(tmp_path: Path) -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import runyard; "
        "took = time.perf_counter() - t; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'httpx', "
        "'pydantic', 'sqlalchemy', 'fastapi') or m.startswith(('runyard.store', "
        "'runyard.server'))]; "
        "print(took, bad, hasattr(runyard, '__version__'))"
    )
    best = None
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
        ).stdout.split(" ", 1)
        took, rest = float(out[0]), out[1].strip()
        assert rest == "[] True", rest
        best = took if best is None else min(best, took)
    assert best is not None and best < 0.3
