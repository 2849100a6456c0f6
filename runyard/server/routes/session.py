"""Logging in from a browser: /login, and POST/GET/DELETE /api/session (a cookie session)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from runyard.errors import BadRequest, Unauthorized
from runyard.server._middleware import AUTH_KIND
from runyard.server.routes import ERRORS
from runyard.server.schemas import ErrorOut
from runyard.server.sessions import COOKIE, SessionBook, cookie_id

router = APIRouter(tags=["session"], responses=ERRORS)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    token: Annotated[str, Field(min_length=1, max_length=512)]


class SessionOut(BaseModel):
    auth: Literal["cookie", "bearer", "none"] = Field(
        description="How this request was let in: a session cookie, a bearer token, or no "
        "token is set on this server."
    )
    expires_at: float | None = Field(default=None, description="When the session ends (epoch s).")


def _book(request: Request) -> SessionBook | None:
    book: SessionBook | None = getattr(request.app.state, "sessions", None)
    return book


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/session", status_code=201, responses={401: {"model": ErrorOut}})
async def log_in(body: SessionIn, request: Request, response: Response) -> SessionOut:
    """Trade the server's token (or the one-time code `runyard server` printed) for an
    HttpOnly, SameSite=Strict session cookie."""
    book = _book(request)
    if book is None:
        raise BadRequest("this server has no token: there is nothing to log in to")
    address = _address(request)
    if not book.token_matches(body.token):
        await book.failed(address)
        raise Unauthorized("wrong token")
    book.succeeded(address)
    session_id, expires = book.start(address)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=max(1, math.ceil(book.ttl_s)),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return SessionOut(auth="cookie", expires_at=expires)


@router.get("/api/session", responses={401: {"model": ErrorOut}})
async def who_am_i(request: Request) -> SessionOut:
    """How this request was let in (the dashboard shows "Log out" for a cookie session)."""
    kind = request.scope.get(AUTH_KIND)
    book = _book(request)
    if kind == "cookie" and book is not None:
        session_id = cookie_id(request.headers.get("cookie", "").encode("latin-1"))
        expires = await book.expires_at(session_id) if session_id else None
        return SessionOut(auth="cookie", expires_at=expires)
    return SessionOut(auth="bearer" if kind == "bearer" else "none")


@router.delete("/api/session", status_code=204)
async def log_out(request: Request) -> Response:
    """End this browser's session (if any) and clear its cookie."""
    book = _book(request)
    session_id = cookie_id(request.headers.get("cookie", "").encode("latin-1"))
    if book is not None and session_id is not None:
        book.end(session_id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/login", include_in_schema=False, response_model=None)
def login_page(request: Request) -> Response:
    if _book(request) is None:
        return RedirectResponse("/", status_code=303)
    return HTMLResponse(
        _PAGE,
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",  # the one-time code must not leak onwards
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'",
        },
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>runyard: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:26rem;margin:5rem auto;padding:0 1rem;
  color:#1d2330}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .3rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #b9c0cc;
  border-radius:6px}
button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit;border:0;border-radius:6px;
  background:#2c5bd8;color:#fff;cursor:pointer}
#error{color:#b3261e;min-height:1.5em}p.hint{color:#5b6475;font-size:.9rem}
</style></head>
<body><main>
<h1>Log in to runyard</h1>
<form id="login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
<p id="error" role="alert"></p>
</form>
<section id="in" hidden>
<p>You are logged in. <a href="/">Open the dashboard</a></p>
<button type="button" id="logout">Log out</button>
</section>
<p class="hint">The token is the server's <code>RUNYARD_TOKEN</code> (or <code>--token</code>);
<code>runyard server</code> also prints a one-time login link.</p>
</main>
<script>
const params = new URLSearchParams(location.search);
const next = params.get("next") || "/";
const target = next.startsWith("/") && !next.startsWith("//") ? next : "/";
async function logIn(token) {
  const error = document.getElementById("error");
  error.textContent = "";
  const res = await fetch("/api/session", {
    method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({token}),
  });
  if (res.status === 201) { location.replace(target); return; }
  let message = res.status + " " + res.statusText;
  try { message = (await res.json()).error.message; } catch (e) {}
  error.textContent = message;
}
document.getElementById("login").addEventListener("submit", (e) => {
  e.preventDefault();
  logIn(document.getElementById("token").value);
});
async function showSession() {
  const res = await fetch("/api/session");
  const signedIn = res.ok && (await res.json()).auth === "cookie";
  document.getElementById("in").hidden = !signedIn;
  document.getElementById("login").hidden = signedIn;
}
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/api/session", {method: "DELETE"});
  await showSession();
});
const given = params.get("token");
if (given) {
  params.delete("token");
  history.replaceState(null, "", "/login" + (params.size ? "?" + params : ""));
  logIn(given);
} else {
  showSession();
}
</script>
</body></html>
"""
