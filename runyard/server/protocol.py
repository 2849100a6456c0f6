"""The HTTP protocol the server runs: uvicorn's (httptools), with each piece of a request
body handed to the app as it arrived.

Since uvicorn 0.42 (its #2845) every piece of a body is appended to a bytearray and copied
out of it again as bytes for the app: two more copies of each byte a client sends. A
checkpoint upload (the largest bodies here, written to disk as they come) spent ~20 % of its
worker's event loop in those copies (perf, 500 MB). A piece that arrives while the app has
taken everything before it is now handed on as the very bytes object httptools made
(`bytes(b)` of a bytes object is that object); pieces that pile up while the app is busy
are gathered in uvicorn's bytearray, as before.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class BodyProtocol(HttpToolsProtocol):
    def on_body(self, body: bytes) -> None:
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
