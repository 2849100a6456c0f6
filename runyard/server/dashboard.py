"""The built dashboard (web/ → runyard/server/static/), served at `/` as a single-page app.

Hashed files under /assets/ are cached for a year (their names change with their content);
index.html is revalidated on every load so that a rebuild shows at once. Any other GET that
matches no route and is not under /api/ gets index.html, so that deep links such as /runs/ID
work on reload, while /api/* 404s stay JSON. Without a build the server still runs and `/`
says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from runyard._paths import confine
from runyard.errors import BadRequest

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "/assets"
_NOT_SPA = ("/api/", "/api", ASSETS_PREFIX + "/")

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>runyard: dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}
code{background:#f1f3f6;padding:.1em .3em;border-radius:4px}</style></head>
<body><h1>runyard is running</h1>
<p>The API answers at <a href="/docs">/docs</a>, but the web dashboard has not been built.</p>
<p>Build it with <code>make web</code>
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload this page.</p>
</body></html>
"""


class _HashedAssets(StaticFiles):
    """Vite's hashed bundle files: safe to cache for good."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).is_dir():  # else: every file 404s
            await super().check_config()


def mount(app: FastAPI, static_dir: Path | None = None) -> None:
    """Serve the bundle's assets; `page_for` answers the other dashboard paths."""
    static_dir = static_dir or STATIC_DIR
    app.state.dashboard_dir = static_dir
    app.mount(ASSETS_PREFIX, _HashedAssets(directory=static_dir / "assets", check_dir=False))


def _index(static_dir: Path) -> Response:
    index = static_dir / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=200, headers={"Cache-Control": "no-store"})
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


def page_for(request: Request) -> Response | None:
    """The dashboard's answer to a GET that matched no route, or None (keep the 404)."""
    static_dir: Path | None = getattr(request.app.state, "dashboard_dir", None)
    path = request.url.path
    if static_dir is None or request.method not in ("GET", "HEAD") or path.startswith(_NOT_SPA):
        return None
    if path == "/api":
        return None
    rel = path.lstrip("/")
    if rel and "/" not in rel:  # a top-level file of the bundle (favicon.ico, robots.txt)
        try:
            candidate = confine(static_dir, rel)
        except BadRequest:
            candidate = None
        if candidate is not None and candidate.is_file() and candidate.name != "index.html":
            return FileResponse(candidate, headers={"Cache-Control": "no-cache"})
    return _index(static_dir)
