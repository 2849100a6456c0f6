"""A web page cannot drive runyard: the Host allow-list, the same-origin rule for writes, 415."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.server.auth import WRITE_METHODS, HostAllowList, split_host
from runyard.server.mlflow import is_mlflow_path
from runyard.store import Store
from tests.conftest import ServerProcess


@pytest.fixture
def strict(settings: Settings, store: Store) -> Iterator[TestClient]:
    """The defaults: no extra names allowed (TestClient's `testserver` included)."""
    app = create_app(settings.model_copy(update={"allowed_hosts": []}), store)
    with TestClient(app, base_url="http://127.0.0.1:8420") as c:
        yield c


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:8420",
        "127.0.0.1:9999",  # an ssh tunnel's local port: still this machine
        "127.8.9.1:8420",
        "localhost",
        "LOCALHOST:8420",
        "localhost.:8420",
        "[::1]",
        "[::1]:8420",
        "[0:0:0:0:0:0:0:1]:8420",
    ],
)
def test_loopback_hosts_are_answered(strict: TestClient, host: str) -> None:
    assert strict.get("/api/runs", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8420",
        "EVIL.example.",
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "testserver",
        "0.0.0.0:8420",
        "192.168.1.10:8420",
        "[fe80::1]:8420",
        "[::1",
        "::1",
        "127.0.0.1:",
        "127.0.0.1:http",
        "127.0.0.1:70000",
        "127.1",
        "a b",
        "user@127.0.0.1",
    ],
)
def test_foreign_hosts_are_refused_before_any_route(
    strict: TestClient, store: Store, host: str
) -> None:
    response = strict.post("/api/runs", json={"command": ["true"]}, headers={"Host": host})
    assert response.status_code == 421, host
    assert response.json()["error"]["code"] == "misdirected"
    assert "--allowed-host" in response.json()["error"]["message"]
    assert strict.get("/", headers={"Host": host}).status_code == 421


def test_configured_names_and_pairs(settings: Settings, store: Store) -> None:
    update = {"allowed_hosts": ["runyard.lab", "box.lab:9000", "::2"], "host": "10.1.2.3"}
    with TestClient(create_app(settings.model_copy(update=update), store)) as c:
        for ok in ("runyard.lab", "RUNYARD.lab.:1234", "box.lab:9000", "[::2]:1", "10.1.2.3:8420"):
            assert c.get("/api/health", headers={"Host": ok}).status_code == 200, ok
        for bad in ("box.lab", "box.lab:9001", "runyard.lab.evil", "10.1.2.4"):
            assert c.get("/api/health", headers={"Host": bad}).status_code == 421, bad


def test_split_host_and_bad_entries() -> None:
    assert split_host("[::1]:80") == ("::1", 80)
    assert split_host("Example.ORG.") == ("example.org", None)
    with pytest.raises(ValueError, match="not a host name"):
        HostAllowList(["bad host"])


def _write_routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for ctx in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in sorted((ctx.methods or set()) & WRITE_METHODS):
            found.append((method, re.sub(r"\{[^}]+\}", "x1", ctx.path)))
    assert len(found) >= 10
    return found


def test_every_write_with_a_foreign_origin_is_refused(strict: TestClient) -> None:
    for method, path in _write_routes(strict):
        for header in ("Origin", "Referer"):
            value = "http://evil.example" + ("/page" if header == "Referer" else "")
            r = strict.request(method, path, json={}, headers={header: value})
            assert r.status_code == 403, (method, path, header)
            if is_mlflow_path(path):  # MLflow's routes answer in MLflow's error shape
                assert r.json()["error_code"] == "PERMISSION_DENIED"
            else:
                assert r.json()["error"]["code"] == "cross_origin"
        for other in ("null", "http://127.0.0.1:8421", "http://localhost:8420"):
            r = strict.request(method, path, json={}, headers={"Origin": other})
            assert r.status_code == 403, (method, path, other)


def test_same_origin_and_originless_writes_pass(strict: TestClient) -> None:
    own = {"Origin": "http://127.0.0.1:8420"}
    made = strict.post("/api/runs", json={}, headers=own)
    assert made.status_code == 201
    run_id = made.json()["id"]
    referer = {"Referer": "http://127.0.0.1:8420/runs/" + run_id}
    assert strict.patch(f"/api/runs/{run_id}", json={"notes": "a"}, headers=referer).is_success
    assert strict.patch(f"/api/runs/{run_id}", json={"notes": "b"}).is_success  # curl, SDK, CLI
    # Reads are not writes: a foreign origin may not read either (no CORS headers), but the
    # server need not refuse them.
    read = strict.get("/api/runs", headers={"Origin": "http://evil.example"})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers


def test_cors_origins_are_opt_in(settings: Settings, store: Store) -> None:
    update = {"cors_origins": ["http://localhost:5173"]}
    with TestClient(create_app(settings.model_copy(update=update), store)) as c:
        pre = c.options(
            "/api/runs",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        made = c.post("/api/runs", json={}, headers={"Origin": "http://localhost:5173"})
        assert made.status_code == 201
        assert made.headers["access-control-allow-origin"] == "http://localhost:5173"
        foreign = c.post("/api/runs", json={}, headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403


@pytest.mark.parametrize(
    "kind", ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)
def test_json_routes_refuse_other_bodies(strict: TestClient, kind: str) -> None:
    raw = _raw_body_routes(strict)
    for method, path in _write_routes(strict):
        r = strict.request(method, path, content=b'{"a": 1}', headers={"Content-Type": kind})
        if path == "/api/datasets" and kind.startswith("multipart"):
            assert r.status_code in (400, 422), r.text  # its declared upload form, not a 415
            continue
        if (method, path) in raw:  # uploads of raw bytes of any type: judged by the route
            assert r.status_code != 415 and r.status_code < 500, (method, path, r.text)
            continue
        assert r.status_code == 415, (method, path, kind, r.text)
        body = r.json()  # MLflow's routes answer in MLflow's error shape
        code = body["error"]["code"] if "error" in body else body["error_code"].lower()
        assert code == "unsupported_media_type"


def _raw_body_routes(client: TestClient) -> set[tuple[str, str]]:
    """Write routes that declare a body of any type (file uploads)."""
    found = set()
    for ctx in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = ctx.original_route
        content = (getattr(route, "openapi_extra", None) or {}).get("requestBody", {})
        if "*/*" in content.get("content", {}):
            for method in (ctx.methods or set()) & WRITE_METHODS:
                found.add((method, re.sub(r"\{[^}]+\}", "x1", ctx.path)))
    return found


def test_empty_bodies_are_judged_by_the_route(strict: TestClient) -> None:
    for method, path in _write_routes(strict):
        r = strict.request(method, path)
        assert r.status_code < 500, (method, path, r.text)
        refused = (403,) if path == "/api/datasets" else (403, 415)  # it says which it takes
        assert r.status_code not in refused, (method, path, r.text)
    made = strict.post("/api/runs", json={})
    cancel = strict.post(f"/api/runs/{made.json()['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    json_typed = strict.post(
        "/api/runs", content=b"{}", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert json_typed.status_code == 201


def test_cross_site_text_plain_cancel_leaves_the_run(strict: TestClient) -> None:
    run_id = strict.post("/api/runs", json={}).json()["id"]
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    assert strict.post(f"/api/runs/{run_id}/cancel", content=b"x", headers=evil).status_code == 403
    plain = {"Content-Type": "text/plain"}
    assert strict.post(f"/api/runs/{run_id}/cancel", content=b"x", headers=plain).status_code == 415
    assert strict.get(f"/api/runs/{run_id}").json()["status"] == "running"


def test_live_server_refuses_a_rebound_name(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/api/runs").status_code == 200
        refused = http.post("/api/runs", json={"command": ["true"]}, headers={"Host": "evil.lab"})
        assert refused.status_code == 421
        assert http.get("/api/runs").json()["runs"] == []


def test_cli_takes_allowed_hosts(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runyard", "server", "--allowed-host", "bad host"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a host name" in done.stderr
