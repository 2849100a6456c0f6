"""People log in when a token is set: /login, POST/GET/DELETE /api/session, the cookie."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.server.sessions import COOKIE, SessionBook
from runyard.store import Store
from tests._sse import events
from tests.conftest import ServerProcess

OWN = {"Origin": "http://testserver"}


def _app(settings: Settings, store: Store, token: str = "s3cret", **more: object) -> FastAPI:
    return create_app(settings.model_copy(update={"token": SecretStr(token), **more}), store)


@pytest.fixture
def secured(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(_app(settings, store)) as c:
        yield c


def _log_in(c: TestClient, token: str = "s3cret") -> dict[str, str]:
    done = c.post("/api/session", json={"token": token}, headers=OWN)
    assert done.status_code == 201, done.text
    c.cookies.clear()  # each test says which cookie it sends
    value = done.cookies[COOKIE]
    return {"Cookie": f"{COOKIE}={value}"}


def test_log_in_sets_an_httponly_strict_cookie_that_opens_the_api(secured: TestClient) -> None:
    done = secured.post("/api/session", json={"token": "s3cret"}, headers=OWN)
    assert done.status_code == 201
    assert done.json()["auth"] == "cookie" and done.json()["expires_at"] > time.time()
    header = done.headers["set-cookie"]
    for part in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=604800"):
        assert part.lower() in header.lower(), header
    value = done.cookies[COOKIE]
    assert "s3cret" not in header and len(value) == 43
    secured.cookies.clear()
    cookie = {"Cookie": f"{COOKIE}={value}"}
    assert secured.get("/api/runs").status_code == 401
    assert secured.get("/api/runs", headers=cookie).status_code == 200
    assert secured.get("/api/session", headers=cookie).json()["auth"] == "cookie"
    bearer = {"Authorization": "Bearer s3cret"}
    assert secured.get("/api/session", headers=bearer).json()["auth"] == "bearer"


def test_the_cookie_opens_downloads(secured: TestClient) -> None:
    bearer = {"Authorization": "Bearer s3cret"}
    run = secured.post("/api/runs", json={}, headers=bearer).json()
    (Path(run["run_dir"]) / "artifacts").mkdir(parents=True, exist_ok=True)
    (Path(run["run_dir"]) / "artifacts" / "a.txt").write_bytes(b"payload")
    cookie = _log_in(secured)
    url = f"/api/runs/{run['id']}/artifacts/artifacts/a.txt"
    assert secured.get(url).status_code == 401
    got = secured.get(url, headers=cookie)
    assert got.status_code == 200 and got.content == b"payload"


def test_a_wrong_token_is_401_and_each_failure_waits_longer(secured: TestClient) -> None:
    book: SessionBook = secured.app.state.sessions  # type: ignore[attr-defined]
    for n in (1, 2, 3):
        wrong = secured.post("/api/session", json={"token": "nope"}, headers=OWN)
        assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "wrong token"
        assert "set-cookie" not in wrong.headers
        assert book.failures("testclient") == n
    _log_in(secured)
    assert book.failures("testclient") == 0
    assert secured.post("/api/session", json={"token": ""}, headers=OWN).status_code == 400
    assert secured.post("/api/session", json={"token": "x" * 600}, headers=OWN).status_code == 422


def test_the_one_time_code_works_once(secured: TestClient) -> None:
    book: SessionBook = secured.app.state.sessions  # type: ignore[attr-defined]
    code = book.login_code
    assert code and code != "s3cret"
    assert secured.post("/api/session", json={"token": code}, headers=OWN).status_code == 201
    assert secured.post("/api/session", json={"token": code}, headers=OWN).status_code == 401


def test_cookie_writes_need_this_servers_origin(secured: TestClient) -> None:
    cookie = _log_in(secured)
    bare = secured.post("/api/runs", json={}, headers=cookie)
    assert bare.status_code == 403 and bare.json()["error"]["code"] == "cross_origin"
    assert secured.post("/api/runs", json={}, headers={**cookie, **OWN}).status_code == 201
    fetch_meta = {**cookie, "Sec-Fetch-Site": "same-origin"}
    assert secured.post("/api/runs", json={}, headers=fetch_meta).status_code == 201
    evil = {**cookie, "Origin": "http://evil.example"}
    assert secured.post("/api/runs", json={}, headers=evil).status_code == 403


def test_log_out_ends_the_session(secured: TestClient) -> None:
    cookie = _log_in(secured)
    assert secured.get("/api/runs", headers=cookie).status_code == 200
    out = secured.delete("/api/session", headers={**cookie, **OWN})
    assert out.status_code == 204
    assert COOKIE in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    gone = secured.get("/api/runs", headers=cookie)
    assert gone.status_code == 401 and "log in again" in gone.json()["error"]["message"]


def test_sessions_survive_a_restart_but_not_another_token(settings: Settings, store: Store) -> None:
    with TestClient(_app(settings, store)) as first:
        cookie = _log_in(first)
    with TestClient(_app(settings, store)) as again:
        assert again.get("/api/runs", headers=cookie).status_code == 200
    with TestClient(_app(settings, store, token="another")) as other:
        assert other.get("/api/runs", headers=cookie).status_code == 401


def test_sessions_expire(settings: Settings, store: Store) -> None:
    with TestClient(_app(settings, store, session_ttl_s=0.5)) as c:
        cookie = _log_in(c)
        assert c.get("/api/runs", headers=cookie).status_code == 200
        deadline = time.monotonic() + 15
        while c.get("/api/runs", headers=cookie).status_code != 401:
            assert time.monotonic() < deadline, "the session outlived its TTL"
            time.sleep(0.1)
        assert store.sessions.purge() == 1


@pytest.mark.parametrize(
    "cookie",
    [
        f"{COOKIE}=short",
        f"{COOKIE}={'a' * 42}!",
        f'{COOKIE}="{"a" * 43}',
        f"{COOKIE}={'a' * 5000}",
        f"other=1; {COOKIE}={'a' * 9000}",
    ],
)
def test_malformed_or_oversized_cookies_are_400(secured: TestClient, cookie: str) -> None:
    r = secured.get("/api/runs", headers={"Cookie": cookie})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"


def test_unknown_and_unrelated_cookies_are_401(secured: TestClient) -> None:
    assert secured.get("/api/runs", headers={"Cookie": "theme=dark"}).status_code == 401
    stranger = {"Cookie": f"{COOKIE}={'b' * 43}"}
    assert secured.get("/api/runs", headers=stranger).status_code == 401


def test_dashboard_paths_go_to_the_login_page(secured: TestClient) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    for path, target in (("/", "%2F"), ("/runs/abc?tab=logs", "%2Fruns%2Fabc%3Ftab%3Dlogs")):
        r = secured.get(path, headers=html, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next={target}"
    assert secured.get("/?token=s3cret", headers=html, follow_redirects=False).status_code == 303
    page = secured.get("/login")
    assert page.status_code == 200 and 'type="password"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert secured.get("/api/runs", headers=html).status_code == 401  # the API stays JSON


def test_without_a_token_there_is_nothing_to_log_in_to(client: TestClient) -> None:
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    assert client.post("/api/session", json={"token": "x"}).status_code == 400
    assert client.get("/api/session").json() == {"auth": "none", "expires_at": None}


def test_server_prints_a_one_time_login_url_and_the_cookie_opens_the_event_stream(
    tmp_path: Path,
) -> None:
    srv = ServerProcess(tmp_path / "home", "--token", "s3cret")
    try:
        line = srv.wait_line("/login?token=")
        url = line.split("at ", 1)[1].strip()
        assert url.startswith(f"{srv.url}/login?token=") and "s3cret" not in url
        code = url.split("token=", 1)[1]
        srv.wait_ready()
        with httpx.Client(base_url=srv.url, timeout=10) as http:
            done = http.post("/api/session", json={"token": code})
            assert done.status_code == 201
            cookie = {"Cookie": f"{COOKIE}={done.cookies[COOKIE]}"}
            http.cookies.clear()
            assert http.post("/api/session", json={"token": code}).status_code == 401
            with http.stream("GET", "/api/events", headers=cookie) as stream:
                assert stream.status_code == 200
                bearer = {"Authorization": "Bearer s3cret"}
                made = http.post("/api/runs", json={"name": "seen"}, headers=bearer).json()
                for event in events(stream):
                    if event.kind == "created":
                        assert event.data["run_id"] == made["id"]
                        break
    finally:
        srv.stop()
