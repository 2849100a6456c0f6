"""`runyard ls` and `runyard show`: runs as Rich tables, or JSON for scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runyard.cli._client import client, print_json

STATUS_STYLE = {
    "queued": "cyan",
    "starting": "cyan",
    "running": "blue",
    "retrying": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "pruned": "dark_orange",
}


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _progress(run: dict[str, Any]) -> str:
    p = run["progress"]
    if p["percent"] is None:
        return "-"
    text = f"{p['percent']:.0f}%"
    if run["early_stopped"]:
        text += f" (early stop @ {run['stopped_at_epoch']})"
    return text


def ls(
    experiment: Annotated[str | None, typer.Option("--experiment", "-e")] = None,
    status: Annotated[str | None, typer.Option(help="Status, or several comma-separated.")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. 'metrics.val/loss < 0.5'")
    ] = None,
    order_by: Annotated[str | None, typer.Option("--order-by", "-o")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List runs, newest first."""
    page = client().get(
        "/api/runs",
        experiment=experiment,
        status=status,
        tag=tag,
        filter=filter,
        order_by=order_by,
        limit=limit,
    )
    if as_json:
        print_json(page)
        return
    table = Table(title=None, header_style="bold")
    for col in ("id", "name", "experiment", "status", "progress", "created", "metrics"):
        table.add_column(col, no_wrap=col == "id", overflow="fold")
    for run in page["runs"]:
        # system/* (CPU, memory of the job's processes) after what the training logged
        shown = sorted(run["metrics"].items(), key=lambda kv: kv[0].startswith("system/"))
        metrics = ", ".join(f"{k}={_num(v)}" for k, v in shown[:3])
        table.add_row(
            run["id"],
            run["name"],
            run["experiment"],
            f"[{STATUS_STYLE.get(run['status'], '')}]{run['status']}[/]",
            _progress(run),
            _when(run["created_at"]),
            metrics or "-",
        )
    console = Console()
    if not page["runs"]:
        console.print("no runs match")
        return
    console.print(table)
    if page["next_cursor"]:
        console.print(f"[dim]showing the first {len(page['runs'])}; raise --limit for more[/]")


def show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show one run: status, progress, params and the last value of each metric."""
    run = client().get(f"/api/runs/{run_id}")
    if as_json:
        print_json(run)
        return
    console = Console()
    style = STATUS_STYLE.get(run["status"], "")
    console.print(f"[bold]{run['name']}[/] ({run['id']})  [{style}]{run['status']}[/]")
    rows = [
        ("experiment", run["experiment"]),
        ("progress", _progress(run)),
        ("attempts", str(run["attempt_count"])),
        ("created", _when(run["created_at"])),
        ("started", _when(run["started_at"])),
        ("ended", _when(run["ended_at"])),
        ("tags", ", ".join(run["tags"]) or "-"),
        ("run dir", run["run_dir"]),
    ]
    if run.get("reason"):
        rows.append(("reason", run["reason"]))
    if run["notes"]:
        rows.append(("notes", run["notes"]))
    info = Table.grid(padding=(0, 2))
    for k, v in rows:
        info.add_row(f"[dim]{k}[/]", v)
    console.print(info)
    _show_environment(console, run.get("environment"))
    for title, data in (("params", run["params"]), ("metrics (last)", run["metrics"])):
        if data:
            table = Table(title=title, title_justify="left", header_style="bold")
            table.add_column("key")
            table.add_column("value", justify="right")
            for k, v in data.items():
                table.add_row(k, _num(v))
            console.print(table)


def _show_environment(console: Console, environment: dict[str, Any] | None) -> None:
    """A job's executable, working directory and environment (secrets masked by the server)."""
    if not environment:
        return
    table = Table(title="environment", title_justify="left", header_style="bold")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("from")
    table.add_row("executable", environment.get("executable") or "-", "PATH lookup")
    table.add_row("cwd", environment.get("cwd") or "-", "")
    for origin in ("captured", "added"):
        for k, v in (environment.get(origin) or {}).items():
            table.add_row(k, v, "your shell" if origin == "captured" else "--env")
    if environment.get("clean"):
        table.caption = "--clean-env: nothing was taken from the submitter's shell"
    console.print(table)
