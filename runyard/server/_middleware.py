"""Pure ASGI middleware: bearer-token (or session cookie) auth and the request body limit."""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard._tokens import job_refusal, run_of
from runyard.errors import PayloadTooLarge, RunyardError, Unauthorized
from runyard.server.mlflow import _errors as mlflow_errors
from runyard.server.sessions import cookie_id

if TYPE_CHECKING:
    from runyard.server.sessions import SessionBook

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN = "runyard.same_origin"  # scope key: True (Origin/Referer match), None (neither sent)
AUTH_KIND = "runyard.auth"  # scope key: "bearer" or "cookie", once let through

OPEN_PATHS = frozenset({"/api/health", "/login"})
OPEN_WRITES = frozenset({("POST", "/api/session"), ("DELETE", "/api/session")})  # log in, out


async def _send_error(
    send: Send, error: RunyardError, headers: list[tuple[bytes, bytes]], path: str = ""
) -> None:
    """The error in runyard's shape; on MLflow's routes (``path``) in MLflow's."""
    body = orjson.dumps(
        mlflow_errors.shaped(error.status, error.message)
        if mlflow_errors.is_mlflow_path(path)
        else error.to_dict()
    )
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
    """With a token configured, every route but /api/health needs `Authorization: Bearer …`
    or a session cookie from /login (see runyard.server.sessions).

    A job gets a token scoped to its run (see runyard._tokens): it opens that run's routes only.
    A dashboard path asked for without either is sent to /login.
    """

    def __init__(self, app: ASGIApp, token: str, sessions: SessionBook | None = None):
        self.app = app
        self.token = token
        self.expected = f"Bearer {token}".encode()
        self.sessions = sessions

    def _refusal(self, given: bytes, scope: Scope) -> RunyardError | None:
        if hmac.compare_digest(given, self.expected):
            return None
        if not given.startswith(b"Bearer run."):
            return Unauthorized("missing bearer token" if not given else "invalid bearer token")
        run_id = run_of(self.token, given[len(b"Bearer ") :].decode("latin-1"))
        if run_id is None:
            return Unauthorized("invalid bearer token")
        return job_refusal(scope.get("method", "GET"), scope["path"], run_id)

    async def _by_cookie(self, headers: dict[bytes, bytes], scope: Scope) -> RunyardError | None:
        """None when a live session cookie lets this request through."""
        assert self.sessions is not None
        try:
            session_id = cookie_id(headers.get(b"cookie"))
        except RunyardError as exc:
            return exc
        if session_id is None:
            return Unauthorized("missing bearer token or session cookie; log in at /login")
        if await self.sessions.expires_at(session_id) is None:
            return Unauthorized("the session is over or unknown; log in again at /login")
        if scope.get("method") in WRITE_METHODS and not (
            scope.get(SAME_ORIGIN) or headers.get(b"sec-fetch-site") == b"same-origin"
        ):
            return RunyardError(
                "a write with a session cookie needs this server's own Origin",
                status=403,
                code="cross_origin",
            )
        scope[AUTH_KIND] = "cookie"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or (scope["method"], path) in OPEN_WRITES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"authorization", b"")
        if given or self.sessions is None:
            refusal = self._refusal(given, scope)
            scope[AUTH_KIND] = "bearer"
        else:
            refusal = await self._by_cookie(headers, scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if refusal.status == 401 and _wants_a_page(scope, headers):
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            location = f"/login?next={quote(target, safe='')}".encode()
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location), (b"content-length", b"0"), (b"cache-control", b"no-store"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        extra = [(b"www-authenticate", b"Bearer")] if refusal.status == 401 else []
        await _send_error(send, refusal, extra, path)


def _wants_a_page(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """A browser navigating to a dashboard path (not the API, not a download)."""
    path: str = scope["path"]
    return (
        scope.get("method") in ("GET", "HEAD")
        and not path.startswith(("/api/", "/metrics", "/openapi.json", "/docs", "/redoc"))
        and b"text/html" in headers.get(b"accept", b"")
    )


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, by Content-Length or while streaming.

    `streamed`: PUTs to the paths it matches are let through whatever their size: their
    route writes the body to disk as it comes and bounds it itself (an upload's chunk by the
    file's declared size), so no body is held in memory."""

    def __init__(self, app: ASGIApp, limit: int, streamed: re.Pattern[str] | None = None):
        self.app = app
        self.limit = limit
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.streamed is not None
            and scope["method"] == "PUT"
            and self.streamed.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"request body is over the limit of {self.limit} bytes")
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _send_error(send, too_large, [(b"connection", b"close")], scope["path"])
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
            await _send_error(send, too_large, [(b"connection", b"close")], scope["path"])
