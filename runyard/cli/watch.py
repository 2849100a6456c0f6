"""`runyard watch`: a live table of queued and running runs with progress bars and ETA."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from runyard.cli._client import Client, client
from runyard.cli.runs import STATUS_STYLE

ACTIVE = "queued,starting,running,retrying"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def render(api: Client, experiment: str | None) -> Group:
    runs: list[dict[str, Any]] = api.get(
        "/api/runs", status=ACTIVE, experiment=experiment, order_by="created_at", limit=200
    )["runs"]
    table = Table(header_style="bold", expand=True)
    for col in ("id", "name", "status", "progress", "", "epoch", "ETA", "attempt"):
        table.add_column(col, no_wrap=True)
    for run in runs:
        progress = (
            api.get(f"/api/runs/{run['id']}/progress") if run["status"] == "running" else None
        )
        percent = (progress or {}).get("percent") or 0.0
        epoch = (progress or {}).get("epoch")
        total = (progress or {}).get("total_epochs")
        table.add_row(
            run["id"],
            run["name"],
            f"[{STATUS_STYLE.get(run['status'], '')}]{run['status']}[/]",
            ProgressBar(total=100, completed=percent, width=24),
            f"{percent:.0f}%",
            f"{epoch}/{total}" if epoch is not None and total else "-",
            _eta((progress or {}).get("eta_s")),
            str(run["attempt_count"]),
        )
    counts = {s: sum(r["status"] == s for r in runs) for s in ACTIVE.split(",")}
    caption = "  ".join(f"{k}: {v}" for k, v in counts.items())
    if not runs:
        caption = "nothing queued or running"
    table.caption = caption
    return Group(table)


def watch(
    experiment: Annotated[str | None, typer.Option("--experiment", "-e")] = None,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    once: Annotated[bool, typer.Option(help="Print the table once and exit.")] = False,
) -> None:
    """Watch queued and running runs live (Ctrl-C to leave)."""
    api = client()
    if once:
        from rich.console import Console

        Console().print(render(api, experiment))
        return
    try:
        with Live(render(api, experiment), refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(render(api, experiment))
    except KeyboardInterrupt:
        pass
