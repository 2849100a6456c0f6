"""Overview and Pipelines against a live server: what the API says is what the page shows."""

from __future__ import annotations

import re
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Live, until

pytestmark = pytest.mark.browser


def test_pipelines_draw_runs_linked_by_depends_on(live: Live, page: Page) -> None:
    def job(name: str, *deps: str) -> dict:
        body = {"name": name, "command": [sys.executable, "-c", "pass"], "depends_on": list(deps)}
        r = live.post("/api/runs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    prep = job("pipe-prepare")
    a, b = job("pipe-train-a", prep["id"]), job("pipe-train-b", prep["id"])
    final = job("pipe-evaluate", a["id"], b["id"])
    for r in (prep, a, b, final):
        live.wait_status(r["id"], "completed")
    page.goto(f"{live.url}/pipelines")
    graph = page.locator(".pipeline", has=page.locator(f'[data-run-id="{final["id"]}"]'))
    expect(graph.locator(".node")).to_have_count(4)
    expect(graph).to_contain_text("4/4 completed · 3 stages")
    for r in (prep, a, b, final):
        node = graph.locator(f'.node[data-run-id="{r["id"]}"]')
        expect(node).to_have_attribute("data-status", "completed")
        expect(node).to_contain_text("completed")  # the word, not only the colour
    expect(graph.locator("path.edge")).to_have_count(4)
    graph.get_by_role("link", name=f"{final['name']}, completed").click()
    expect(page.get_by_role("heading", name="pipe-evaluate")).to_be_visible()


def test_overview_shows_the_queue_and_the_machine_as_the_api_does(live: Live, page: Page) -> None:
    run = live.train("overview-run", "--steps", "20", "--epochs", "2")
    live.wait_status(run["id"], "completed")
    page.goto(f"{live.url}/")
    expect(page.get_by_role("heading", name="Mission control")).to_be_visible()

    def agrees(group: str) -> bool:  # the page follows the API, even as others' jobs end
        shown = page.get_by_test_id(f"count-{group}").inner_text()
        return shown == str(live.get("/api/queue").json()["counts"][group])

    for group in ("active", "queued", "completed", "failed", "cancelled"):
        until(lambda group=group: agrees(group), timeout=15)
    assert int(page.get_by_test_id("count-completed").inner_text()) >= 1
    expect(page.locator('[data-group="completed"]')).to_contain_text("overview-run")
    system = live.get("/api/system").json()
    for label in ("CPU", "Memory", "Disk"):
        meter = page.locator(f'[data-meter="{label}"]')
        expect(meter).to_be_visible()
        expect(meter.locator("[data-health]")).to_have_text(re.compile("Healthy|Warning|Critical"))
    expect(page.locator('[data-meter="CPU"]')).to_contain_text(f"{system['cpu']['count']} cores")
    recent = page.locator(f'.recent-card[data-run-id="{run["id"]}"]')
    expect(recent.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
