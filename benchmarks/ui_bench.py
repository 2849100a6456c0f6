#!/usr/bin/env python
"""The dashboard under load, in a real Chromium (Debian's /usr/bin/chromium, Playwright).

What it measures, against `runyard server` on SQLite in a temp home:
- runs table: with N runs in the store (default 10,000, inserted through the Store in this
  process), from navigation start to the table's first page rendered and interactive (the
  app's `runs-interactive` performance mark); a fresh browser context each time (cold cache);
- first chart: a run with one metric of P points (default 1,000,000, ingested through the
  Store), from navigation start to the first chart painted with data (`chart-painted` mark);
- the gzipped size of the bundle (runyard/server/static/assets).
Targets from the issue: ≤ 1.0 s, ≤ 0.5 s, ≤ 300 kB.

Run: `.venv/bin/python benchmarks/ui_bench.py [--runs N] [--points P] [--reps R]` (after
`make web`).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import ROOT, VENV_BIN, free_port, median, server, table

TARGET_TABLE_S = 1.0
TARGET_CHART_S = 0.5
TARGET_BUNDLE_KB = 300.0
STATIC = ROOT / "runyard" / "server" / "static"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def log(message: str) -> None:
    print(f"[ui-bench] {message}", file=sys.stderr, flush=True)


def fill(home: Path, runs: int, points: int) -> str:
    """N small runs (params, tags, a goal metric) and one run with a P-point metric."""
    import numpy as np

    from runyard.config import Settings
    from runyard.entities import Goal
    from runyard.store import Store
    from runyard.store.metrics import Series

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        for i in range(runs):
            run = store.runs.create(
                experiment=f"exp-{i % 20}",
                params={"lr": float(10 ** rng.uniform(-4, -1)), "batch": int(2 ** (4 + i % 4))},
                tags=["bench", f"group-{i % 7}"],
            )
            now = time.time()
            series = [
                Series("val/loss", np.array([0]), np.array([rng.uniform(0.1, 2)]), np.array([now]))
            ]
            store.metrics.ingest(run.id, series)
        log(f"{runs:,} runs in {time.perf_counter() - t0:.1f} s")
        big = store.runs.create(experiment="bench-big", name="one-million-points")
        steps = np.arange(points, dtype=np.int64)
        values = np.exp(-steps / (points / 5)) + rng.normal(0, 0.02, points)
        ts = time.time() - (points - steps) * 0.01
        t0 = time.perf_counter()
        for lo in range(0, points, 250_000):
            hi = min(points, lo + 250_000)
            store.metrics.ingest(
                big.id, [Series("train/loss", steps[lo:hi], values[lo:hi], ts[lo:hi])]
            )
        store.metrics.set_goals(big.id, {"train/loss": Goal.MIN}, "train/loss")
        log(f"{points:,} points in {time.perf_counter() - t0:.1f} s")
        return big.id
    finally:
        store.close()


def mark_s(page: object, name: str, timeout_ms: int = 30_000) -> float:
    """Seconds from navigation start to the app's performance mark `name`."""
    page.wait_for_function(  # type: ignore[attr-defined]
        f"performance.getEntriesByName({name!r}).length > 0", timeout=timeout_ms
    )
    ms = page.evaluate(f"performance.getEntriesByName({name!r})[0].startTime")  # type: ignore[attr-defined]
    return float(ms) / 1000


def bundle_kb() -> tuple[float, float]:
    files = [p for p in (STATIC / "assets").glob("*") if p.suffix in (".js", ".css")]
    files.append(STATIC / "index.html")
    raw = sum(p.stat().st_size for p in files)
    gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    return raw / 1024, gz / 1024


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args(argv)
    if not (STATIC / "index.html").is_file():
        log("the dashboard is not built: run `make web` first")
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="runyard-ui-bench-") as tmp:
        home = Path(tmp) / "home"
        big = fill(home, a.runs, a.points)
        port = free_port()
        env = {**os.environ, "RUNYARD_HOME": str(home)}
        env.pop("RUNYARD_DATABASE_URL", None)
        env.pop("RUNYARD_TOKEN", None)
        argv_server = [str(VENV_BIN / "runyard"), "server", "--port", str(port)]
        with (
            server(
                argv_server,
                port=port,
                health_path="/api/health",
                log=Path(tmp) / "server.log",
                cwd=ROOT,
                env=env,
            ) as srv,  # fmt: skip
            sync_playwright() as pw,
        ):
            srv.settle()
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            table_s, chart_s = [], []
            for i in range(a.reps + 1):  # the first visit warms the server's own caches
                for path, mark, out in (
                    ("/runs", "runs-interactive", table_s),
                    (f"/runs/{big}", "chart-painted", chart_s),
                ):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto(srv.url + path, wait_until="commit")
                    took = mark_s(page, mark)
                    if path == "/runs":
                        rows = page.locator('[role="row"][data-run-id]').count()
                        assert rows > 10, f"only {rows} rows rendered"
                    else:
                        pts = int(
                            page.locator("figure.chart").first.get_attribute("data-points") or 0
                        )
                        assert 0 < pts <= 5000, f"the chart holds {pts} points"
                    context.close()
                    if i:
                        out.append(took)
                    else:
                        log(f"first visit to {mark}: {took * 1000:.0f} ms")
            browser.close()
    raw, gz = bundle_kb()
    rows = [
        ["runs table interactive", f"{a.runs:,} runs", f"{median(table_s) * 1000:.0f} ms",
         f"{max(table_s) * 1000:.0f} ms", f"≤ {TARGET_TABLE_S * 1000:.0f} ms",
         "yes" if median(table_s) <= TARGET_TABLE_S else "NO"],
        ["first chart painted", f"{a.points:,} points", f"{median(chart_s) * 1000:.0f} ms",
         f"{max(chart_s) * 1000:.0f} ms", f"≤ {TARGET_CHART_S * 1000:.0f} ms",
         "yes" if median(chart_s) <= TARGET_CHART_S else "NO"],
        ["bundle (js+css+html)", f"{raw:.0f} kB raw", f"{gz:.0f} kB gzip", "",
         f"≤ {TARGET_BUNDLE_KB:.0f} kB", "yes" if gz <= TARGET_BUNDLE_KB else "NO"],
    ]  # fmt: skip
    print(f"\nrunyard dashboard in Chromium, median of {a.reps} cold page loads (navigation start"
          " → the app's performance mark)\n")  # fmt: skip
    print(table(["what", "data", "median", "max", "target", "met"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
