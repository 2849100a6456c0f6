"""The dashboard's static files: SPA fallback, JSON 404s under /api, cache headers, no build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server import dashboard
from runyard.server.app import create_app
from runyard.store import Store

INDEX = "<!doctype html><title>runyard</title><div id=root></div>"


def _app_with(static: Path, settings: Settings, store: Store) -> TestClient:
    app = create_app(settings, store)
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", "") != "/assets"]
    dashboard.mount(app, static)
    return TestClient(app)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text(INDEX)
    (static / "assets" / "index-abc123.js").write_text("console.log(1)")
    (static / "favicon.svg").write_text("<svg/>")
    return static


@pytest.fixture
def web(bundle: Path, settings: Settings, store: Store) -> Iterator[TestClient]:
    with _app_with(bundle, settings, store) as c:
        yield c


def test_deep_links_get_the_app_and_api_404s_stay_json(web: TestClient) -> None:
    for path in ("/", "/runs", "/runs/0123456789abcdef", "/compare?runs=a,b"):
        r = web.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX and r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
    for path in ("/api/nope", "/api/runs/nope", "/api"):
        r = web.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    assert web.get("/openapi.json").json()["info"]["title"] == "runyard"
    assert web.post("/runs/x").status_code == 404  # only reads get the app


def test_hashed_assets_are_cached_for_good_and_missing_ones_404(web: TestClient) -> None:
    r = web.get("/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log(1)"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = web.get("/assets/index-old.js")
    assert missing.status_code == 404 and "html" not in missing.headers["content-type"]
    assert web.get("/favicon.svg").text == "<svg/>"
    assert web.get("/%2e%2e/%2e%2e/etc/passwd").text == INDEX


def test_without_a_build_the_server_says_how_to_make_one(
    tmp_path: Path, settings: Settings, store: Store
) -> None:
    with _app_with(tmp_path / "nothing", settings, store) as c:
        r = c.get("/runs/abc")
        assert r.status_code == 200 and "make web" in r.text
        assert c.get("/assets/index-abc123.js").status_code == 404
        assert c.get("/api/health").json()["status"] == "ok"


def test_runs_say_what_they_depend_on(client: TestClient) -> None:
    first = client.post("/api/runs", json={"command": ["true"], "retry_delay_s": 0}).json()
    second = client.post(
        "/api/runs", json={"command": ["true"], "depends_on": [first["id"]]}
    ).json()
    assert second["depends_on"] == [first["id"]] and first["depends_on"] == []
    listed = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert listed[second["id"]]["depends_on"] == [first["id"]]
    assert client.post("/api/runs", json={}).json()["depends_on"] == []  # tracked only
