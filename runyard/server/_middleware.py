"""Pure ASGI middleware: bearer-token auth and the request body limit."""

from __future__ import annotations

import hmac

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard._tokens import job_refusal, run_of
from runyard.errors import PayloadTooLarge, RunyardError, Unauthorized

OPEN_PATHS = frozenset({"/api/health"})


async def _send_error(send: Send, error: RunyardError, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps(error.to_dict())
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenAuth:
    """With a token configured, every route but /api/health needs `Authorization: Bearer …`.

    A job gets a token scoped to its run (see runyard._tokens): it opens that run's routes only.
    """

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token
        self.expected = f"Bearer {token}".encode()

    def _refusal(self, given: bytes, scope: Scope) -> RunyardError | None:
        if hmac.compare_digest(given, self.expected):
            return None
        if not given.startswith(b"Bearer run."):
            return Unauthorized("missing bearer token" if not given else "invalid bearer token")
        run_id = run_of(self.token, given[len(b"Bearer ") :].decode("latin-1"))
        if run_id is None:
            return Unauthorized("invalid bearer token")
        return job_refusal(scope.get("method", "GET"), scope["path"], run_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        refusal = self._refusal(given, scope)
        if refusal is not None:
            extra = [(b"www-authenticate", b"Bearer")] if refusal.status == 401 else []
            await _send_error(send, refusal, extra)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"request body is over the limit of {self.limit} bytes")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _send_error(send, too_large, [(b"connection", b"close")])
            return
        # Past the limit the app is told the client left, its reaction is dropped, and the
        # 413 goes out instead (raising here would be turned into a 400 by the body parser).
        seen = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _send_error(send, too_large, [(b"connection", b"close")])
