"""GET /api/export of a real store with real runs, validated against docs/export.schema.json."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from runyard.server.export_schema import (
    ExportArtifact,
    ExportCheckpoint,
    ExportOut,
    ExportProgress,
    ExportRun,
    json_schema,
)
from runyard.server.schemas import AttemptOut, ExperimentOut

SCHEMA = Path(__file__).parents[2] / "docs" / "export.schema.json"


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _wait(client: TestClient, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "cancelled"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


def test_the_published_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text()) == json_schema(), (
        "docs/export.schema.json is stale: "
        "python -m runyard.server.export_schema > docs/export.schema.json"
    )


def test_export_of_real_runs_matches_the_schema(client: TestClient) -> None:
    _ok(client.post("/api/experiments", json={"name": "vision", "description": "cnn"}), 201)
    done = _ok(client.post("/api/runs", json={"experiment": "vision", "params": {"lr": 0.1}}), 201)
    rid = done["id"]
    _ok(client.post(f"/api/runs/{rid}/metric-goals", json={"goals": {"loss": "min"}}))
    batch = {"loss": {"steps": [0, 1, 2], "values": [0.9, 0.3, None]}}
    _ok(client.post(f"/api/runs/{rid}/metrics", json={"metrics": batch}))
    _ok(client.post(f"/api/runs/{rid}/progress", json={"epoch": 2, "total_epochs": 4}))
    data = b"weights"
    (Path(done["run_dir"]) / "model.pt").write_bytes(data)
    ckpt = {"name": "e2", "path": "model.pt", "step": 2, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "metrics": {"loss": 0.3}}  # fmt: skip
    _ok(client.post(f"/api/runs/{rid}/checkpoints", json=ckpt), 201)
    _ok(client.post(f"/api/runs/{rid}/artifacts", json={"path": "model.pt", "size": 7}), 201)
    _ok(client.post(f"/api/runs/{rid}/finish", json={"status": "completed"}))
    live = _ok(client.post("/api/runs", json={"experiment": "vision"}), 201)["id"]
    acc = {"acc": {"steps": [5], "values": [0.5]}}
    _ok(client.post(f"/api/runs/{live}/metrics", json={"metrics": acc}))
    job = {
        "command": [sys.executable, "-c", "print('hi')"],
        "experiment": "jobs",
        "expect": [{"name": "model", "glob": "*.pt", "hint": "save one"}],
    }
    job_id = _ok(client.post("/api/runs", json=job), 201)["id"]
    assert _wait(client, job_id)["status"] == "completed"

    r = client.get("/api/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)
    assert (doc["format"], doc["version"]) == ("runyard-export", 1)
    assert [e["name"] for e in doc["experiments"]] == ["vision", "jobs"]
    runs = {run["id"]: run for run in doc["runs"]}
    assert list(runs) == [job_id, live, rid]  # newest first
    ended = runs[rid]
    assert ended["params"] == {"lr": 0.1} and ended["status"] == "completed"
    assert ended["metrics"] == {"loss": "NaN"}  # NaN travels as a string
    assert (ended["best"], ended["best_step"]) == (0.3, 1)
    assert ended["summary"]["metrics"]["loss"]["best"] == 0.3
    assert ended["progress"]["epoch"] == 2 and ended["progress"]["eta_s"] is None
    assert [c["name"] for c in ended["checkpoints"]] == ["e2"]
    assert [a["path"] for a in ended["artifacts"]] == ["model.pt"]
    assert runs[live]["summary"]["metrics"]["acc"]["last"] == 0.5  # computed: it has not ended
    assert runs[live]["checklist"] is None and runs[live]["attempts"] == []
    ran = runs[job_id]
    assert [a["status"] for a in ran["attempts"]] == ["succeeded"]
    assert ("model", "FAIL") in [(i["name"], i["status"]) for i in ran["checklist"]]
    # Every field the models (and so the schema) name, and no other: the document is built
    # without them for speed, so this is where a field added to RunOut must show up.
    for model, docs in [
        (ExportRun, doc["runs"]),
        (ExportProgress, [r["progress"] for r in doc["runs"]]),
        (AttemptOut, ran["attempts"]),
        (ExportCheckpoint, ended["checkpoints"]),
        (ExportArtifact, ended["artifacts"]),
        (ExperimentOut, doc["experiments"]),
        (ExportOut, [doc]),
    ]:
        assert all(d.keys() == model.model_fields.keys() for d in docs), model.__name__
    openapi = client.get("/openapi.json").json()["paths"]["/api/export"]["get"]
    assert "ExportOut" in json.dumps(openapi["responses"]["200"])
