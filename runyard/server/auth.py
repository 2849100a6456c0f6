"""Who may drive the server from a browser: the Host allow-list and the same-origin rule.

runyard runs commands for whoever reaches its API, so a page on another site must not:
- DNS rebinding points an attacker's name at 127.0.0.1; the browser then sends
  `Host: attacker.example`. Only names the server is really reached by are answered.
- A cross-site form or fetch can POST without preflight (text/plain, a form). A write whose
  `Origin` (else `Referer`) names another origin is refused; clients that send neither
  (curl, the SDK, the CLI) are not browsers and keep working. JSON routes also refuse
  non-JSON bodies (see `require_declared_media_type`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.errors import RunyardError
from runyard.server._middleware import SAME_ORIGIN, WRITE_METHODS, _send_error

_MEMO_SIZE = 4096  # decisions kept per guard; Referer values vary, so the memo is bounded
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6][:port]` → (normalised name, port); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
        try:
            name = str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    else:
        name, sep, port_text = value.partition(":")
        if ":" in port_text or (sep and not port_text):
            return None
        port_text = port_text if sep else None
    name = name[:-1] if name.endswith(".") else name  # "localhost." is the same name
    if not name or any(c.isspace() or c in "/\\@?#" for c in name):
        return None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def _is_loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _normal_ip(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return name.lower().rstrip(".")


class HostAllowList:
    """Which `Host` headers are answered: loopback names and addresses, the address the
    connection arrived on (an IP literal cannot be rebound), and the configured names."""

    def __init__(self, extra: Iterable[str], bound: str | None = None):
        self.names: set[str] = set()
        self.pairs: set[tuple[str, int]] = set()
        self._decided: dict[tuple[str, str | None], bool] = {}
        for entry in [*extra, *([bound] if bound and bound not in ("0.0.0.0", "::") else [])]:
            bare_v6 = entry.count(":") > 1 and not entry.startswith("[")
            parsed = split_host(f"[{entry}]" if bare_v6 else entry)
            if parsed is None:
                raise ValueError(f"not a host name: {entry!r}")
            name, port = parsed
            if port is None:
                self.names.add(name)
            else:
                self.pairs.add((name, port))

    def allows(self, host: str, local_address: str | None) -> bool:
        """Decided once per (Host, local address): a server sees very few of them."""
        key = (host, local_address)
        known = self._decided.get(key)
        if known is None:
            if len(self._decided) >= _MEMO_SIZE:
                self._decided.clear()
            known = self._decided[key] = self._allows(host, local_address)
        return known

    def _allows(self, host: str, local_address: str | None) -> bool:
        parsed = split_host(host)
        if parsed is None:
            return False
        name, port = parsed
        if _is_loopback_name(name) or name in self.names:
            return True
        if port is not None and (name, port) in self.pairs:
            return True
        return local_address is not None and name == _normal_ip(local_address)


def _origin_of(url: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    name = parts.hostname.lower().rstrip(".")
    return _normal_ip(name), port or _DEFAULT_PORTS.get(parts.scheme.lower())


class BrowserGuard:
    """Refuses foreign `Host` headers (421) and cross-origin writes (403) before routing."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str], bound: str, cors_origins: Iterable[str]
    ):
        self.app = app
        self.hosts = HostAllowList(allowed_hosts, bound)
        self.cors = {o.strip().rstrip("/").lower() for o in cors_origins}
        self._decided: dict[tuple[str, str], bool] = {}

    def _same_origin(self, source: str, host: str) -> bool:
        key = (source, host)
        known = self._decided.get(key)
        if known is None:
            if len(self._decided) >= _MEMO_SIZE:
                self._decided.clear()
            known = self._decided[key] = self._judge_origin(source, host)
        return known

    def _judge_origin(self, source: str, host: str) -> bool:
        if source.rstrip("/").lower() in self.cors:
            return True
        origin, own = _origin_of(source), split_host(host)
        if origin is None or own is None:
            return False
        name, port = own
        return origin[0] == _normal_ip(name) and (port is None or origin[1] == port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        local = scope.get("server")
        if host and not self.hosts.allows(host, local[0] if local else None):
            message = (
                f"host {host[:100]!r} is not a name this server answers to (a guard against "
                "DNS rebinding); reach it by 127.0.0.1 or localhost, or allow the name with "
                "--allowed-host / RUNYARD_ALLOWED_HOSTS"
            )
            error = RunyardError(message, status=421, code="misdirected")
            await _send_error(send, error, [], scope.get("path", ""))
            return
        source = headers.get(b"origin") or headers.get(b"referer")
        same: bool | None = None
        if source is not None:
            same = self._same_origin(source.decode("latin-1"), host)
        if scope.get("method") in WRITE_METHODS and same is False:
            message = (
                f"cross-site request refused: origin {source.decode('latin-1')[:100]!r} "  # type: ignore[union-attr]
                "is not this server's (list it in RUNYARD_CORS_ORIGINS to allow it)"
            )
            error = RunyardError(message, status=403, code="cross_origin")
            await _send_error(send, error, [], scope.get("path", ""))
            return
        scope[SAME_ORIGIN] = same
        await self.app(scope, receive, send)


_JSON = "application/json"
_FORM = ("multipart/form-data", "application/x-www-form-urlencoded")
_declared: dict[int, frozenset[str]] = {}


def _route_media_types(route: object) -> frozenset[str]:
    """The media types a route's body may have: its OpenAPI declaration, else JSON."""
    key = id(route)
    if key not in _declared:
        extra = getattr(route, "openapi_extra", None) or {}
        content = extra.get("requestBody", {}).get("content")
        if content:
            _declared[key] = frozenset(k.lower() for k in content)
        else:
            field = getattr(route, "body_field", None)
            info = type(getattr(field, "field_info", None)).__name__
            _declared[key] = frozenset(_FORM if info in ("Form", "File") else (_JSON,))
    return _declared[key]


def _is_json(kind: str) -> bool:
    return kind == _JSON or (kind.startswith("application/") and kind.endswith("+json"))


async def require_declared_media_type(request: Request) -> None:
    """A write whose body is not of a type its route declares is a 415: a JSON route never
    reads a text/plain or form body (what a cross-site page can send without preflight)."""
    if request.method not in WRITE_METHODS:
        return
    given = request.headers.get("content-type")
    if given is None:
        return  # no body, or raw bytes that the route parses as JSON itself
    kind = given.split(";", 1)[0].strip().lower()
    route = request.scope.get("route")
    allowed = _route_media_types(route) if route is not None else frozenset({_JSON})
    if kind in allowed or "*/*" in allowed or (_is_json(kind) and _JSON in allowed):
        return
    expected = " or ".join(sorted(allowed))
    raise RunyardError(
        f"this route takes {expected}, not {kind or 'an empty content type'}",
        status=415,
        code="unsupported_media_type",
    )
