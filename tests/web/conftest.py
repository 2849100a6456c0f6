"""Browser tests: a real `runyard server` (uvicorn on 127.0.0.1) serving the built dashboard,
real jobs (tests/programs/sdk_train.py), and Debian's Chromium driven by Playwright.

The bundle is built by `make web` (a no-op when up to date). Never `playwright install`: the
browser is /usr/bin/chromium (scripts/system-deps.sh installs it).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "programs" / "sdk_train.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# uPlot draws its tick labels on a canvas, out of the DOM's reach: this keeps, per canvas, the
# x-axis labels (centred, hung from the top) of its latest draw, which starts with a clearRect:
# each label's text, its top (y, canvas pixels) and its height.
X_TICKS = """
const ticks = new WeakMap();
window.xTicks = (canvas) => ticks.get(canvas) ?? [];
const proto = CanvasRenderingContext2D.prototype;
const clear = proto.clearRect;
const fill = proto.fillText;
proto.clearRect = function (...args) {
  ticks.set(this.canvas, []);
  return clear.apply(this, args);
};
proto.fillText = function (text, x, y, ...rest) {
  if (this.textAlign === "center" && this.textBaseline === "top") {
    const m = this.measureText(String(text));
    const height = m.fontBoundingBoxAscent + m.fontBoundingBoxDescent;
    ticks.get(this.canvas)?.push({ text: String(text), y, height });
  }
  return fill.call(this, text, x, y, ...rest);
};
"""


@pytest.fixture(scope="session")
def bundle() -> Path:
    subprocess.run(["make", "--no-print-directory", "web"], cwd=ROOT, check=True)
    index = ROOT / "runyard" / "server" / "static" / "index.html"
    assert index.is_file(), "make web did not build the dashboard"
    return index


@pytest.fixture(scope="session")
def live(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    srv = ServerProcess(tmp_path_factory.mktemp("web") / "home", "--slots", "6").wait_ready()
    client = Live(base_url=srv.url, timeout=30)
    client.url = srv.url
    try:
        yield client
    finally:
        active = "queued,starting,running,retrying"
        for run in client.get("/api/runs", params={"status": active}).json()["runs"]:
            client.post(f"/api/runs/{run['id']}/cancel")
        client.close()
        srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


class Live(httpx.Client):
    """An HTTP client of the live server, with the few helpers the tests share."""

    url: str  # where the browser goes

    def train(self, name: str, *args: str, **spec: Any) -> dict[str, Any]:
        """Submit sdk_train.py as a job; it logs train/m* every step and val/loss per epoch."""
        body = {
            "name": name,
            "command": [sys.executable, str(PROGRAM), "--name", name, *args],
            "retry_delay_s": 0.1,
            "max_retries": 0,
            **spec,
        }
        r = self.post("/api/runs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def wait_status(self, run_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        return until(lambda: _if(self.get(f"/api/runs/{run_id}").json(), statuses), timeout)


def _if(run: dict[str, Any], statuses: tuple[str, ...]) -> dict[str, Any] | None:
    return run if run["status"] in statuses else None


def until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.05) -> Any:
    """Poll until `check()` is truthy; its value, or AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")
