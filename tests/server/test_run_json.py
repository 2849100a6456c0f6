"""The runs list is built straight from rows into JSON (runyard/server/_run_json.py): it must
say exactly what RunOut, the declared shape, says for the same runs."""

from __future__ import annotations

import math
import random
import sys
from typing import Any

import orjson
from fastapi.testclient import TestClient

from runyard.server._run_json import when
from runyard.server.schemas import RunList, RunOut
from runyard.store import Store
from runyard.store.runs import RunQuery


def _by_models(store: Store, query: RunQuery) -> Any:
    """The answer as pydantic made it before: RunOut per run, long params cut to 1 KB."""
    page = store.runs.list(query)
    out = []
    for run in page.runs:
        model = RunOut.model_validate(run)
        cut = {}
        for key, value in model.params.items():
            text = orjson.dumps(value)
            if len(text) > 1024:
                cut[key] = text[:1024].decode(errors="ignore") + "…"
        if cut:
            model = model.model_copy(
                update={"params": {**model.params, **cut}, "params_truncated": list(cut)}
            )
        out.append(model)
    return orjson.loads(RunList(runs=out, next_cursor=page.next_cursor).model_dump_json())


def test_list_json_equals_the_models_answer(client: TestClient, store: Store) -> None:
    runs = [
        {
            "name": "plain",
            "params": {"lr": 0.1, "nested": {"a": [1, 2]}, "none": None, "flag": True},
            "tags": ["a", "b"],
            "metrics": {"loss": 0.5, "odd": "NaN", "up": "Infinity", "down": "-Infinity"},
            "goals": {"loss": "min"},
            "step": 3,
        },
        {"name": "long", "params": {"blob": "é" * 2000, "list": list(range(600))}},
        {"name": "live", "status": "running", "started_at": 1_700_000_000.0390625},
        {"name": "failed", "status": "failed", "ended_at": 1_800_000_000.5},
    ]
    made = client.post("/api/runs:batch", json={"runs": runs})
    assert made.status_code == 201
    job = client.post(
        "/api/runs",
        json={
            "command": [sys.executable, "-c", "pass"],
            "env": {"API_TOKEN": "secret", "MODE": "x"},
            "experiment": "jobs",
            "goals": {"acc": "max"},
            "depends_on": [made.json()["ids"][2]],  # waits for "live": it stays queued
        },
    )
    assert job.status_code == 201, job.text
    for params in [{}, {"order_by": "name"}, {"filter": "metrics.loss < 1", "limit": 1}]:
        # "live" (started long ago, no heartbeat) may be failed by the maintenance pass at
        # any moment, and the job waiting for it cancelled: compare a read that nothing
        # changed around
        for _ in range(50):
            want = _by_models(store, RunQuery(**params))
            got = client.get("/api/runs", params=params)
            if _by_models(store, RunQuery(**params)) == want:
                break
        assert got.status_code == 200
        assert got.json() == want
        RunList.model_validate_json(got.content)  # and it is what the document declares
    long = next(r for r in client.get("/api/runs").json()["runs"] if r["name"] == "long")
    assert sorted(long["params_truncated"]) == ["blob", "list"]


def test_times_are_read_as_pydantic_reads_them() -> None:
    from datetime import datetime

    from pydantic import TypeAdapter

    adapter = TypeAdapter(datetime)
    rnd = random.Random(1)
    xs = [rnd.uniform(0, 4e9) for _ in range(20000)]
    xs += [1583770789.0390625, 1_700_000_000.0, 0.0, 12.9999999, 1.0000005]
    for x in xs:
        want = adapter.dump_json(adapter.validate_python(x))
        assert orjson.dumps(when(x), option=orjson.OPT_UTC_Z) == want, x
    assert when(None) is None and math.isfinite(xs[0])


def test_compare_json_equals_the_models_answer(client: TestClient, store: Store) -> None:
    from runyard.server.schemas import CompareOut
    from runyard.store.compare import compare

    runs = [
        {"params": {"lr": 0.1, "opt": {"name": "adam"}}, "metrics": {"loss": 0.5, "acc": "NaN"}},
        {"params": {"lr": 0.2}, "metrics": {"loss": 0.25, "gain": "Infinity"}},
        {"status": "running", "params": {"lr": 0.3, "big": "x" * 3000}},
    ]
    for run in runs:
        run["goals"] = {"loss": "min"} if "loss" in run.get("metrics", {}) else {}
    ids = client.post("/api/runs:batch", json={"runs": runs}).json()["ids"]
    for body in [
        {"run_ids": ids},
        {"run_ids": ids[:2], "baseline": ids[1]},
        {"run_ids": ids, "baseline": ids[0], "diff_only": True},
    ]:
        got = client.post("/api/compare", json=body)
        assert got.status_code == 200, got.text
        model = CompareOut.model_validate(
            compare(
                store.runs.get_many(body["run_ids"]),
                body.get("baseline"),
                bool(body.get("diff_only")),
            )
        )
        assert got.json() == orjson.loads(model.model_dump_json())
        CompareOut.model_validate_json(got.content)
    bad = client.post("/api/compare", json={"run_ids": [ids[0]]})
    assert bad.status_code == 400


def test_a_run_listed_before_shows_its_changes(client: TestClient, store: Store) -> None:
    """Each run's JSON is reused while its row reads the same: any change makes a new one."""
    big = {"blob": "x" * 3000}  # params past what is kept: rendered on every read
    made = client.post(
        "/api/runs:batch",
        json={"runs": [{"name": "a", "params": {"lr": 0.1}}, {"name": "b", "params": big}]},
    )
    assert made.status_code == 201
    a, b = made.json()["ids"]

    def listed() -> dict[str, Any]:
        got = client.get("/api/runs")
        assert got.status_code == 200
        return {r["id"]: r for r in got.json()["runs"]}

    assert listed()[a]["metrics"] == {}
    assert client.patch(f"/api/runs/{a}", json={"name": "renamed", "tags": ["t"]}).is_success
    store.metrics.ingest(a, [_point("loss", 0.25)])
    run = listed()[a]
    assert (run["name"], run["tags"], run["metrics"]) == ("renamed", ["t"], {"loss": 0.25})
    store.metrics.ingest(a, [_point("loss", 0.125)])
    assert listed()[a]["metrics"] == {"loss": 0.125}
    assert listed()[b]["params_truncated"] == ["blob"]
    assert client.patch(f"/api/runs/{b}", json={"params": {"blob": "short"}}).is_success
    assert listed()[b]["params"] == {"blob": "short"}
    assert listed()[b]["params_truncated"] == []
    assert listed() == {r["id"]: r for r in _by_models(store, RunQuery())["runs"]}


def _point(key: str, value: float) -> Any:
    import numpy as np

    from runyard.store.metrics import Series

    return Series(key, np.array([1]), np.array([value]), np.array([1.0]))
