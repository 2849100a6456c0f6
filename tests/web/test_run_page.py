"""The run page, live: charts grow while a job trains, the log follows, checkpoints delete."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.web.conftest import Live, until

pytestmark = pytest.mark.browser


def _points(page: Page, metric: str) -> int:
    figure = page.locator(f'.chart-card[data-metric="{metric}"] figure.chart')
    if figure.count() == 0:
        return 0
    return int(figure.get_attribute("data-points") or 0)


def test_a_chart_grows_while_its_run_trains(live: Live, page: Page) -> None:
    run = live.train(
        "growing", "--steps", "800", "--epochs", "4", "--pace-every", "2", "--pace-s", "0.05"
    )  # about 20 s
    live.wait_status(run["id"], "running")
    until(lambda: live.get(f"/api/runs/{run['id']}").json()["metrics"])
    page.goto(f"{live.url}/runs/{run['id']}")
    expect(page.get_by_role("heading", name="growing")).to_be_visible()
    first = until(lambda: _points(page, "train/m0"), timeout=20)
    assert page.evaluate("performance.getEntriesByName('chart-painted').length") == 1
    until(lambda: _points(page, "train/m0") > first, timeout=30)
    assert live.get(f"/api/runs/{run['id']}").json()["status"] == "running"  # grew live
    expect(page.locator('.chart-card[data-metric="train/m0"] canvas')).to_have_count(1)
    live.post(f"/api/runs/{run['id']}/cancel")


def test_the_log_follows_new_lines(live: Live, page: Page) -> None:
    # 150 s: still running when a loaded box has drawn the page (one of 15 s once ended first)
    run = live.train(
        "chatty", "--steps", "30000", "--pace-every", "10", "--pace-s", "0.05",
        "--report-every", "10",
    )  # fmt: skip
    live.wait_status(run["id"], "running")
    page.goto(f"{live.url}/runs/{run['id']}#logs")  # below the charts: drawn when shown
    log = page.get_by_test_id("log")
    expect(page.get_by_test_id("log-follow")).to_be_checked(timeout=20_000)  # a loaded CI box
    expect(log).to_contain_text("logged 10", timeout=20_000)
    seen = log.inner_text().count("logged ")
    until(lambda: log.inner_text().count("logged ") > seen + 2, timeout=20)
    page.get_by_test_id("log-follow").uncheck()  # paused: the text stops changing
    expect(page.locator(".log-status")).to_contain_text("paused")
    live.post(f"/api/runs/{run['id']}/cancel")


def test_deleting_a_checkpoint_removes_its_file(live: Live, page: Page) -> None:
    run = live.train("with-checkpoints", "--steps", "20", "--epochs", "2")
    done = live.wait_status(run["id"], "completed")
    checkpoints = live.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    victim = next(c for c in checkpoints if c["name"] == "epoch-0.pt")
    path = Path(done["run_dir"]) / victim["path"]
    assert path.is_file()
    page.goto(f"{live.url}/runs/{run['id']}#checkpoints")
    row = page.locator('tr[data-checkpoint="epoch-0.pt"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete checkpoint epoch-0.pt").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete checkpoint epoch-0.pt?")
    dialog.get_by_role("button", name="Cancel").click()  # nothing happens without a confirm
    assert path.is_file()
    row.get_by_role("button", name="Delete checkpoint epoch-0.pt").click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(row).to_have_count(0)
    until(lambda: not path.exists(), timeout=10)
    expect(page.locator('tr[data-checkpoint="epoch-1.pt"]')).to_be_visible()
    names = [
        c["name"] for c in live.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    ]
    assert "epoch-0.pt" not in names and "epoch-1.pt" in names

    files = page.locator("#artifacts")  # the run dir: downloads and copyable paths
    kept = next(c for c in checkpoints if c["name"] == "epoch-1.pt")
    entry = files.locator(f'[data-path="{kept["path"]}"]')
    expect(entry).to_be_visible()
    expect(files.locator(f'[data-path="{victim["path"]}"]')).to_have_count(0)
    href = entry.get_by_role("link").get_attribute("href")
    assert href is not None
    got = live.get(href)
    on_disk = Path(done["run_dir"]) / kept["path"]
    assert got.status_code == 200 and got.content == on_disk.read_bytes()
    copy = entry.get_by_role("button", name=re.compile("Copy path"))
    expect(copy).to_have_attribute("title", f"Copy {on_disk}")


def test_a_missing_run_gets_a_designed_error(live: Live, page: Page) -> None:
    page.goto(f"{live.url}/runs/nosuchrun0000000")
    alert = page.get_by_role("alert")
    expect(alert).to_have_attribute("data-error", "not_found")
    expect(alert).to_contain_text("Run not found")
    expect(alert).to_contain_text("no run 'nosuchrun0000000'")
    alert.get_by_role("link", name="All runs").click()
    expect(page).to_have_url(f"{live.url}/runs")
    page.goto(f"{live.url}/no/such/page")
    expect(page.get_by_role("alert")).to_contain_text("Page not found")


def _long_chart(live: Live, page: Page, name: str) -> tuple[Locator, Locator]:
    """The run page of a finished run of 3,000 steps, its chart drawn from fewer points than
    that: (the chart's card, its figure)."""
    run = live.train(name, "--steps", "3000", "--epochs", "3", "--keys", "1")
    live.wait_status(run["id"], "completed")
    page.goto(f"{live.url}/runs/{run['id']}")
    card = page.locator('.chart-card[data-metric="train/m0"]')
    figure = card.locator("figure.chart")
    until(lambda: 0 < int(figure.get_attribute("data-points") or 0) < 3000, timeout=20)
    return card, figure


def test_zooming_a_chart_reads_that_range_at_full_detail(live: Live, page: Page) -> None:
    card, figure = _long_chart(live, page, "zoomable")
    url = _drag_across(page, card, 0.40, 0.45)
    start = int(url.split("start=")[1].split("&")[0])
    end = int(url.split("end=")[1].split("&")[0])
    assert 0 < start < end < 3000 and end - start < 600
    expect(card.locator(".zoom-note")).to_contain_text(f"steps {start:,}")
    # every step of the range comes back: fewer points than the width asks for
    until(lambda: int(figure.get_attribute("data-points") or 0) == end - start + 1, timeout=10)
    card.get_by_role("button", name="Reset zoom").click()
    expect(card.locator(".zoom-note")).to_have_count(0)


def test_a_chart_that_moved_under_the_pointer_zooms_where_it_now_is(live: Live, page: Page) -> None:
    """uPlot measures the plot when the pointer enters it; a page that moves under a pointer
    already inside (a panel above it growing) must not make the drag zoom to other steps."""
    card, _ = _long_chart(live, page, "moved-chart")
    url = _drag_across(page, card, 0.40, 0.45, moved=0.2)
    start = int(url.split("start=")[1].split("&")[0])
    end = int(url.split("end=")[1].split("&")[0])
    # 40-45 % of the way across steps 1-3000; a stale measure read 20 % further right
    assert abs(start - 1200) < 90 and abs(end - 1350) < 90, (start, end)


def _drag_across(page: Page, card: Locator, left: float, right: float, moved: float = 0.0) -> str:
    """Drag across a chart from `left` to `right` (fractions of its width), as a user does
    once the page has stopped moving; the URL of the zoomed read it makes. On a busy machine
    the page may still lay itself out (a section below painting, a scrollbar coming) when the
    chart has its points: the drag waits until the chart has kept its place for half a
    second, and is made again if it was lost (no read followed it). `moved`: the pointer
    enters the chart first, and the chart then moves right by that fraction of its width
    under it (without a resize) before the drag."""
    over = card.locator(".u-over")

    def settled() -> dict[str, float] | None:
        first = over.bounding_box()
        time.sleep(0.5)
        return first if first is not None and first == over.bounding_box() else None

    for _ in range(3):
        card.evaluate("el => { el.style.transform = '' }")
        box = until(settled, timeout=20, every=0)
        y = box["y"] + box["height"] / 2
        if moved:
            page.mouse.move(box["x"] + box["width"] * 0.7, y)  # in: uPlot measures the plot
            shift = box["width"] * moved
            card.evaluate(f"el => {{ el.style.transform = 'translateX({shift}px)' }}")
            after = over.bounding_box()
            assert after is not None and abs(after["x"] - box["x"] - shift) < 1
            box = after
        try:
            with page.expect_request(
                lambda r: "train%2Fm0" in r.url and "start=" in r.url, timeout=5_000
            ) as req:
                page.mouse.move(box["x"] + box["width"] * left, y)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] * right, y, steps=5)
                page.mouse.up()
            return req.value.url
        except PlaywrightTimeoutError:
            continue
    raise AssertionError("three drags across the chart made no zoomed read")


def test_an_early_stopped_run_reads_as_complete(live: Live, page: Page) -> None:
    run = live.train("stops-early", "--steps", "80", "--epochs", "8", "--early-stop")
    done = live.wait_status(run["id"], "completed")
    assert done["early_stopped"] is True
    at, total = done["stopped_at_epoch"], done["progress"]["total_epochs"]
    assert at is not None and total == 8 and at < total
    page.goto(f"{live.url}/runs/{run['id']}")
    expect(page.get_by_test_id("early-stop")).to_have_text(f"■stopped at epoch {at}/{total}")
    expect(page.locator(".card-progress").get_by_role("progressbar")).to_have_attribute(
        "aria-valuenow", "100"
    )
    page.goto(f"{live.url}/runs?q=stops-early")
    row = page.locator(f'[role="row"][data-run-id="{run["id"]}"]')
    expect(row).to_contain_text("100%")
    expect(row).to_contain_text("early-stopped")
    expect(page.get_by_test_id("overall-progress")).to_contain_text(
        "overall progress 100% · 1 complete (1 early-stopped)"
    )
