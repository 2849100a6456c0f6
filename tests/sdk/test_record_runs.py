"""`runyard.record_runs`: many finished runs through POST /api/runs:batch, 1,000 a request."""

from __future__ import annotations

import math

import pytest

import runyard
from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from runyard.store.runs import RunQuery
from tests._live import serve
from tests.sdk.conftest import closed_url


def test_record_runs_in_order_across_requests(settings: Settings, store: Store) -> None:
    runs = [
        {"experiment": "grid", "name": f"g{i}", "params": {"i": i}, "metrics": {"acc": i / 1000}}
        for i in range(1005)
    ]
    runs[3]["metrics"] = {"acc": math.nan, "gain": math.inf, "drop": -math.inf}
    with serve(create_app(settings, store)) as url:
        ids = runyard.record_runs(runs, url=url)
    assert len(ids) == len(set(ids)) == 1005
    got = store.runs.get_many([ids[0], ids[3], ids[1004]])
    assert [r.name for r in got] == ["g0", "g3", "g1004"]
    assert got[2].params == {"i": 1004} and got[2].metrics == {"acc": 1.004}
    odd = got[1].metrics
    assert math.isnan(odd["acc"]) and odd["gain"] == math.inf and odd["drop"] == -math.inf


def test_a_refused_batch_names_the_callers_index(settings: Settings, store: Store) -> None:
    runs: list[dict] = [{"experiment": "bad"} for _ in range(1003)]
    runs[1001]["goals"] = {"acc": "max"}  # a goal for a metric the run does not have
    with serve(create_app(settings, store)) as url, pytest.raises(runyard.RunsRefused) as err:
        runyard.record_runs(runs, url=url)
    assert err.value.status == 400
    assert "runs[1]" in err.value.message and "runs[1000+i]" in err.value.message
    assert len(err.value.created) == 1000  # the first request went in whole, the second not
    assert len(store.runs.list(RunQuery(experiment="bad", limit=2000)).runs) == 1000


def test_record_runs_raises_when_no_server_answers() -> None:
    import httpx

    with pytest.raises(httpx.ConnectError):
        runyard.record_runs([{"experiment": "x"}], url=closed_url())
