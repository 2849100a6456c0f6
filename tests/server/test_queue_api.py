"""GET /api/queue and the store's queue view, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from runyard.entities import JobSpec, RunStatus
from runyard.store import Store
from runyard.store.queue import GROUPS

# Two of each status: cancelled (and pruned, where sweeps add it) are not counted as failed.
COUNTS = {"active": 4, "queued": 4, "completed": 2, "failed": 2, "cancelled": 2}
if "pruned" in GROUPS:
    COUNTS["pruned"] = 2


def _fill(store: Store) -> dict[str, list[str]]:
    """Two runs in every status, made in the store; the queued ones wait on a running run, so
    that the app's scheduler leaves them be."""
    made: dict[str, list[str]] = {}
    spec = JobSpec(command=["true"]).to_dict()
    order = [RunStatus.RUNNING, *(s for s in RunStatus if s is not RunStatus.RUNNING)]
    for status in order:
        for _ in range(2):
            waits = made["running"][:1] if status is RunStatus.QUEUED else []
            run = store.runs.create(experiment="q", spec=spec, status=status, depends_on=waits)
            made.setdefault(status.value, []).append(run.id)
    return made


def test_queue_view_groups_counts_and_limit(store: Store) -> None:
    made = _fill(store)
    view = store.queue.view(limit=3)
    assert view.counts == COUNTS
    assert store.queue.counts() == view.counts
    newest_first = made["retrying"][::-1] + made["queued"][::-1]
    assert [r.id for r in view.groups["queued"]] == newest_first[:3]
    assert [r.id for r in view.groups["failed"]] == made["failed"][::-1]
    assert [r.id for r in view.groups["cancelled"]] == made["cancelled"][::-1]
    assert [r.id for r in view.groups["completed"]] == made["completed"][::-1]
    assert {r.status for r in store.queue.view(limit=50).groups["active"]} == {
        RunStatus.STARTING,
        RunStatus.RUNNING,
    }


def test_queue_api(client: TestClient, store: Store) -> None:
    empty = client.get("/api/queue").json()
    groups = ("active", "queued", "completed", "failed", "cancelled", "pruned")
    assert empty == {"counts": dict.fromkeys(groups, 0), **{g: [] for g in groups}}
    made = _fill(store)
    out = client.get("/api/queue", params={"limit": 1}).json()
    assert out["counts"] == {"pruned": 0, **COUNTS}
    assert [r["id"] for r in out["completed"]] == [made["completed"][-1]]
    assert all(len(out[k]) == 1 for k in ("active", "queued", "completed", "failed"))
    assert out["failed"][0]["status"] == "failed"
    assert out["cancelled"][0]["status"] == "cancelled"
    for params in ({"limit": 0}, {"limit": 5000}, {"limit": "x"}):
        r = client.get("/api/queue", params=params)
        assert r.status_code in (400, 422) and r.json()["error"]["message"], r.text
