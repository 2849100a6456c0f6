"""The HTTP protocol the server runs: uvicorn's (httptools), with each piece of a request
body handed to the app as it arrived, and a body that the app may take from the socket itself.

Since uvicorn 0.42 (its #2845) every piece of a body is appended to a bytearray and copied
out of it again as bytes for the app: two more copies of each byte a client sends. A
checkpoint upload (the largest bodies here, written to disk as they come) spent ~20 % of its
worker's event loop in those copies (perf, 500 MB). A piece that arrives while the app has
taken everything before it is now handed on as the very bytes object httptools made
(`bytes(b)` of a bytes object is that object); pieces that pile up while the app is busy
are gathered in uvicorn's bytearray, as before.

A PUT with a Content-Length also carries an ASGI extension, `scope["extensions"][TAKE]`:
a function that stops the transport's reading and hands the app what arrived of the body
with the headers, and the connection's socket to read the rest from (`_splice.py` moves it
into a file inside the kernel). Once the app has read the whole body it says so, and the
connection goes on with a new parser for the next request (keep-alive: a client's next chunk
comes to the same process, which holds the hash of the ones before); a body not read whole
(the client went quiet, the disk filled up) leaves the connection to be closed after the
response, its parser never having seen the rest.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httptools
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TAKE = "runyard.take_body"
# What a take reads and sets of uvicorn's RequestResponseCycle (not a public interface).
_CYCLE = (
    "body",
    "more_body",
    "keep_alive",
    "flow",
    "message_event",
    "waiting_for_100_continue",
    "response_started",
    "disconnected",
)


@dataclass
class Taken:
    """A request body taken from its connection: `head` arrived with the headers, `rest`
    bytes are still to be read from `fd` (a duplicate of the socket's descriptor, which the
    taker closes; non-blocking). `read_whole()` says that all of it was read (on the event
    loop, before the response): the connection may serve the next request. `stop` is set
    once the server is stopping: the taker is to end the request soon."""

    head: bytes
    rest: int
    fd: int
    read_whole: Callable[[], None]
    stop: threading.Event = field(default_factory=threading.Event)


class BodyProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = 0  # body bytes of this request parsed so far
        self._taken: Taken | None = None

    def shutdown(self) -> None:
        super().shutdown()
        taken: Taken | None = getattr(self, "_taken", None)
        if taken is not None:
            taken.stop.set()  # (uvicorn waits for the request's end)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle: Any = self.cycle
        if cycle is None or cycle.scope is not self.scope or self.scheme != "http":
            return  # (an upgrade, or TLS: the socket's bytes are not the body's)
        if self.scope["method"] != "PUT" or not all(hasattr(cycle, a) for a in _CYCLE):
            return  # (the only bodies taken: files; and not from a uvicorn that differs)
        headers = dict(self.headers)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and b"transfer-encoding" not in headers:
            extensions = self.scope.setdefault("extensions", {})
            extensions[TAKE] = lambda: self._take(cycle, int(length))

    def on_body(self, body: bytes) -> None:
        self._parsed += len(body)
        cycle: Any = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            if isinstance(cycle.body, bytes):
                cycle.body = bytearray(cycle.body)  # a second piece before the app read
            super().on_body(body)
            return
        cycle.body = body  # receive() hands bytes(cycle.body) on, then starts a new bytearray
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def _take(self, cycle: Any, length: int) -> Taken | None:
        """The body, for the app to read from the socket; None where it cannot be had so, or
        need not be (the app has read some of it already, the client is gone, another request
        is queued, the whole body is here already)."""
        sock = self.transport.get_extra_info("socket")
        if (
            cycle is not self.cycle
            or cycle.disconnected
            or cycle.response_started
            or not cycle.more_body
            or self.pipeline
            or self._parsed != len(cycle.body)
            or sock is None
        ):
            return None
        self.flow.pause_reading()
        head = bytes(cycle.body)
        fd = os.dup(sock.fileno())
        cycle.body = bytearray()
        cycle.more_body = False
        keep_alive, cycle.keep_alive = cycle.keep_alive, False
        held: Any = _Held(self.flow)
        cycle.flow = held  # a receive() from now on finds the body ended
        cycle.message_event.set()
        if cycle.waiting_for_100_continue and length > len(head):
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        self._taken = Taken(head, length - len(head), fd, lambda: self._read(cycle, keep_alive))
        return self._taken

    def _read(self, cycle: Any, keep_alive: bool) -> None:
        """The taken body was read whole: the bytes that come next on the connection are the
        next request's, for a parser that starts afresh."""
        if cycle is self.cycle and not cycle.response_started:
            self.parser = httptools.HttpRequestParser(self)
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)  # (as uvicorn)
            cycle.keep_alive = keep_alive


class _Held:
    """The connection's flow control, except that nothing resumes its reading: the rest of
    the body is read from the socket by whoever took it."""

    def __init__(self, flow: FlowControl):
        self._flow = flow

    def resume_reading(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._flow, name)
