"""Names are data: any key or name the API accepts can be read back, by every route.

Generated names (slashes, percent signs, commas, spaces, any unicode) go through create →
list → get → metrics → export; names that are no names (empty, only whitespace, control
characters) are refused with 400; a listing cuts a 1 MB param short and says so.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard._names import name_problem

names = st.text(
    alphabet=st.one_of(
        st.sampled_from("/%, ?#&=+.é中🙂"), st.characters(exclude_categories=("Cs",))
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: name_problem(s) is None and s == s.strip() and s not in (".", ".."))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(experiment=names, key=names)
def test_generated_names_go_through_every_route(
    client: TestClient, experiment: str, key: str
) -> None:
    made = client.post("/api/experiments", json={"name": experiment})
    assert made.status_code in (201, 409), made.text  # 409: an earlier example made it
    listed = [e["name"] for e in client.get("/api/experiments").json()["experiments"]]
    assert experiment in listed
    got = client.get(f"/api/experiments/{quote(experiment, safe='')}")
    assert got.status_code == 200, got.text
    assert got.json()["name"] == experiment
    run = client.post("/api/runs", json={"experiment": experiment, "name": key}).json()
    assert (run["experiment"], run["name"]) == (experiment, key)
    batch = {"metrics": {key: {"steps": [0, 1], "values": [0.5, 0.25]}}}
    assert client.post(f"/api/runs/{run['id']}/metrics", json=batch).status_code == 200
    read = client.get(f"/api/runs/{run['id']}/metrics", params=[("keys", key)]).json()
    assert read["metrics"][key]["values"] == [0.5, 0.25]
    both = client.get(
        f"/api/runs/{run['id']}/metrics", params=[("keys", key), ("keys", "absent")]
    ).json()
    assert list(both["metrics"]) == [key]
    by_name = client.get("/api/runs", params={"experiment": experiment}).json()["runs"]
    assert run["id"] in [r["id"] for r in by_name]
    doc = client.get("/api/export").json()
    assert experiment in [e["name"] for e in doc["experiments"]]
    (exported,) = [r for r in doc["runs"] if r["id"] == run["id"]]
    assert key in exported["metrics"]


def test_a_key_with_a_comma_reads_back_and_old_comma_lists_still_work(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()
    batch = {"metrics": {k: {"steps": [0], "values": [1.0]} for k in ("a,b", "a", "b", "c")}}
    assert client.post(f"/api/runs/{run['id']}/metrics", json=batch).status_code == 200
    url = f"/api/runs/{run['id']}/metrics"
    assert set(client.get(url, params=[("keys", "a,b")]).json()["metrics"]) >= {"a,b"}
    assert set(client.get(url, params=[("keys", "a"), ("keys", "c")]).json()["metrics"]) == {
        "a",
        "c",
    }
    assert set(client.get(url, params={"keys": "b,c"}).json()["metrics"]) == {"b", "c"}


@pytest.mark.parametrize("bad", ["", " ", "\t\n", "a\x00b", "line\nbreak", "bell\x07"])
def test_names_that_are_no_names_are_refused_with_400(client: TestClient, bad: str) -> None:
    run = client.post("/api/runs", json={}).json()
    answers = [
        client.post("/api/experiments", json={"name": bad}),
        client.post("/api/runs", json={"name": bad}),
        client.post("/api/runs", json={"experiment": bad}),
        client.post(
            f"/api/runs/{run['id']}/metrics",
            json={"metrics": {bad: {"steps": [0], "values": [1.0]}}},
        ),
    ]
    for r in answers:
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "bad_name"
    assert client.get(f"/api/runs/{run['id']}/metrics").json()["metrics"] == {}


def test_listings_cut_long_params_short_and_the_run_has_them_whole(client: TestClient) -> None:
    big = "x" * 1_000_000
    run = client.post("/api/runs", json={"params": {"big": big, "small": 3}}).json()
    (listed,) = client.get("/api/runs").json()["runs"]
    assert listed["params_truncated"] == ["big"]
    assert len(listed["params"]["big"].encode()) <= 1024 + 3 and listed["params"]["small"] == 3
    whole = client.get(f"/api/runs/{run['id']}").json()
    assert whole["params"]["big"] == big and whole["params_truncated"] == []
