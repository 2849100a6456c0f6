"""Phone size: no page scrolls sideways; the runs table becomes cards."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import PHONE, Live

pytestmark = pytest.mark.browser


def test_phone_layout_never_scrolls_sideways(live: Live, browser: Browser) -> None:
    a = live.train("phone-a", "--steps", "20", "--epochs", "2", tags=["phone", "a-long-tag"])
    b = live.train("phone-b-with-a-rather-long-name", "--steps", "20", "--epochs", "2")
    for r in (a, b):
        live.wait_status(r["id"], "completed")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        paths = [
            "/",
            "/runs",
            f"/runs/{a['id']}",
            f"/compare?runs={a['id']},{b['id']}",
            "/pipelines",
            "/datasets",
            "/runs/nosuchrun0000000",
        ]
        for path in paths:
            page.goto(live.url + path)
            expect(page.locator("#main")).not_to_be_empty()
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways: {width}px"
        page.goto(f"{live.url}/runs")
        row = page.locator(f'[role="row"][data-run-id="{a["id"]}"]')
        expect(row).to_be_visible()
        box = row.bounding_box()
        assert box is not None and box["height"] > 90  # a card, not a one-line row
    finally:
        context.close()
