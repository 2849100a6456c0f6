#!/usr/bin/env python
"""The dashboard under load, in a real Chromium (Debian's /usr/bin/chromium, Playwright).

What it measures, against `runyard server` on SQLite in a temp home:
- runs table: with N runs in the store (default 10,000, inserted through the Store in this
  process), from navigation start to the table's first page rendered and interactive (the
  app's `runs-interactive` performance mark); a fresh browser context each time (cold cache);
- first chart: a run with one metric of P points (default 1,000,000, ingested through the
  Store), from navigation start to the first chart painted with data (`chart-painted` mark);
- the same runs table with three metric columns shown (val/loss, val/acc, train/loss, chosen
  as a user does: kept in localStorage) and sorted on the server by one of them;
- the gzipped size of the bundle (runyard/server/static/assets);
- the CSV export (`GET /api/runs.csv`, the runs table's "Download CSV") of C runs (default
  100,000, in a second store and server): MB/s, and the server's resident memory before and at
  its peak while the export streams (sampled every 10 ms; it must not hold the runs at once).
Targets from the issue: ≤ 1.0 s, ≤ 1.0 s, ≤ 0.5 s, ≤ 300 kB.

Run: `.venv/bin/python benchmarks/ui_bench.py [--runs N] [--points P] [--reps R]
[--csv-runs C]` (after `make web`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from _common import ROOT, VENV_BIN, Server, free_port, median, server, table

TARGET_TABLE_S = 1.0
METRIC_COLUMNS = ["metrics.val/loss", "metrics.val/acc", "metrics.train/loss"]
SORTED = "/runs?sort=metrics.val%2Floss&dir=asc"  # by the first of them, on the server
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
            store.metrics.ingest(run.id, _three_metrics(rng))
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


def _three_metrics(rng: object) -> list[object]:
    """val/loss, val/acc and train/loss at step 0: the columns the sorted table shows."""
    import numpy as np

    from runyard.store.metrics import Series

    now = np.array([time.time()])
    draw = rng.uniform  # type: ignore[attr-defined]
    return [
        Series("val/loss", np.array([0]), np.array([draw(0.1, 2)]), now),
        Series("val/acc", np.array([0]), np.array([draw(0.5, 1)]), now),
        Series("train/loss", np.array([0]), np.array([draw(0.05, 2)]), now),
    ]


def fill_many(home: Path, runs: int, base: int = 1000) -> None:
    """C runs with params, tags and three metrics, for the CSV export: ``base`` of them made
    through the Store, the rest copies of those rows (runs, tags, metric summaries) under new
    ids, written in large batches: making 100,000 runs one by one would take most of an hour."""
    import numpy as np
    import sqlalchemy as sa

    from runyard.config import Settings
    from runyard.store import Store
    from runyard.store.tables import metric_summaries, run_tags
    from runyard.store.tables import runs as runs_table

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        t0 = time.perf_counter()
        rng = np.random.default_rng(1)
        ids = []
        for i in range(min(base, runs)):
            run = store.runs.create(
                experiment=f"exp-{i % 20}",
                params={"lr": float(10 ** rng.uniform(-4, -1)), "batch": int(2 ** (4 + i % 4))},
                tags=["bench", f"group-{i % 7}"],
            )
            store.metrics.ingest(run.id, _three_metrics(rng))  # type: ignore[arg-type]
            ids.append(run.id)
        engine = sa.create_engine(settings.db_url)
        with engine.begin() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(runs_table))]
            tags = [dict(r._mapping) for r in conn.execute(sa.select(run_tags))]
            sums = [dict(r._mapping) for r in conn.execute(sa.select(metric_summaries))]
            made = len(rows)
            copy = 0
            while made < runs:
                copy += 1
                n = min(len(rows), runs - made)
                new = {r["id"]: f"{r['id'][:24]}-{copy:06d}" for r in rows[:n]}
                conn.execute(runs_table.insert(), [
                    {**r, "id": new[r["id"]], "name": f"{r['name']}-{copy}",
                     "created_at": r["created_at"] + copy * 1e-3} for r in rows[:n]
                ])  # fmt: skip
                for table, items in ((run_tags, tags), (metric_summaries, sums)):
                    copies = [
                        {**x, "run_id": new[x["run_id"]]} for x in items if x["run_id"] in new
                    ]
                    conn.execute(table.insert(), copies)
                made += n
        engine.dispose()
        log(f"{runs:,} runs in {time.perf_counter() - t0:.1f} s")
    finally:
        store.close()


def csv_export(srv: Server, runs: int) -> tuple[float, float, int, int, int]:
    """Seconds, bytes, rows, RSS before and peak RSS (bytes) of one full CSV export."""
    import httpx

    columns = ["id", "name", "experiment", "status", "created_at", "ended_at", "tags", "best"]
    columns += ["params.lr", "params.batch", *METRIC_COLUMNS]
    before = srv.memory().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], srv.memory().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = lines = 0
    t0 = time.perf_counter()
    try:
        with (
            httpx.Client(timeout=600) as http,
            http.stream(
                "GET", srv.url + "/api/runs.csv", params={"columns": ",".join(columns)}
            ) as r,
        ):
            r.raise_for_status()
            for chunk in r.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        took = time.perf_counter() - t0
        done.set()
        sampler.join()
    assert lines == runs + 1, f"the CSV holds {lines - 1} runs, not {runs}"
    return took, size, lines - 1, before, peak[0]


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
    p.add_argument("--csv-runs", type=int, default=100_000)
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
            table_s, sorted_s, chart_s = [], [], []
            chosen = json.dumps(json.dumps(METRIC_COLUMNS))
            columns = f"localStorage.setItem('runyard.columns.*', {chosen})"
            for i in range(a.reps + 1):  # the first visit warms the server's own caches
                for path, mark, out in (
                    ("/runs", "runs-interactive", table_s),
                    (SORTED, "runs-interactive", sorted_s),
                    (f"/runs/{big}", "chart-painted", chart_s),
                ):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    if path == SORTED:
                        context.add_init_script(columns)
                    page = context.new_page()
                    page.goto(srv.url + path, wait_until="commit")
                    took = mark_s(page, mark)
                    if mark == "runs-interactive":
                        rows = page.locator('[role="row"][data-run-id]').count()
                        assert rows > 10, f"only {rows} rows rendered"
                    if path == SORTED:
                        shown = page.locator(".vhead .c-extra").count()
                        assert shown == 3, f"{shown} metric columns shown"
                        cells = page.locator('[data-run-id] [data-col="metrics.val/loss"]')
                        top = [float(c) for c in cells.all_inner_texts()[:5]]
                        assert top == sorted(top), f"not sorted by val/loss: {top}"
                    elif mark == "chart-painted":
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
    csv = None
    if a.csv_runs:
        with tempfile.TemporaryDirectory(prefix="runyard-csv-bench-") as tmp:
            home = Path(tmp) / "home"
            fill_many(home, a.csv_runs)
            port = free_port()
            env = {**os.environ, "RUNYARD_HOME": str(home)}
            env.pop("RUNYARD_DATABASE_URL", None)
            env.pop("RUNYARD_TOKEN", None)
            argv_server = [str(VENV_BIN / "runyard"), "server", "--port", str(port)]
            log_path = Path(tmp) / "server.log"
            with server(
                argv_server, port=port, health_path="/api/health", log=log_path, cwd=ROOT, env=env
            ) as srv:
                srv.settle()
                csv = csv_export(srv, a.csv_runs)
    raw, gz = bundle_kb()
    rows = [
        ["runs table interactive", f"{a.runs:,} runs", f"{median(table_s) * 1000:.0f} ms",
         f"{max(table_s) * 1000:.0f} ms", f"≤ {TARGET_TABLE_S * 1000:.0f} ms",
         "yes" if median(table_s) <= TARGET_TABLE_S else "NO"],
        ["runs table, 3 metric columns, sorted by one", f"{a.runs:,} runs",
         f"{median(sorted_s) * 1000:.0f} ms", f"{max(sorted_s) * 1000:.0f} ms",
         f"≤ {TARGET_TABLE_S * 1000:.0f} ms",
         "yes" if median(sorted_s) <= TARGET_TABLE_S else "NO"],
        ["first chart painted", f"{a.points:,} points", f"{median(chart_s) * 1000:.0f} ms",
         f"{max(chart_s) * 1000:.0f} ms", f"≤ {TARGET_CHART_S * 1000:.0f} ms",
         "yes" if median(chart_s) <= TARGET_CHART_S else "NO"],
        ["bundle (js+css+html)", f"{raw:.0f} kB raw", f"{gz:.0f} kB gzip", "",
         f"≤ {TARGET_BUNDLE_KB:.0f} kB", "yes" if gz <= TARGET_BUNDLE_KB else "NO"],
    ]  # fmt: skip
    print(f"\nrunyard dashboard in Chromium, median of {a.reps} cold page loads (navigation start"
          " → the app's performance mark)\n")  # fmt: skip
    print(table(["what", "data", "median", "max", "target", "met"], rows))
    if csv is not None:
        took, size, n, before, peak = csv
        mb = 1024 * 1024
        print(f"\nCSV export of {n:,} runs with {5 + 8} columns (GET /api/runs.csv, one read):\n")
        print(table(
            ["what", "size", "time", "MB/s", "server RSS before", "peak RSS during"],
            [["runs.csv", f"{size / mb:.1f} MB", f"{took:.1f} s", f"{size / mb / took:.1f}",
              f"{before / mb:.0f} MB", f"{peak / mb:.0f} MB (+{(peak - before) / mb:.0f})"]],
        ))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
