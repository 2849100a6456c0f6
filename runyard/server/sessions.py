"""Browser sessions: a person trades the server's token for an HttpOnly cookie.

The cookie holds a random id, never the token. The store keeps only HMAC(token, id), so a
copy of the database opens nothing, a cookie from another server (another token) matches
nothing, and changing the token logs everybody out. Sessions live in the database: they
survive a restart and are shared by servers on one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict

import anyio

from runyard.errors import BadRequest
from runyard.store.sessions import Sessions

COOKIE = "runyard_session"
MAX_COOKIE_HEADER = 8192
_ID = re.compile(rb"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_COOKIE_VALUE = re.compile(rb"(?:^|;)\s*" + COOKIE.encode() + rb"=([^;]*)")
_CACHE_S = 5.0  # how long a checked session is trusted without asking the database again
_MAX_TRACKED = 10_000


def cookie_id(header: bytes | None) -> str | None:
    """The session id a Cookie header carries; None without one; 400 when it is malformed."""
    if not header or COOKIE.encode() not in header:
        return None
    if len(header) > MAX_COOKIE_HEADER:
        raise BadRequest(f"the Cookie header is over {MAX_COOKIE_HEADER} bytes")
    match = _COOKIE_VALUE.search(header)
    if match is None:
        return None
    value = match.group(1)
    if not _ID.fullmatch(value):
        raise BadRequest(f"the {COOKIE} cookie is malformed; log in again at /login")
    return value.decode("ascii")


class SessionBook:
    """Starts, checks and ends sessions; counts failed logins per address."""

    def __init__(self, store: Sessions, secret: str, ttl_s: float):
        self.store = store
        self._secret = secret.encode()
        self._expected = hashlib.sha256(self._secret).digest()
        self.ttl_s = ttl_s
        self.login_code: str | None = secrets.token_urlsafe(24)  # printed once by the server
        self._checked: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._cache_s = _CACHE_S
        self._shared = False  # the code is one of several workers': it is used up in the store
        self._failures: OrderedDict[str, int] = OrderedDict()

    def _key(self, session_id: str) -> str:
        return hmac.new(self._secret, session_id.encode(), hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        """The server's token, or the one-time code from the server's start (used up here)."""
        digest = hashlib.sha256(given.encode()).digest()
        if hmac.compare_digest(digest, self._expected):  # same length whatever was sent
            return True
        code = self.login_code
        if code is not None and hmac.compare_digest(digest, hashlib.sha256(code.encode()).digest()):
            self.login_code = None
            if self._shared:  # first come, first served, whichever worker it reached
                return self.store.use_once("code:" + self._key(code)[:58], self.ttl_s)
            return True
        return False

    def share_login_code(self, code: str | None) -> None:
        """One of several workers: take the code the server printed, use it up in the store,
        and never trust a session without asking the store (another worker may have ended
        it)."""
        self.login_code = code
        self._shared = True
        self._cache_s = 0.0

    def start(self, address: str | None) -> tuple[str, float]:
        session_id = secrets.token_urlsafe(32)
        expires = self.store.create(self._key(session_id), self.ttl_s, address)
        return session_id, expires

    async def expires_at(self, session_id: str) -> float | None:
        """When a live session ends; None when it is unknown or over."""
        now = time.monotonic()
        cached = self._checked.get(session_id)  # by id: no HMAC on the common path
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1] if cached[1] > time.time() else None
        expires = await anyio.to_thread.run_sync(self.store.expires_at, self._key(session_id))
        if expires is None:
            self._checked.pop(session_id, None)
            return None
        self._checked[session_id] = (now, expires)
        self._checked.move_to_end(session_id)
        while len(self._checked) > _MAX_TRACKED:
            self._checked.popitem(last=False)
        return expires

    def end(self, session_id: str) -> None:
        self._checked.pop(session_id, None)
        self.store.delete(self._key(session_id))

    async def failed(self, address: str) -> None:
        """Wait a little longer after each failed login from one address (at most 5 s)."""
        count = self._failures.pop(address, 0) + 1
        self._failures[address] = count
        while len(self._failures) > _MAX_TRACKED:
            self._failures.popitem(last=False)
        await asyncio.sleep(min(0.05 * 2 ** (count - 1), 5.0))

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def failures(self, address: str) -> int:
        return self._failures.get(address, 0)
