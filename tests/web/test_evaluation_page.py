"""The run page's Evaluation and Visuals sections, on desktop and phone widths."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import ServerProcess
from tests.web.conftest import DESKTOP, PHONE, Live, until

pytestmark = pytest.mark.browser
PROGRAM = Path(__file__).resolve().parents[1] / "programs" / "eval_gallery.py"


@pytest.fixture(scope="module")
def live(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Its own server: the first report imports torch and MONAI, and a loaded machine may
    take longer than the shared fixture's 30 s to start one."""
    srv = ServerProcess(tmp_path_factory.mktemp("eval-web") / "home").wait_ready(300)
    client = Live(base_url=srv.url, timeout=120)
    client.url = srv.url
    try:
        yield client
    finally:
        client.close()
        srv.stop()


@pytest.fixture(scope="module")
def evaluated(live: Live) -> str:
    r = live.post("/api/runs", json={"command": [sys.executable, str(PROGRAM)], "max_retries": 0})
    assert r.status_code == 201, r.text
    run_id: str = r.json()["id"]
    done = live.wait_status(run_id, "completed", "failed", timeout=300)
    assert done["status"] == "completed", live.get(f"/api/runs/{run_id}/logs").json()["text"]
    until(lambda: "test/auc" in live.get(f"/api/runs/{run_id}").json()["metrics"], timeout=300)
    return run_id


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_evaluation_and_visuals(
    live: Live, browser: Browser, evaluated: str, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    auc = live.get(f"/api/runs/{evaluated}").json()["metrics"]["test/auc"]
    page.goto(f"{live.url}/runs/{evaluated}#evaluation")
    section = page.locator("#evaluation")
    section.scroll_into_view_if_needed()
    card = section.locator('[data-metric="auc"]')
    expect(card).to_contain_text(f"{auc:.3f}", timeout=30_000)
    expect(card).to_contain_text("excellent" if auc >= 0.9 else "good")
    expect(section.get_by_role("img", name="ROC curve")).to_be_visible()
    expect(section.get_by_role("table", name="Confusion matrix")).to_contain_text("suspect")
    expect(section.get_by_test_id("worst")).to_contain_text("eye")
    visuals = page.locator("#visuals")
    visuals.scroll_into_view_if_needed()
    expect(visuals.get_by_test_id("roi-mean")).to_contain_text("Saliency in ROI", timeout=30_000)
    expect(visuals.locator(".gallery-item")).to_have_count(12)
    visuals.get_by_label("Sort by score").select_option("desc")
    expect(visuals.locator(".gallery-item").first).to_have_attribute("data-id", "eye011")
    slider = visuals.get_by_label("Overlay opacity")
    slider.fill("0.2")
    expect(visuals.locator(".gallery-over").first).to_have_css("opacity", "0.2")
    first = visuals.locator(".gallery-item img").first
    until(lambda: first.evaluate("img => img.complete && img.naturalWidth") == 32, timeout=20)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, "the page scrolls sideways"
    context.close()
    assert not errors, errors
