"""Overview and Pipelines against a live server: what the API says is what the page shows."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Live

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
