"""Logs of real jobs: read by chunk or tail, and followed live as Server-Sent Events."""

from __future__ import annotations

from pathlib import Path

from tests._sse import Event, events, until
from tests.runner.conftest import LiveClient, program, submit, wait_for, wait_status

FULL = "line-1\npartial\nline-2\nline-3\nline-4\nline-5\nno-newline"


def _stream(jobs: LiveClient, run_id: str, **params: object) -> list[Event]:
    """Every event of a stream that ends by itself, pings left out."""
    with jobs.stream("GET", f"/api/runs/{run_id}/logs/stream", params=params) as r:
        assert r.status_code == 200, r.read()
        return [e for e in events(r) if e.event != "ping"]


def _text(got: list[Event]) -> str:
    assert [e.event for e in got][-1] == "end" and {e.event for e in got[:-1]} <= {"log"}
    return "".join(e.data["text"] for e in got[:-1])


def test_stream_follows_lines_as_they_are_written_then_ends(jobs: LiveClient) -> None:
    run = submit(jobs, program("slow_lines.py"))
    url = f"/api/runs/{run['id']}/logs/stream"
    with jobs.stream("GET", url) as r:  # opened while queued: waits for the first attempt
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = events(r)
        first = until(stream, "log")
        # "part" was in the same write as line 1: a partial line waits for its newline.
        assert first.data == {"text": "line-1\n", "offset": 7} and first.id == 7
        assert jobs.get(f"/api/runs/{run['id']}").json()["status"] == "running"
        (Path(run["run_dir"]) / "go").touch()
        rest = []
        for event in stream:
            if event.event == "end":
                break
            if event.event == "log":
                rest.append(event)
        else:
            raise AssertionError("no end event")
    text = first.data["text"] + "".join(e.data["text"] for e in rest)
    assert text == FULL
    assert "no-newline" in rest[-1].data["text"]  # sent once the attempt had ended
    assert all(e.data["text"].endswith("\n") for e in rest[:-1])
    assert event.data == {"attempt": 1, "status": "succeeded", "offset": len(FULL)}
    log = Path(run["run_dir"]) / "logs" / "attempt-1.log"
    assert log.read_text() == FULL


def test_reconnect_resumes_at_the_offset(jobs: LiveClient) -> None:
    run = submit(jobs, program("slow_lines.py"))
    url = f"/api/runs/{run['id']}/logs/stream"
    with jobs.stream("GET", url) as r:
        first = until(events(r), "log")
    # The client went away: the server ends that stream's task at once. (uvicorn's task set
    # is not checked while the stream is open: a request that follows another on a kept-alive
    # connection is not always in it, so that check failed one run in three.)
    wait_for(jobs, lambda: not jobs.server.server_state.tasks, timeout=5)
    with jobs.stream("GET", url, headers={"Last-Event-ID": str(first.id)}) as r:
        stream = events(r)
        (Path(run["run_dir"]) / "go").touch()
        rest = [until(stream, "log")]
        for event in stream:
            if event.event == "end":
                break
            if event.event == "log":
                rest.append(event)
    assert first.data["text"] + "".join(e.data["text"] for e in rest) == FULL
    again = _stream(jobs, run["id"], offset=first.data["offset"])  # the same, by query
    assert first.data["text"] + _text(again) == FULL
    assert _text(_stream(jobs, run["id"], offset=len(FULL) + 100)) == ""  # past the end


def test_tail_of_the_log(jobs: LiveClient) -> None:
    run = submit(jobs, ["/bin/sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done; printf end"])
    wait_status(jobs, run["id"], "completed")
    chunk = jobs.get(f"/api/runs/{run['id']}/logs", params={"tail": 2}).json()
    assert (chunk["text"], chunk["attempt"], chunk["ended"]) == ("l5\nend", 1, True)
    assert chunk["offset"] == chunk["size"] == len("l1\nl2\nl3\nl4\nl5\nend")
    assert _text(_stream(jobs, run["id"], tail=2)) == "l5\nend"
    assert _text(_stream(jobs, run["id"], tail=100)) == "l1\nl2\nl3\nl4\nl5\nend"
    assert jobs.get(f"/api/runs/{run['id']}/logs", params={"tail": 0}).status_code == 422
    too_many = jobs.get(f"/api/runs/{run['id']}/logs", params={"tail": 100_001})
    assert too_many.status_code == 422 and "100000" in too_many.json()["error"]["message"]


def test_attempts_are_selected_by_number(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "1"), max_retries=1)
    wait_status(jobs, run["id"], "completed")
    logs = {
        n: jobs.get(f"/api/runs/{run['id']}/logs", params={"attempt": n}).json()["text"]
        for n in (1, 2)
    }
    assert logs[1].startswith("attempt 1 resume_from=None") and "succeeded" not in logs[1]
    assert logs[2].startswith("attempt 2 resume_from=") and logs[2].endswith("succeeded\n")
    latest = jobs.get(f"/api/runs/{run['id']}/logs").json()
    assert (latest["attempt"], latest["text"]) == (2, logs[2])
    for n, status in ((1, "failed"), (2, "succeeded")):
        got = _stream(jobs, run["id"], attempt=n)
        assert _text(got) == logs[n]
        assert (got[-1].data["attempt"], got[-1].data["status"]) == (n, status)
    assert jobs.get(f"/api/runs/{run['id']}/logs", params={"attempt": 3}).status_code == 404
    missing = jobs.get(f"/api/runs/{run['id']}/logs/stream", params={"attempt": 3})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_stream_pings_while_quiet_and_ends_on_cancel(jobs: LiveClient) -> None:
    jobs.app.state.settings.sse_ping_s = 0.1
    run = submit(jobs, program("sleeper.py", "60"), grace_s=1)
    with jobs.stream("GET", f"/api/runs/{run['id']}/logs/stream") as r:
        stream = events(r)
        assert until(stream, "log").data["text"] == "started\n"
        assert [next(stream).event for _ in range(3)] == ["ping"] * 3
        assert jobs.post(f"/api/runs/{run['id']}/cancel").status_code == 200
        rest = [e for e in stream if e.event != "ping"]
    assert "[runyard] cancelled: SIGTERM" in _text(rest)
    assert (rest[-1].data["attempt"], rest[-1].data["status"]) == (1, "cancelled")
