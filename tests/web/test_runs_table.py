"""The runs table: rows are virtualised, pages come through the cursor, sorts and filters."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Live, until

pytestmark = pytest.mark.browser
N = 260  # more than the first page (200): the rest comes through the cursor


def test_many_runs_scroll_through_a_virtual_table(live: Live, page: Page) -> None:
    names = [f"bulk-{i:04d}" for i in range(N)]
    for name in names:
        assert live.post("/api/runs", json={"name": name, "experiment": "bulk"}).status_code == 201
    page.goto(f"{live.url}/runs?experiment=bulk")
    rows = page.locator('[role="row"][data-run-id]')
    expect(rows.first).to_contain_text(names[-1])  # newest first
    assert rows.count() < 80  # only what is near the viewport is in the DOM
    expect(page.get_by_test_id("overall-progress")).to_contain_text("200+ runs")

    scroller = page.get_by_test_id("runs-scroller")
    # Scrolled again until the oldest row shows: the last page may arrive after a scroll to
    # what was then the end (seen on a busy machine), and the table does not scroll by itself.
    oldest = page.locator(f'[role="row"]:has-text("{names[0]}")')
    until(lambda: _scrolled_to_end(scroller) and oldest.is_visible(), timeout=20)
    expect(page.get_by_test_id("overall-progress")).to_contain_text(f"{N} runs")

    page.get_by_role("button", name="Name").click()  # ascending, by the server
    expect(page).to_have_url(f"{live.url}/runs?experiment=bulk&sort=name&dir=asc")
    scroller.evaluate("el => { el.scrollTop = 0 }")
    expect(rows.first).to_contain_text(names[0])
    page.get_by_role("searchbox").fill("bulk-0042")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bulk-0042")


def _scrolled_to_end(scroller: object) -> bool:
    """Scroll the table to its end; true once no further page is coming."""
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight }")  # type: ignore[attr-defined]
    page = scroller.page  # type: ignore[attr-defined]
    return bool(page.get_by_test_id("overall-progress").inner_text().startswith(f"{N} runs"))
