"""`runyard export state.json`: the whole dashboard state as one JSON document; with
--metrics RUN or --runs-csv, CSV for spreadsheets."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer

from runyard.cli._client import client, fail

TIMEOUT = httpx.Timeout(30.0, read=600.0)  # a big state takes a while to gather


def export(
    path: Annotated[
        str, typer.Argument(help="The file to write (replaced whole or not at all); - for stdout.")
    ],
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            metavar="RUN",
            help="Write RUN's full metric series as CSV (key,step,value,timestamp) instead.",
        ),
    ] = None,
    runs_csv: Annotated[
        bool,
        typer.Option("--runs-csv", help="Write the runs table as CSV instead (see --filter)."),
    ] = False,
    filter: Annotated[
        str | None, typer.Option("--filter", "-f", help="With --runs-csv: as `runyard ls -f`.")
    ] = None,
) -> None:
    """Export experiments, runs, summaries, progress, attempts, checkpoints, artifact records
    and checklists (schema: docs/export.schema.json); or, as CSV, one run's metric series
    (--metrics RUN) or the runs table (--runs-csv). Everything streams to the file."""
    api = client()
    source, params = "/api/export", {}
    if metrics is not None and runs_csv:
        fail("--metrics and --runs-csv are two exports: choose one", 2)
    if metrics is not None:
        source = f"/api/runs/{metrics}/metrics.csv"
    elif runs_csv:
        source, params = "/api/runs.csv", ({"filter": filter} if filter else {})
    if path == "-":
        with api.stream("GET", source, params=params, timeout=TIMEOUT) as response:
            for chunk in response.iter_bytes():
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.is_dir():
        fail(f"{path} is a directory: name the file to write", 2)
    if not target.parent.is_dir():
        fail(f"no directory {str(target.parent)!r} to write {target.name} in", 2)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with (
            api.stream("GET", source, params=params, timeout=TIMEOUT) as response,
            tmp.open("wb") as f,
        ):
            for chunk in response.iter_bytes():
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    typer.echo(f"wrote {path} ({target.stat().st_size:,} bytes)")
