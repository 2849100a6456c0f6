"""The runs table's tools: chosen metric/param columns (server-sorted, remembered per
experiment), the filter box with inline errors, bulk tag and delete, the CSV link."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PHONE, Live

pytestmark = pytest.mark.browser


def _run(live: Live, exp: str, name: str, opt: str, loss: float) -> dict[str, Any]:
    run = live.post(
        "/api/runs", json={"name": name, "experiment": exp, "params": {"opt": opt}}
    ).json()
    body = {"metrics": {"val/loss": {"steps": [0], "values": [loss]}}}
    assert live.post(f"/api/runs/{run['id']}/metrics", json=body).is_success
    assert live.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"}).is_success
    return dict(run)


def test_columns_filter_bulk_and_csv(live: Live, page: Page) -> None:
    runs = [
        _run(live, "tools", "t-adam-1", "adam", 0.5),
        _run(live, "tools", "t-sgd", "sgd", 0.1),
        _run(live, "tools", "t-adam-2", "adam", 0.3),
    ]
    page.goto(f"{live.url}/runs?experiment=tools")
    rows = page.locator('[role="row"][data-run-id]')
    expect(rows).to_have_count(3)
    page.get_by_test_id("add-column").select_option("metrics.val/loss")
    page.get_by_test_id("add-column").select_option("params.opt")
    header = page.locator('.vhead [data-col="metrics.val/loss"]')
    header.get_by_role("button", name="val/loss", exact=True).click()  # ascending, on the server
    expect(page).to_have_url(f"{live.url}/runs?experiment=tools&sort=metrics.val%2Floss&dir=asc")
    expect(rows.first).to_contain_text("t-sgd")
    expect(rows.first.locator('[data-col="metrics.val/loss"]')).to_have_text("0.1")
    expect(rows.first.locator('[data-col="params.opt"]')).to_have_text("sgd")
    page.get_by_role("button", name="Move params.opt left").click()
    cols = page.locator(".vhead .c-extra").evaluate_all("els => els.map(e => e.dataset.col)")
    assert cols == ["params.opt", "metrics.val/loss"]

    page.reload()  # remembered for this experiment
    expect(page.locator('.vhead [data-col="params.opt"]')).to_be_visible()
    page.goto(f"{live.url}/runs")  # and only for it
    expect(page.locator(".vhead .c-extra")).to_have_count(0)

    page.goto(f"{live.url}/runs?experiment=tools")
    box = page.get_by_test_id("run-filter")
    box.fill("metrics.val/loss <")
    box.press("Enter")
    expect(page.get_by_test_id("filter-error")).to_be_visible()
    box.fill('params.opt = "adam" and metrics.val/loss < 0.4')
    box.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("t-adam-2")
    href = page.get_by_test_id("download-csv").get_attribute("href") or ""
    csv = live.get(href).text.splitlines()
    assert csv[0].endswith("params.opt,metrics.val/loss") and len(csv) == 2
    assert csv[1].endswith("adam,0.3")

    box.fill("")
    box.press("Enter")
    expect(rows).to_have_count(3)
    for run in runs[:2]:
        page.get_by_label(f"Select {run['name']}").check()
    page.get_by_test_id("bulk-tag").fill("paper")
    page.get_by_test_id("bulk-tag").press("Enter")
    for run in runs[:2]:
        live_tags = lambda r=run: live.get(f"/api/runs/{r['id']}").json()["tags"]  # noqa: E731
        expect(page.locator(f'[data-run-id="{run["id"]}"] .c-tags')).to_contain_text("paper")
        assert live_tags() == ["paper"]
    page.get_by_test_id("bulk-delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    trash = {r["id"] for r in live.get("/api/trash").json()["runs"]}
    assert {runs[0]["id"], runs[1]["id"]} <= trash


def test_filter_error_inline_on_a_phone(live: Live, browser: Browser) -> None:
    _run(live, "phone-tools", "p1", "adam", 0.2)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live.url}/runs?experiment=phone-tools&filter=metrics.val%2Floss%20%3C")
    expect(page.get_by_test_id("filter-error")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    context.close()
