"""Any chart can count its x-axis in steps, epochs, relative time or wall time; the choice is
the dashboard's (a run page and a comparison read alike) and survives a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.web.conftest import DESKTOP, PHONE, Live, until

pytestmark = pytest.mark.browser


def _x_at_middle(page: Page, card: Locator) -> str:
    """The x value the legend shows with the cursor in the middle of the chart."""
    over = card.locator(".u-over")
    value = card.locator(".u-legend .u-series").first.locator(".u-value")

    def read() -> str | None:
        try:
            over.scroll_into_view_if_needed(timeout=5000)
            box = over.bounding_box(timeout=5000)
            if box is None:
                return None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            return value.inner_text(timeout=2000).strip().replace("--", "") or None
        except PlaywrightError:
            return None  # the chart was drawn anew (a new axis, a resize) under us: look again

    return str(until(read, 30))


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_x_axis_switches_between_step_epoch_and_time(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    w = viewport["width"]
    runs = [live.train(f"axes-{w}-{i}", "--steps", "400", "--epochs", "4") for i in range(2)]
    for run in runs:
        live.wait_status(run["id"], "completed")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{live.url}/runs/{runs[0]['id']}")
    card = page.locator('.chart-card[data-metric="train/m0"]')
    legend = card.locator(".u-legend")
    picker = page.locator("#charts").get_by_test_id("x-axis")

    expect(picker).to_have_value("step")
    expect(legend).to_contain_text("step")
    assert 0 < _number(_x_at_middle(page, card)) < 400

    picker.select_option("epoch")
    expect(legend).to_contain_text("epoch")
    assert 0 <= _number(_x_at_middle(page, card)) <= 4  # 4 epochs of 100 steps

    picker.select_option("relative")
    expect(legend).to_contain_text("relative time (s)")
    duration = _number(_x_at_middle(page, card))
    assert 0 <= duration < 600

    picker.select_option("wall")
    expect(legend).to_contain_text("time")
    assert re.search(r"\d:\d\d", _x_at_middle(page, card))  # a time of day, not a count

    picker.select_option("epoch")
    page.reload()  # the choice is kept
    expect(page.locator("#charts").get_by_test_id("x-axis")).to_have_value("epoch")
    expect(legend).to_contain_text("epoch")

    page.goto(f"{live.url}/compare?runs={runs[0]['id']},{runs[1]['id']}")
    charts = page.locator("#compare-charts")
    page.locator("#compare-charts label.chip", has_text="train/m0").click()
    compared = charts.locator('.chart-card[data-metric="train/m0"]')
    expect(charts.get_by_test_id("x-axis")).to_have_value("epoch")
    expect(compared.locator(".u-legend")).to_contain_text("epoch")
    assert 0 <= _number(_x_at_middle(page, compared)) <= 4
    charts.get_by_test_id("x-axis").select_option("step")
    expect(compared.locator(".u-legend")).to_contain_text("step")
    context.close()


def test_a_chart_of_one_point_in_time_is_centred_on_it(live: Live, page: Page) -> None:
    """A metric logged once (or a short run's one system sample), on a time axis: the point is
    in the middle, a minute either side of it. (uPlot's own range for one time value starts at
    it and spans 1,000 days: the point sat on the left edge under ticks years ahead.)"""
    run = live.post("/api/runs", json={"name": "one-point", "experiment": "axes-one"}).json()
    body = {"metrics": {"val/loss": {"steps": [5], "values": [0.5]}}}
    assert live.post(f"/api/runs/{run['id']}/metrics", json=body).is_success
    assert live.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"}).is_success
    page.goto(f"{live.url}/runs/{run['id']}")
    page.locator("#charts").get_by_test_id("x-axis").select_option("wall")
    card = page.locator('.chart-card[data-metric="val/loss"]')
    expect(card.locator(".u-legend")).to_contain_text("time")
    _x_at_middle(page, card)  # the cursor is over the chart: it marks the nearest point
    over = card.locator(".u-over").bounding_box()
    point = card.locator(".u-cursor-pt").first.bounding_box()
    assert over is not None and point is not None
    centre = point["x"] + point["width"] / 2 - over["x"]
    assert abs(centre - over["width"] / 2) < over["width"] / 10, (centre, over["width"])
