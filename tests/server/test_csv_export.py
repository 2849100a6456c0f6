"""CSV exports: the runs table (filters, chosen columns, every page) and full metric series."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _run(client: TestClient, name: str, lr: float, loss: list[float]) -> str:
    run = client.post(
        "/api/runs", json={"name": name, "experiment": "csv", "params": {"lr": lr}, "tags": ["a"]}
    ).json()
    body = {"metrics": {"val/loss": {"steps": list(range(len(loss))), "values": loss}}}
    assert client.post(f"/api/runs/{run['id']}/metrics", json=body).status_code == 200
    return str(run["id"])


def test_runs_csv_takes_the_filter_and_the_columns(client: TestClient) -> None:
    a = _run(client, "a, quoted", 0.1, [0.9, 0.2])
    _run(client, "b", 0.01, [0.8, 0.5])
    r = client.get(
        "/api/runs.csv",
        params={
            "experiment": "csv",
            "filter": "metrics.val/loss < 0.3",
            "columns": "id,name,params.lr,metrics.val/loss,tags,created_at",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    header, *rows = _rows(r.text)
    assert header == ["id", "name", "params.lr", "metrics.val/loss", "tags", "created_at"]
    assert rows == [[a, "a, quoted", "0.1", "0.2", "a", rows[0][5]]]
    assert rows[0][5].startswith("20")  # ISO time


def test_runs_csv_pages_through_every_run(client: TestClient) -> None:
    for i in range(1203):  # more than one page of the export (1000)
        client.post("/api/runs", json={"name": f"r{i}", "experiment": "many"})
    r = client.get("/api/runs.csv", params={"experiment": "many", "columns": "name"})
    names = [row[0] for row in _rows(r.text)[1:]]
    assert len(names) == 1203 and len(set(names)) == 1203


def test_runs_csv_bad_input_is_a_clear_400(client: TestClient) -> None:
    for params, words in (
        ({"columns": "id,bogus"}, "unknown column 'bogus'"),
        ({"columns": ","}, "columns is empty"),
        ({"filter": "metrics.x <"}, ""),
        ({"status": "nope"}, "unknown status"),
    ):
        r = client.get("/api/runs.csv", params=params)
        assert r.status_code == 400, (params, r.text)
        assert words in r.json()["error"]["message"]


def test_metrics_csv_is_every_point(client: TestClient) -> None:
    run = client.post("/api/runs", json={"experiment": "csv"}).json()
    for first in (0, 500):  # two chunks
        steps = list(range(first, first + 500))
        body = {
            "metrics": {
                "loss": {"steps": steps, "values": [s / 1000 for s in steps]},
                "acc": {"steps": steps[:2], "values": [None, 0.5]},
            }
        }
        assert client.post(f"/api/runs/{run['id']}/metrics", json=body).status_code == 200
    r = client.get(f"/api/runs/{run['id']}/metrics.csv")
    assert r.status_code == 200
    header, *rows = _rows(r.text)
    assert header == ["key", "step", "value", "timestamp"]
    loss = [row for row in rows if row[0] == "loss"]
    assert [int(row[1]) for row in loss] == list(range(1000))
    assert float(loss[999][2]) == 0.999
    acc = [row[2] for row in rows if row[0] == "acc"]
    assert acc == ["NaN", "0.5", "NaN", "0.5"]
    only = _rows(client.get(f"/api/runs/{run['id']}/metrics.csv", params={"keys": "acc"}).text)
    assert {row[0] for row in only[1:]} == {"acc"}
    assert client.get("/api/runs/nosuchrun0/metrics.csv").status_code == 404
