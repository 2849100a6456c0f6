"""The Overview draws the host history the API keeps, against wall-clock time, with a range."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import DESKTOP, PHONE, Live, until

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_host_history_with_a_range_picker(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    until(lambda: live.get("/api/system/history", params={"minutes": 60}).json()["ts"], 30)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{live.url}/")
    panel = page.get_by_test_id("host-history")
    expect(panel.locator("canvas")).to_have_count(1, timeout=20_000)
    expect(panel.locator(".u-legend")).to_contain_text("CPU %")
    expect(panel.locator(".u-legend")).to_contain_text("time")  # the x axis is wall time
    with page.expect_request(lambda r: "/api/system/history" in r.url and "minutes=15" in r.url):
        page.get_by_test_id("history-range").select_option("15")
    context.close()
