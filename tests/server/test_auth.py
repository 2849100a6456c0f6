from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from runyard.config import Settings, is_loopback
from runyard.server.app import create_app
from runyard.store import Store


@pytest.fixture
def secured(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"token": SecretStr("s3cret")}), store)
    ) as c:
        yield c


@pytest.mark.parametrize("path", ["/api/runs", "/api/experiments", "/openapi.json", "/docs"])
def test_every_route_but_health_needs_the_token(secured: TestClient, path: str) -> None:
    assert secured.get("/api/health").status_code == 200
    missing = secured.get(path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert secured.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert secured.get(path, headers={"Authorization": "s3cret"}).status_code == 401
    assert secured.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_writes_need_the_token_too(secured: TestClient) -> None:
    assert secured.post("/api/runs", json={}).status_code == 401
    ok = secured.post("/api/runs", json={}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
