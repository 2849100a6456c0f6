"""runyard compare and runyard export against a real server process."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess

SCHEMA = Path(__file__).parents[2] / "docs" / "export.schema.json"


def _run(url: str, params: dict, loss: float) -> str:
    r = httpx.post(f"{url}/api/runs", json={"experiment": "cli", "params": params})
    run_id: str = r.json()["id"]
    goals = {"goals": {"val/loss": "min"}, "primary": "val/loss"}
    httpx.post(f"{url}/api/runs/{run_id}/metric-goals", json=goals).raise_for_status()
    batch = {"metrics": {"val/loss": {"steps": [1], "values": [loss]}}}
    httpx.post(f"{url}/api/runs/{run_id}/metrics", json=batch).raise_for_status()
    return run_id


def test_compare(server: ServerProcess) -> None:
    env = {"RUNYARD_URL": server.url, "COLUMNS": "250"}
    a = _run(server.url, {"lr": 0.1, "opt": {"name": "adam"}}, 0.5)
    b = _run(server.url, {"lr": 0.01, "opt": {"name": "adam"}}, 0.25)
    table = cli("compare", a, b, "--baseline", a, env=env)
    assert table.returncode == 0, table.stderr
    out = table.stdout
    assert "lr" in out and "opt.name" in out and "val/loss" in out
    assert "★ 0.25 (-0.25)" in out  # the best, with its delta to the baseline
    lr_line = next(line for line in out.splitlines() if " lr " in line)
    assert "≠" in lr_line
    diff = cli("compare", a, b, "--diff-only", env=env).stdout
    assert "opt.name" not in diff and "lr" in diff
    data = json.loads(cli("compare", a, b, "--json", env=env).stdout)
    assert data["metrics"][0]["best_run_id"] == b
    for args in ([a], [a, a], [a, b, "--baseline", "zzz"]):
        usage = cli("compare", *args, env=env)
        assert usage.returncode == 2 and usage.stderr.count("\n") == 1, usage.stderr
    unknown = cli("compare", a, "0123456789abcdef", env=env)
    assert unknown.returncode == 1 and "no run" in unknown.stderr


def test_export(server: ServerProcess, tmp_path: Path) -> None:
    env = {"RUNYARD_URL": server.url}
    run_id = _run(server.url, {"lr": 0.1}, 0.5)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "state.json"
    target.write_text("old")
    done = cli("export", str(target), env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(target.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
    assert [r["id"] for r in doc["runs"]] == [run_id]
    assert [p.name for p in out.iterdir()] == ["state.json"]  # no temp file left
    stdout = cli("export", "-", env=env)
    assert json.loads(stdout.stdout)["runs"][0]["id"] == run_id
    missing = cli("export", str(out / "no" / "state.json"), env=env)
    assert missing.returncode == 2 and not (out / "no").exists()
    down = cli("export", str(target), env={"RUNYARD_URL": "http://127.0.0.1:9"})
    assert down.returncode == 1 and "cannot reach" in down.stderr
    assert json.loads(target.read_text()) == doc  # the old export stays whole
    assert [p.name for p in out.iterdir()] == ["state.json"]


def test_export_metrics_and_runs_as_csv(server: ServerProcess, tmp_path: Path) -> None:
    env = {"RUNYARD_URL": server.url}
    run = httpx.post(f"{server.url}/api/runs", json={"name": "exported"}).json()
    body = {"metrics": {"loss": {"steps": [0, 1, 2], "values": [3.0, 2.0, 1.0]}}}
    httpx.post(f"{server.url}/api/runs/{run['id']}/metrics", json=body)
    out = tmp_path / "m.csv"
    done = cli("export", str(out), "--metrics", run["id"], env=env)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "key,step,value,timestamp"
    assert [line.split(",")[2] for line in lines[1:]] == ["3.0", "2.0", "1.0"]
    table = cli("export", "-", "--runs-csv", "-f", "metrics.loss < 2", env=env)
    assert table.returncode == 0 and "exported" in table.stdout
    missing = cli("export", str(out), "--metrics", "nosuchrun0", env=env)
    assert missing.returncode == 1 and "no run" in missing.stderr
