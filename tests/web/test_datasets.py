"""The datasets page: versions with their lineage, counts per split and class, the report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.datasets._data import segmentation
from tests.web.conftest import Live, until

pytestmark = pytest.mark.browser


def _zipped(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def test_a_dataset_with_a_leak_and_a_transformed_child(
    live: Live, page: Page, tmp_path: Path
) -> None:
    data = _zipped(segmentation(tmp_path / "src"))
    r = live.post(
        "/api/datasets",
        data={"name": "fundus-web", "description": "retina scans"},
        files={"file": ("data.zip", data, "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    root: dict[str, Any] = r.json()
    started = live.post(
        f"/api/datasets/fundus-web/versions/{root['version']}/transform",
        json={"steps": "crop:margin=0.1,resize:32"},
    )
    assert started.status_code == 202, started.text
    job = until(lambda: _ended(live, started.json()["id"]), timeout=60)
    assert job["status"] == "succeeded", job
    child = job["version"]

    page.goto(f"{live.url}/datasets")
    row = page.locator('tr[data-dataset="fundus-web"]')
    expect(row).to_contain_text(child)  # the latest version
    expect(row).to_contain_text("retina scans")
    row.get_by_role("link", name="fundus-web").click()
    expect(page.get_by_role("heading", name="fundus-web")).to_be_visible()

    lineage = page.get_by_role("list", name="Versions and their lineage")
    items = lineage.locator("li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-version", root["version"])  # the root first
    expect(items.nth(1)).to_have_attribute("data-version", child)  # its child below it
    expect(items.nth(1)).to_contain_text(f"from {root['version']} by crop:margin=0.1 → resize:")
    expect(items.nth(0).locator("[data-validation]")).to_have_attribute("data-validation", "errors")

    items.nth(0).get_by_role("button").click()
    expect(page).to_have_url(f"{live.url}/datasets/fundus-web?v={root['version']}")
    counts = page.get_by_test_id("counts-table")
    for split, classes in root["counts"].items():
        for cls, n in classes.items():
            expect(counts.locator("thead")).to_contain_text(split)
            expect(counts.locator("tbody tr", has_text=cls).first).to_contain_text(str(n))
    leaked = page.get_by_test_id("leaked-ids")
    assert root["report"]["leaked_ids"]
    for subject in root["report"]["leaked_ids"]:
        expect(leaked).to_contain_text(subject)
    report = page.locator("#report")
    for issue in root["report"]["errors"]:
        expect(report.locator(f'[data-check="{issue["check"]}"]').first).to_contain_text(
            issue["message"]
        )


def _ended(live: Live, job_id: int) -> dict[str, Any] | None:
    job: dict[str, Any] = live.get(f"/api/datasets/jobs/{job_id}").json()
    return job if job["status"] in ("succeeded", "failed") else None
