"""Every part of a page derives from one snapshot plus live events applied in id order.

The browser's `/api/events` is answered with a crafted stream (Playwright holds the request
until the page has loaded its snapshot from the real server, then fulfils it): deliveries come
out of order and twice, and a progress event arrives after the run ended, as the server's
throttle can send one. A watcher in the page records, at every change of the DOM, the status
the Overview's recent-runs card shows for the run and the queue column that lists it: the two
must never disagree, and once the run is completed it is never shown running again.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.web.conftest import DESKTOP, PHONE, Live, until

pytestmark = pytest.mark.browser

WATCH = """
(runId) => {
  const groupOf = { running: "active", starting: "active", queued: "queued",
                    retrying: "queued", completed: "completed", failed: "failed" };
  window.__states = [];
  window.__mismatch = [];
  const look = () => {
    const badge = document.querySelector(`.recent-card[data-run-id="${runId}"] [data-status]`);
    const card = document.querySelector(`.queue-card[href="/runs/${runId}"]`);
    const group = card ? card.closest("[data-group]")?.getAttribute("data-group") : null;
    if (!badge || !group) return;
    const status = badge.getAttribute("data-status");
    const state = `${status}|${group}`;
    if (window.__states[window.__states.length - 1] !== state) window.__states.push(state);
    if (groupOf[status] !== group) window.__mismatch.push(state);
  };
  new MutationObserver(look).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  look();
}
"""


def _frame(event_id: int, kind: str, run_id: str, **data: Any) -> str:
    body = {"id": event_id, "ts": "2026-01-01T00:00:00Z", "kind": kind, "run_id": run_id, **data}
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(body)}\n\n"


def _stream(run_id: str) -> str:
    n = 1_000_000
    progress = {"epoch": 1, "total_epochs": 8, "percent": 13.0}
    frames = [
        _frame(n + 1, "status", run_id, status="running", reason=None),
        _frame(n + 2, "progress", run_id, **progress),
        _frame(n + 4, "status", run_id, status="completed", reason=None),
        _frame(n + 3, "status", run_id, status="running", reason="retrying in 5.0 s"),  # late
        _frame(n + 2, "progress", run_id, **progress),  # delivered twice
        _frame(n + 4, "status", run_id, status="completed", reason=None),  # delivered twice
        _frame(n + 5, "progress", run_id, **progress),  # a throttled flush after the end
    ]
    # A long retry: the browser does not reconnect (and refetch everything) during the test.
    return "retry: 3600000\n\n" + "".join(frames)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_reordered_and_duplicated_events_never_show_two_statuses(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    run = live.post(
        "/api/runs", json={"name": f"replayed-{viewport['width']}", "experiment": "live"}
    ).json()
    assert run["status"] == "running", run
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    held: list[Route] = []
    page.route("**/api/events*", lambda route: held.append(route))  # held until the snapshot
    page.goto(f"{live.url}/")
    card = page.locator(f'.recent-card[data-run-id="{run["id"]}"]')
    expect(card.locator('[data-status="running"]')).to_be_visible(timeout=20_000)
    queue_card = page.locator(f'.queue-card[href="/runs/{run["id"]}"]')
    expect(page.locator('[data-group="active"]').locator(queue_card)).to_be_visible()
    page.evaluate(WATCH, run["id"])
    until(lambda: held or page.wait_for_timeout(50), 20)  # the stream was asked for

    # The server's truth moves on; the refetches the events trigger must agree with them.
    assert live.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"}).is_success
    with (
        page.expect_response(lambda r: "/api/queue" in r.url, timeout=20_000),
        page.expect_response(lambda r: "/api/runs?limit=8" in r.url, timeout=20_000),
    ):
        held[0].fulfill(
            status=200,
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            body=_stream(run["id"]),
        )
    expect(card.locator('[data-status="completed"]')).to_be_visible()
    expect(page.locator('[data-group="completed"]').locator(queue_card)).to_be_visible()
    expect(page.locator('[data-group="active"]').locator(queue_card)).to_have_count(0)

    states: list[str] = page.evaluate("window.__states")
    assert page.evaluate("window.__mismatch") == [], states
    assert states[0] == "running|active" and states[-1] == "completed|completed", states
    ended = states.index("completed|completed")
    assert all(s == "completed|completed" for s in states[ended:]), states
    context.close()
    assert not errors, errors
