"""POST /api/compare and `best`/`best_step` of runs, over HTTP on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _run(client: TestClient, params: dict[str, Any], goals: dict[str, str] | None = None,
         primary: str | None = None, **series: list[float | None]) -> str:  # fmt: skip
    r = client.post("/api/runs", json={"experiment": "cmp", "params": params})
    assert r.status_code == 201, r.text
    run_id: str = r.json()["id"]
    if goals:
        body = {"goals": goals, "primary": primary}
        assert client.post(f"/api/runs/{run_id}/metric-goals", json=body).status_code == 200
    metrics = {
        key.replace("__", "/"): {"steps": list(range(len(v))), "values": v}
        for key, v in series.items()
    }
    if metrics:
        r = client.post(f"/api/runs/{run_id}/metrics", json={"metrics": metrics})
        assert r.status_code == 200, r.text
    return run_id


def test_compare_three_runs(client: TestClient) -> None:
    goals = {"val/loss": "min", "val/acc": "max"}
    adam, sgd = {"name": "adam"}, {"name": "sgd"}
    a = _run(client, {"lr": 0.1, "opt": adam}, goals, val__loss=[0.9, 0.5], val__acc=[0.7])
    b = _run(client, {"lr": 0.01, "opt": sgd}, goals, val__loss=[0.8, None], val__acc=[0.9])
    c = _run(client, {"lr": 0.1, "opt": adam, "wd": 0.1}, goals, val__loss=[0.3])
    r = client.post("/api/compare", json={"run_ids": [a, b, c], "baseline": a})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [run["id"] for run in out["runs"]] == [a, b, c]
    assert out["baseline"] == a
    config = {row["key"]: row for row in out["config"]}
    assert config["opt.name"] == {
        "key": "opt.name", "values": {a: "adam", b: "sgd", c: "adam"}, "differs": True,
        "missing": {},
    }  # fmt: skip
    assert config["wd"]["values"] == {a: None, b: None, c: 0.1}
    assert config["wd"]["missing"] == {a: "no such key", b: "no such key"}
    metrics = {row["key"]: row for row in out["metrics"]}
    loss = metrics["val/loss"]
    assert loss["goal"] == "min" and loss["best_run_id"] == c
    assert loss["values"] == {a: 0.5, b: "NaN", c: 0.3}
    assert loss["deltas"][a] == 0.0 and loss["deltas"][b] is None
    assert abs(loss["deltas"][c] + 0.2) < 1e-12
    acc = metrics["val/acc"]
    assert acc["best_run_id"] == b and acc["values"][c] is None
    assert acc["missing"] == {c: "not logged"}
    diff = client.post("/api/compare", json={"run_ids": [a, c], "diff_only": True}).json()
    assert [row["key"] for row in diff["config"]] == ["wd"]
    assert diff["baseline"] is None
    assert set(diff["metrics"][0]["deltas"].values()) == {None}


def test_compare_errors(client: TestClient) -> None:
    a = _run(client, {})
    b = _run(client, {})
    for body, status in [
        ({"run_ids": [a]}, 400),
        ({"run_ids": [a] + [f"r{i}" for i in range(10)]}, 400),
        ({"run_ids": [a, b, a]}, 400),
        ({"run_ids": [a, b], "baseline": "other"}, 400),
        ({"run_ids": [a, "0123456789abcdef"]}, 404),
        ({"run_ids": "x"}, 422),
    ]:
        r = client.post("/api/compare", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["message"]


def test_best_of_the_primary_metric_in_lists(client: TestClient) -> None:
    primary = _run(client, {}, {"val/loss": "min", "val/acc": "max"}, "val/loss",
                   val__loss=[0.9, 0.2, 0.4], val__acc=[0.1, 0.5, 0.3])  # fmt: skip
    only_goal = _run(client, {}, {"score": "max"}, None, score=[1.0, 3.0, 2.0])
    two_goals = _run(client, {}, {"a": "max", "b": "min"}, None, a=[1.0], b=[2.0])
    plain = _run(client, {}, None, None, loss=[1.0, 0.5])
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert (runs[primary]["best"], runs[primary]["best_step"]) == (0.2, 1)
    assert (runs[only_goal]["best"], runs[only_goal]["best_step"]) == (3.0, 1)
    assert runs[two_goals]["best"] is None  # no primary and no single goal: ambiguous
    assert runs[plain]["best"] is None and runs[plain]["best_step"] is None
    assert client.get(f"/api/runs/{primary}").json()["best"] == 0.2
