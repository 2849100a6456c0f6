"""The Overview draws the host history the API keeps, against wall-clock time, with a range."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import DESKTOP, PHONE, X_TICKS, Live, until

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_host_history_with_a_range_picker(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    until(lambda: live.get("/api/system/history", params={"minutes": 60}).json()["ts"], 30)
    context = browser.new_context(viewport=viewport)
    context.add_init_script(X_TICKS)
    page = context.new_page()
    page.goto(f"{live.url}/")
    panel = page.get_by_test_id("host-history")
    expect(panel.locator("canvas")).to_have_count(1, timeout=20_000)
    expect(panel.locator(".u-legend")).to_contain_text("CPU %")
    expect(panel.locator(".u-legend")).to_contain_text("time")  # the x axis is wall time
    # The times of day carry the date on a second line: drawn whole, inside the canvas.
    canvas = panel.locator("canvas")
    ticks = until(  # once the history is drawn (a first draw, with no data, ticks years)
        lambda: (
            (t := canvas.evaluate("c => window.xTicks(c)"))
            and any(":" in x["text"] for x in t)
            and t
        ),
        20,
    )
    height = canvas.evaluate("c => c.height")
    assert any("/" in t["text"] for t in ticks), ticks
    assert all(t["y"] + t["height"] <= height for t in ticks), (height, ticks)
    with page.expect_request(lambda r: "/api/system/history" in r.url and "minutes=15" in r.url):
        page.get_by_test_id("history-range").select_option("15")
    context.close()
