"""Editing a run in place (name, tags, Markdown notes) and deleting it, at desktop and phone
widths; a run another tab deleted is not brought back by a stale edit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PHONE, Live

pytestmark = pytest.mark.browser

NOTES = "## Why\nA **bold** try with `lr=0.1`:\n- first\n- second\n\n<script>alert(1)</script>"


def _ended(live: Live, name: str, **body: Any) -> dict[str, Any]:
    run = live.post("/api/runs", json={"name": name, "experiment": "edits", **body}).json()
    assert live.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"}).is_success
    return dict(run)


@pytest.fixture(params=["desktop", "phone"])
def any_page(request: pytest.FixtureRequest, page: Page, browser: Browser) -> Iterator[Page]:
    if request.param == "desktop":
        yield page
        return
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def test_name_tags_and_notes_are_edited_in_place(live: Live, any_page: Page) -> None:
    page = any_page
    run = _ended(live, f"plain-{page.viewport_size['width']}", tags=["old"])  # type: ignore[index]
    page.goto(f"{live.url}/runs/{run['id']}")
    page.get_by_test_id("edit-name").click()
    page.get_by_test_id("name-input").fill("renamed run")
    page.get_by_test_id("name-input").press("Enter")
    expect(page.get_by_role("heading", name="renamed run")).to_be_visible()

    page.get_by_test_id("tag-input").fill("best")
    page.get_by_test_id("tag-input").press("Enter")
    expect(page.get_by_test_id("tags")).to_contain_text("best")
    page.get_by_role("button", name="Remove tag old").click()
    expect(page.get_by_role("button", name="Remove tag old")).to_have_count(0)

    page.get_by_test_id("edit-notes").click()
    page.get_by_test_id("notes-input").fill(NOTES)
    page.get_by_role("button", name="Save").click()
    notes = page.get_by_test_id("notes")
    expect(notes.locator("strong")).to_have_text("bold")
    expect(notes.locator("li")).to_have_count(2)
    expect(notes.locator("code")).to_have_text("lr=0.1")
    expect(notes).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    assert notes.locator("script").count() == 0

    stored = live.get(f"/api/runs/{run['id']}").json()
    assert (stored["name"], stored["tags"], stored["notes"]) == ("renamed run", ["best"], NOTES)


def test_notes_set_from_the_api_show_rendered(live: Live, page: Page) -> None:
    run = _ended(live, "with-notes", notes="Tried *dropout* 0.3")
    page.goto(f"{live.url}/runs/{run['id']}")
    expect(page.get_by_test_id("notes").locator("em")).to_have_text("dropout")


def test_delete_moves_the_run_to_the_trash(live: Live, any_page: Page) -> None:
    page = any_page
    run = _ended(live, f"to-delete-{page.viewport_size['width']}")  # type: ignore[index]
    page.goto(f"{live.url}/runs/{run['id']}")
    page.get_by_test_id("delete-run").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{live.url}/runs?experiment=edits")
    expect(page.locator(f'[data-run-id="{run["id"]}"]')).to_have_count(0)
    trash = [r["id"] for r in live.get("/api/trash").json()["runs"]]
    assert run["id"] in trash


def test_an_active_run_cannot_be_deleted(live: Live, page: Page) -> None:
    run = live.post("/api/runs", json={"name": "still-going", "experiment": "edits"}).json()
    page.goto(f"{live.url}/runs/{run['id']}")
    button = page.get_by_test_id("delete-run")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", "This run is running: cancel it first")
    live.post(f"/api/runs/{run['id']}/finish", json={"status": "cancelled"})


def test_editing_a_run_another_tab_deleted_says_so(live: Live, page: Page) -> None:
    run = _ended(live, "deleted-elsewhere")
    page.goto(f"{live.url}/runs/{run['id']}")
    page.get_by_test_id("edit-notes").click()
    page.get_by_test_id("notes-input").fill("written too late")
    assert live.delete(f"/api/runs/{run['id']}").is_success  # the other tab
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("was deleted")
    assert live.get(f"/api/runs/{run['id']}").status_code == 404
    restored = live.post(f"/api/runs/{run['id']}/restore").json()
    assert restored["notes"] == ""  # nothing was written to the deleted run
