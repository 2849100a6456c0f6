"""Bulk tag and delete past the old cap of 10 selected runs: one request per action, every run
answered for, the refused ones (still running) named with the reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Request, expect

from tests.web.conftest import DESKTOP, PHONE, Live

pytestmark = pytest.mark.browser

N = 14


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_tag_and_delete_more_than_ten_runs(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    experiment = f"bulk-many-{viewport['width']}"
    ids = []
    for i in range(N + 1):
        run = live.post("/api/runs", json={"name": f"m{i:02d}", "experiment": experiment}).json()
        ids.append(run["id"])
        if i < N:  # the last one stays running
            assert live.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    writes: list[Request] = []
    page.on("request", lambda r: writes.append(r) if r.method != "GET" else None)
    page.goto(f"{live.url}/runs?experiment={experiment}")
    rows = page.locator('[role="row"][data-run-id]')
    expect(rows).to_have_count(N + 1)

    page.get_by_test_id("select-all").click()
    expect(page.get_by_text(f"{N + 1} selected")).to_be_visible()
    page.get_by_test_id("bulk-tag").fill("paper")
    page.get_by_test_id("bulk-tag").press("Enter")
    expect(page.get_by_test_id("bulk-note")).to_have_text(f"tagged {N + 1} runs “paper”")
    tagged = live.get("/api/runs", params={"experiment": experiment, "tag": "paper"}).json()
    assert len(tagged["runs"]) == N + 1
    expect(rows.first.locator(".c-tags")).to_contain_text("paper")

    page.get_by_test_id("bulk-delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("bulk-note")).to_have_text(f"deleted {N} runs")
    expect(page.get_by_role("alert")).to_contain_text("running")  # why the last one stayed
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", ids[-1])
    trash = {r["id"] for r in live.get("/api/trash").json()["runs"]}
    assert set(ids[:N]) <= trash and ids[-1] not in trash

    bulk = [r for r in writes if r.url.endswith("/api/bulk/runs")]
    assert len(bulk) == 2 and len(writes) == 2, [(r.method, r.url) for r in writes]
    context.close()
