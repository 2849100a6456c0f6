"""/docs and /redoc work with the network cut off: every asset comes from runyard itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.web.conftest import DESKTOP, PHONE, Live

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_api_pages_load_nothing_from_outside(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    outside: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(live.url):
            route.continue_()
        else:  # the network is blocked: anything else fails, and is recorded
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{live.url}/docs")
    title = page.locator(".swagger-ui .info .title")
    expect(title).to_contain_text("runyard", timeout=30_000)
    expect(page.locator(".opblock-tag").first).to_be_visible(
        timeout=30_000
    )  # the routes, from /openapi.json
    page.goto(f"{live.url}/redoc")
    expect(page.locator("h1").first).to_contain_text("runyard", timeout=30_000)
    expect(page.get_by_text("/api/runs", exact=False).first).to_be_attached()
    page.goto(f"{live.url}/")  # the dashboard too
    expect(page.locator("h1").first).to_be_visible()
    context.close()
    assert outside == []
