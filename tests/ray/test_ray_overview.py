"""The Overview of a Ray server shows the cluster: Ray reachable, its nodes, and the CPUs and
GPUs runyard's queue has left of it (Chromium inside the cluster's network namespace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import ServerProcess
from tests.ray.conftest import Api, wait_for
from tests.ray.test_ray_jobs import began, gated
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, bundle  # noqa: F401

pytestmark = [pytest.mark.ray, pytest.mark.browser]


@pytest.fixture
def ns_page(rayserver: ServerProcess, bundle: Path) -> Iterator[Page]:  # noqa: F811
    # started from this thread, so the driver and Chromium share the cluster's loopback
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
        assert not errors, errors


def test_the_overview_shows_the_cluster_and_what_is_free(
    rayserver: ServerProcess, ns_page: Page, tmp_path: Path
) -> None:
    page = ns_page
    page.goto(f"{rayserver.url}/")
    panel = page.get_by_test_id("cluster")
    expect(page.get_by_test_id("ray-reachable")).to_have_text("reachable", timeout=30_000)
    expect(panel.locator('[data-meter="Nodes"] .card-value')).to_have_text("2")
    cpus = panel.locator('[data-meter="Cluster CPUs"] .card-value')
    expect(cpus).to_have_text("2 / 2")
    expect(panel.locator('[data-meter="Cluster GPUs"] .card-value')).to_have_text("0 / 0")
    rows = panel.get_by_test_id("cluster-nodes").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="head")).to_have_count(1)
    expect(rows.filter(has_text="worker")).to_have_count(1)
    expect(panel).to_contain_text("jobs may also ask for: local")

    api = Api(rayserver.url)
    flag = tmp_path / "go"
    rid = api.submit(gated(flag), max_retries=0)
    wait_for(lambda: began(api, rid), what="the job started")
    expect(cpus).to_have_text("1 / 2", timeout=30_000)  # one CPU is the job's
    flag.touch()
    assert api.until(rid, "completed", "failed")["status"] == "completed"
    expect(cpus).to_have_text("2 / 2", timeout=30_000)
