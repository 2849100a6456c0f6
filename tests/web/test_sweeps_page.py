"""The Sweeps page on a real sweep: trials (pruned with its own word), best-so-far by whole
trial numbers, curves with pruned trials faded, parallel coordinates, and the best trial linked
to its run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.runner.conftest import program
from tests.sweeps.test_sweeps_api import ARGS, _body
from tests.web.conftest import X_TICKS, until

pytestmark = pytest.mark.browser


@pytest.fixture
def sweep_server(bundle: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "home", "--slots", "4").wait_ready(timeout=90)
    yield srv
    srv.stop()


def test_the_sweeps_page_follows_a_real_sweep(page: Page, sweep_server: ServerProcess) -> None:
    url = sweep_server.url
    command = program("sweep_trial.py", *ARGS, "--steps", "8", "--sleep", "0.2")
    r = httpx.post(f"{url}/api/sweeps", json=_body(command=command))
    assert r.status_code == 201, r.text
    sweep_id = r.json()["id"]
    page.add_init_script(X_TICKS)
    page.goto(f"{url}/sweeps/{sweep_id}")
    expect(page.get_by_test_id("trials")).to_be_visible()
    # Live: the page shows the sweep's end without a reload.
    expect(page.get_by_test_id("sweep-status")).to_have_text("completed", timeout=120_000)
    sweep = httpx.get(f"{url}/api/sweeps/{sweep_id}").json()
    pruned = [t for t in sweep["trials"] if t["status"] == "pruned"]
    assert pruned
    rows = page.get_by_test_id("trials").locator("tbody tr")
    expect(rows).to_have_count(len(sweep["trials"]))
    expect(page.locator('tr[data-status="pruned"] .badge')).to_have_count(len(pruned))
    expect(page.locator('tr[data-status="pruned"] .badge').first).to_have_text("✂pruned")
    lines = page.get_by_test_id("parallel").locator("polyline")
    expect(lines).to_have_count(len(sweep["trials"]))
    expect(page.locator('polyline[data-status="pruned"]')).to_have_count(len(pruned))
    expect(page.locator("figure.chart")).to_have_count(2)  # best so far, objective by step
    points = until(lambda: page.locator("figure.chart").nth(1).get_attribute("data-points"))
    assert int(points) == sum(t["points"] for t in sweep["trials"])
    by_trial = page.locator('figure.chart[aria-label^="best so far"]')
    ticks = by_trial.locator("canvas").evaluate("c => window.xTicks(c).map(t => t.text)")
    assert len(ticks) >= 2 and all(t.isdigit() for t in ticks), ticks  # 0, 1, 2, not 0.5
    expect(by_trial.locator(".u-legend .u-series").first.locator(".u-label")).to_have_text("trial")
    by_step = page.locator('figure.chart[aria-label^="objective by step"]')
    ticks = by_step.locator("canvas").evaluate("c => window.xTicks(c).map(t => t.text)")
    assert len(ticks) >= 2 and all(t.isdigit() for t in ticks), ticks  # steps are whole too
    expect(by_step.locator(".u-legend .u-series").first.locator(".u-label")).to_have_text("step")
    best = page.get_by_test_id("best").get_by_role("link")
    expect(best).to_have_text(f"trial {sweep['best']['trial']}")
    best.click()
    expect(page).to_have_url(f"{url}/runs/{sweep['best']['run_id']}")
    page.goto(f"{url}/sweeps")
    expect(page.get_by_test_id("sweeps").get_by_role("link", name="trial-sweep")).to_be_visible()
    expect(page.get_by_role("link", name="Sweeps")).to_be_visible()
