"""The server's HTTP protocol hands each piece of a body on as it came, or gathered when the
app reads slower than pieces arrive: either way the app gets every byte, in order (a real
uvicorn server on 127.0.0.1, a real client streaming 24 MB). An app may instead take the body
and read it from the socket itself: it gets every byte too, and the connection is closed
after its answer."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from runyard.server.protocol import TAKE, BodyProtocol, Taken
from tests._postgres import free_port

BODY = os.urandom(24 * 1024 * 1024)


async def _lifespan(receive: Any, send: Any) -> None:
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


def _app(pause_s: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
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


def _taking_app() -> Any:
    """Takes the body where it can, and reads the rest of it from the socket (in a thread):
    answers its SHA-256, its size, and how it was read."""

    def read_rest(taken: Taken, digest: Any) -> None:
        left = taken.rest
        while left:
            select.select([taken.fd], [], [], 10)
            try:
                data = os.read(taken.fd, min(left, 1 << 20))
            except BlockingIOError:
                continue
            assert data, "the client went away"
            digest.update(data)
            left -= len(data)
        os.close(taken.fd)

    def read_what_came(taken: Taken) -> int:
        got = 0
        while select.select([taken.fd], [], [], 1)[0]:  # until a second passes without a byte
            got += len(os.read(taken.fd, 1 << 20))
        os.close(taken.fd)
        return got

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        digest = hashlib.sha256()
        take = scope.get("extensions", {}).get(TAKE)
        taken = take() if take is not None else None
        if taken is not None and scope["path"] == "/short":
            total = len(taken.head) + await asyncio.to_thread(read_what_came, taken)
            how = "short"  # a taker that stops short, the client gone quiet
        elif taken is not None:
            how = "taken"
            digest.update(taken.head)
            await asyncio.to_thread(read_rest, taken, digest)
            taken.read_whole()
            total = len(taken.head) + taken.rest
            after = await asyncio.wait_for(receive(), 5)  # the body has ended for ASGI
            assert (after["body"], after["more_body"]) == (b"", False)
        else:
            total, how = 0, "received"
            while (message := await receive())["more_body"] or message["body"]:
                digest.update(message["body"])
                total += len(message["body"])
                if not message["more_body"]:
                    break
        answer = f"{digest.hexdigest()} {total} {how} {scope['client'][1]}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": answer})

    return app


@pytest.fixture(params=[0.0, 0.005], ids=["fast-reader", "slow-reader"])
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _serve(_app(request.param))


@pytest.fixture
def taking() -> Iterator[str]:
    yield from _serve(_taking_app())


def _serve(app: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=BodyProtocol
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


def test_a_taken_body_is_read_whole_from_the_socket_and_the_connection_kept(taking: str) -> None:
    """What arrived with the headers comes with the take, the rest from the socket; a receive()
    afterwards finds the body ended (it does not read the socket beside the taker); once the
    app has read it whole, the connection serves the next request, parsed afresh."""
    with httpx.Client(timeout=60) as client:
        answers = [client.put(taking, content=BODY) for _ in range(2)]
        answers.append(client.put(taking, content=b""))  # a body whole already is not taken
        answers.append(client.post(taking, content=BODY[:4096]))  # nor a POST's
    sums = [f"{hashlib.sha256(b).hexdigest()} {len(b)}" for b in (BODY, BODY, b"", BODY[:4096])]
    ports = set()
    hows = ("taken", "taken", "received", "received")
    for r, expected, how in zip(answers, sums, hows, strict=True):
        assert r.status_code == 200, r.text
        digest, size, took, port = r.text.split()
        assert (f"{digest} {size}", took) == (expected, how)
        assert r.headers.get("connection") != "close"
        ports.add(port)
    assert len(ports) == 1  # one connection for all four


def test_a_taken_body_not_read_whole_closes_its_connection(taking: str) -> None:
    """A taker that stops short (the client went quiet, a write failed) leaves the rest of the
    body unread: the parser never saw it, so the connection ends with the response."""
    host, port = taking.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"PUT /short HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {1 << 20}\r\n"
        sock.sendall(f"{head}\r\n".encode() + BODY[: 1 << 19])
        answer = b""
        while chunk := sock.recv(65536):  # to the end: the server closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert b"connection: close\r\n" in answer
    assert f"{1 << 19} short".encode() in answer  # the 512 KB sent


def test_a_body_without_a_length_is_not_offered_to_take(taking: str) -> None:
    r = httpx.put(taking, content=_pieces(BODY[: 1 << 20], 1 << 16, 0.0), timeout=60)
    assert r.status_code == 200, r.text
    expected = f"{hashlib.sha256(BODY[: 1 << 20]).hexdigest()} {1 << 20} received"
    assert r.text.startswith(expected)
    assert r.headers.get("connection") != "close"


def test_a_client_that_expects_100_continue_is_told_to_send_a_taken_body(taking: str) -> None:
    body = BODY[: 3 << 20]
    host, port = taking.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"PUT / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(f"{head}Expect: 100-continue\r\n\r\n".encode())
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = response.read().decode()
    assert response.status == 200
    assert answer.startswith(f"{hashlib.sha256(body).hexdigest()} {len(body)} taken")
