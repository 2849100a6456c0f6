"""The server goes away and comes back: the page says so, keeps what it showed, recovers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser


def test_a_server_that_goes_down_is_designed_for(bundle: Path, tmp_path: Path, page: Page) -> None:
    srv = ServerProcess(tmp_path / "home").wait_ready()
    try:
        run = httpx.post(f"{srv.url}/api/runs", json={"name": "survivor"}).json()
        page.goto(f"{srv.url}/runs/{run['id']}")
        expect(page.get_by_role("heading", name="survivor")).to_be_visible()
        expect(page.locator(".live")).to_have_text("Live")
        srv.stop()
        banner = page.locator(".offline-banner")
        expect(banner).to_contain_text("Can't reach the runyard server", timeout=15_000)
        expect(page.locator(".live")).to_have_text("Offline")
        expect(page.get_by_role("heading", name="survivor")).to_be_visible()  # still shown
        srv = ServerProcess(tmp_path / "home", port=srv.port).wait_ready()
        expect(banner).to_have_count(0, timeout=40_000)
        expect(page.locator(".live")).to_have_text("Live")
    finally:
        srv.stop()
