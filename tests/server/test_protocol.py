"""The server's HTTP protocol hands each piece of a body on as it came, or gathered when the
app reads slower than pieces arrive: either way the app gets every byte, in order (a real
uvicorn server on 127.0.0.1, a real client streaming 24 MB)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from runyard.server.protocol import BodyProtocol
from tests._postgres import free_port

BODY = os.urandom(24 * 1024 * 1024)


def _app(pause_s: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        digest, total = hashlib.sha256(), 0
        while True:
            message = await receive()
            assert type(message["body"]) is bytes
            digest.update(message["body"])
            total += len(message["body"])
            if not message["more_body"]:
                break
            await asyncio.sleep(pause_s)  # a slow reader: pieces pile up meanwhile
        answer = f"{digest.hexdigest()} {total}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    return app


@pytest.fixture(params=[0.0, 0.005], ids=["fast-reader", "slow-reader"])
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        _app(request.param), host="127.0.0.1", port=port, log_level="warning", http=BodyProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _pieces(body: bytes, size: int, pause_s: float) -> Iterator[bytes]:
    for at in range(0, len(body), size):
        yield body[at : at + size]
        time.sleep(pause_s)


@pytest.mark.parametrize(
    ("piece", "pause_s"), [(1 << 20, 0.0), (16 * 1024, 0.0005)], ids=["large", "small"]
)
def test_every_byte_of_a_streamed_body_reaches_the_app_in_order(
    served: str, piece: int, pause_s: float
) -> None:
    """Large pieces arrive one by one; small ones sent apart to a slow reader pile up in
    between and are gathered."""
    body = BODY if piece > 1 << 16 else BODY[: 4 * 1024 * 1024]
    r = httpx.put(
        served,
        content=_pieces(body, piece, pause_s),
        headers={"Content-Length": str(len(body))},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    sha, total = r.text.split()
    assert (sha, int(total)) == (hashlib.sha256(body).hexdigest(), len(body))
