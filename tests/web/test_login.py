"""A person logs in to a server with a token, follows a run live, deletes a checkpoint, logs out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.web.conftest import DESKTOP, PROGRAM, Live, until

pytestmark = pytest.mark.browser
TOKEN = "correct horse battery staple"


@pytest.fixture
def guarded(bundle: Path, tmp_path: Path) -> Iterator[tuple[Live, str]]:
    srv = ServerProcess(tmp_path / "home", "--token", TOKEN, "--slots", "4")
    line = srv.wait_line("/login?token=")
    srv.wait_ready()
    client = Live(base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
    client.url = srv.url
    try:
        yield client, line.split(" at ", 1)[1].strip()
    finally:
        for run in client.get("/api/runs", params={"status": "running,queued"}).json()["runs"]:
            client.post(f"/api/runs/{run['id']}/cancel")
        client.close()
        srv.stop()


@pytest.fixture
def fresh(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _train(live: Live, name: str, *args: str) -> dict[str, object]:
    body = {"name": name, "command": [sys.executable, str(PROGRAM), "--name", name, *args]}
    made = live.post("/api/runs", json={**body, "max_retries": 0})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _points(page: Page, metric: str) -> int:
    figure = page.locator(f'.chart-card[data-metric="{metric}"] figure.chart')
    return int(figure.get_attribute("data-points") or 0) if figure.count() else 0


def test_log_in_follow_a_run_delete_a_checkpoint_log_out(
    guarded: tuple[Live, str], fresh: Page
) -> None:
    live, one_time_url = guarded
    done = _train(live, "saved", "--steps", "20", "--epochs", "2")
    growing = _train(
        live, "growing", "--steps", "1500", "--epochs", "4", "--pace-every", "2", "--pace-s", "0.05"
    )
    page = fresh

    # Not logged in: the dashboard sends the browser to the login page, then back.
    page.goto(f"{live.url}/runs/{growing['id']}")
    expect(page).to_have_url(f"{live.url}/login?next=%2Fruns%2F{growing['id']}")
    page.get_by_label("Token").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong token")
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live.url}/runs/{growing['id']}")
    cookie = next(c for c in page.context.cookies() if c["name"] == "runyard_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]

    # Live over the event stream, which the cookie opened.
    expect(page.get_by_role("heading", name="growing")).to_be_visible()
    expect(page.locator(".live.live-live")).to_be_visible(timeout=20_000)
    first = until(lambda: _points(page, "train/m0"), timeout=30)
    until(lambda: _points(page, "train/m0") > first, timeout=30)
    assert live.get(f"/api/runs/{growing['id']}").json()["status"] == "running"

    # A write from the page: delete a checkpoint.
    finished = live.wait_status(str(done["id"]), "completed")
    saved = live.get(f"/api/runs/{done['id']}/checkpoints").json()["checkpoints"]
    victim = Path(finished["run_dir"]) / next(c["path"] for c in saved if c["name"] == "epoch-0.pt")
    assert victim.is_file()
    page.goto(f"{live.url}/runs/{done['id']}#checkpoints")
    row = page.locator('tr[data-checkpoint="epoch-0.pt"]')
    row.get_by_role("button", name="Delete checkpoint epoch-0.pt").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(row).to_have_count(0)
    until(lambda: not victim.exists(), timeout=10)

    # Log out: the session is over, the dashboard asks for the token again.
    page.goto(f"{live.url}/login")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "runyard_session"]
    page.goto(f"{live.url}/")
    expect(page).to_have_url(f"{live.url}/login?next=%2F")

    # The one-time link `runyard server` printed logs in once, and takes the code off the URL.
    page.goto(one_time_url)
    expect(page).to_have_url(f"{live.url}/")
    expect(page.locator(".live.live-live")).to_be_visible(timeout=20_000)
