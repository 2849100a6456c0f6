"""Select three runs in the table, compare them: config diff, trophies on the best values."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Live

pytestmark = pytest.mark.browser


def test_compare_three_runs_from_the_table(live: Live, page: Page) -> None:
    runs = [
        live.train(f"cmp-{epochs}", "--steps", str(10 * epochs), "--epochs", str(epochs),
                   "--keys", str(keys))
        for epochs, keys in ((2, 1), (4, 2), (3, 2))
    ]  # fmt: skip
    for r in runs:
        live.wait_status(r["id"], "completed")
    ids = [r["id"] for r in runs]

    page.goto(f"{live.url}/runs?q=cmp-")
    for r in runs:
        page.get_by_label(f"Select {r['name']}").check()
    page.get_by_role("button", name="Compare 3").click()
    expect(page).to_have_url(f"{live.url}/compare?runs={','.join(ids)}")
    expect(page.get_by_role("heading", name="Compare 3 runs")).to_be_visible()

    api = live.post("/api/compare", json={"run_ids": ids}).json()
    config = page.get_by_test_id("config-table")
    same = [c["key"] for c in api["config"] if not c["differs"]]
    differ = [c["key"] for c in api["config"] if c["differs"]]
    assert same and differ  # lr is shared, keys differ
    for key in same + differ:
        expect(config.locator(f'tr[data-key="{key}"]')).to_have_count(1)
    page.get_by_test_id("diff-only").check()
    for key in same:
        expect(config.locator(f'tr[data-key="{key}"]')).to_have_count(0)
    for key in differ:
        expect(config.locator(f'tr[data-key="{key}"]')).to_have_count(1)

    table = page.get_by_test_id("metrics-table")
    with_best = [m for m in api["metrics"] if m["best_run_id"]]
    assert any(m["key"] == "val/loss" for m in with_best)
    for m in api["metrics"]:
        row = table.locator(f'tr[data-metric="{m["key"]}"]')
        for run_id in ids:
            trophies = row.locator(f'td[data-run="{run_id}"] [aria-label="best"]')
            expect(trophies).to_have_count(1 if run_id == m["best_run_id"] else 0)
    best_loss = next(m for m in with_best if m["key"] == "val/loss")
    assert best_loss["best_run_id"] == runs[1]["id"]  # 4 epochs: the lowest val/loss

    page.get_by_test_id("baseline").select_option(runs[0]["id"])
    expect(page).to_have_url(f"{live.url}/compare?runs={','.join(ids)}&baseline={ids[0]}")
    cell = table.locator(f'tr[data-metric="val/loss"] td[data-run="{ids[1]}"] .delta')
    expect(cell).to_have_text("−0.25")  # 0.25 against the baseline's 0.5
    picker = page.locator(".picker")
    expect(picker.get_by_label("val/loss")).to_be_checked()  # the picker starts on val/
    expect(picker.get_by_label("train/m0")).not_to_be_checked()
