"""`make demo` registers a small image dataset with a planted patient leak: the demo's own
job (examples/fundus_data.py, as `runyard demo` submits it) runs on a real server, the checks
find exactly the planted patients, and the Datasets page lists them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from runyard.cli import _demo_fundus
from tests.web.conftest import DESKTOP, PHONE, Live

pytestmark = pytest.mark.browser

PLANTED = ["p0000", "p0001"]  # --leak 2 moves the right eye of the first two patients


@pytest.fixture(scope="module")
def leaky(live: Live) -> dict[str, Any]:
    (job,) = [j for j in _demo_fundus.jobs() if j["name"] == "register-fundus-leaky"]
    run = live.post("/api/runs", json=job)
    assert run.status_code == 201, run.text
    done = live.wait_status(run.json()["id"], "completed", "failed", timeout=120)
    log = live.get(f"/api/runs/{done['id']}/logs").text
    assert done["status"] == "completed", log
    assert "planted a leak: p0000, p0001 in two splits" in log
    found: dict[str, Any] = live.get(f"/api/datasets/{_demo_fundus.LEAKY}").json()
    return found


def test_the_checks_find_the_planted_leak(leaky: dict[str, Any], live: Live) -> None:
    version = leaky["versions"][0]["version"]
    detail = live.get(f"/api/datasets/{_demo_fundus.LEAKY}/versions/{version}").json()
    report = detail["report"]
    assert report["leaked_ids"] == PLANTED, report
    assert any(e["check"] == "leakage" for e in report["errors"]), report


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_datasets_page_shows_the_leak(
    leaky: dict[str, Any], live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{live.url}/datasets")
    row = page.locator(f'tr[data-dataset="{_demo_fundus.LEAKY}"]')
    row.get_by_role("link", name=_demo_fundus.LEAKY).click()
    expect(page.get_by_role("heading", name=_demo_fundus.LEAKY)).to_be_visible()
    page.get_by_role("list", name="Versions and their lineage").locator("li").first.get_by_role(
        "button"
    ).click()
    leaked = page.get_by_test_id("leaked-ids")
    expect(leaked.locator("li")).to_have_count(len(PLANTED))
    for patient in PLANTED:
        expect(leaked).to_contain_text(patient)
    expect(page.locator('#report [data-check="leakage"]').first).to_be_visible()
    context.close()
