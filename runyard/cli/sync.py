"""`runyard sync`: deliver what the SDK spooled but could not send (offline runs, outages).

It replays each run's spool with the code the SDK's own sender uses, so a run that is synced
twice, or that was partly delivered before, ends up the same on the server.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from runyard.config import Settings
from runyard.sdk._replay import make_client, pending_bytes, replay_run
from runyard.sdk._spool import SPOOL_DIR

OFFLINE_DIR = Path("runyard-offline")


def _run_dirs(paths: list[Path]) -> list[Path]:
    """Each PATH is a run dir (it holds spool/) or a folder of run dirs."""
    found: list[Path] = []
    for path in paths:
        if (path / SPOOL_DIR).is_dir():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if (p / SPOOL_DIR).is_dir()))
    return list(dict.fromkeys(found))


def sync(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Run dirs, or folders of run dirs (default: ./runyard-offline)."),
    ] = None,
) -> None:
    """Send the runs recorded offline (or left undelivered) to the server at RUNYARD_URL."""
    settings = Settings()
    run_dirs = _run_dirs(paths or [OFFLINE_DIR])
    console = Console()
    if not run_dirs:
        console.print("nothing to sync")
        return
    failed = 0
    with (
        make_client(settings.url, settings.token_value) as http,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar,
    ):
        for run_dir in run_dirs:
            task = bar.add_task(run_dir.name, total=pending_bytes(run_dir))
            report = replay_run(run_dir, http, on_record=partial(bar.advance, task))
            bar.remove_task(task)
            name = report.run_id or run_dir.name
            if report.error:
                failed += 1
                bar.console.print(f"[red]{name}: not delivered[/] ({report.error})")
                continue
            sent = f"{report.delivered} ops delivered"
            if report.dropped:
                sent += f", {report.dropped} refused by the server (see the warnings)"
            bar.console.print(
                f"[green]{name}[/]: {sent}" if report.delivered else f"{name}: up to date"
            )
    if failed:
        raise typer.Exit(1)
