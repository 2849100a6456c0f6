"""A PUT written on a plain socket, so that a test controls how much of its body is sent, and
when: a client still sending, gone quiet, or gone."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


def begin_put(port: int, path_and_query: str, length: int, first: bytes) -> socket.socket:
    """A PUT declaring `length` bytes of body, of which only `first` is sent (yet)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"PUT {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    sock.sendall(f"{head}Content-Length: {length}\r\n\r\n".encode() + first)
    return sock


def answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the response on `sock`."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())
