"""`runyard rm`, `runyard restore` and `runyard archive`: the trash and archived experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from runyard.cli._client import client


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def rm(
    run_ids: Annotated[list[str], typer.Argument(help="Ended runs to delete.", metavar="RUN...")],
) -> None:
    """Move ended runs to the trash: hidden everywhere, restorable until `runyard gc` empties
    the trash (RUNYARD_TRASH_DAYS after deletion). A queued or running run is refused."""
    api = client()
    for run_id in run_ids:
        gone = api.request("DELETE", f"/api/runs/{run_id}")
        typer.echo(
            f"{run_id} ({gone['name']}) moved to the trash; "
            f"`runyard restore {run_id}` brings it back until {_day(gone['purge_after'])}"
        )


def restore(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="Runs to bring back.", metavar="[RUN...]")
    ] = None,
) -> None:
    """Bring deleted runs back from the trash; without a run, list what the trash holds."""
    api = client()
    if not run_ids:
        trashed = api.get("/api/trash")["runs"]
        if not trashed:
            typer.echo("the trash is empty")
        for run in trashed:
            typer.echo(
                f"{run['id']}  {run['name']}  ({run['experiment']}, {run['status']})  "
                f"deleted {_day(run['deleted_at'])}, purged after {_day(run['purge_after'])}"
            )
        return
    for run_id in run_ids:
        run = api.request("POST", f"/api/runs/{run_id}/restore")
        typer.echo(f"{run_id} ({run['name']}) restored")


def archive(
    experiment: Annotated[str, typer.Argument(help="The experiment's name or id.")],
    undo: Annotated[bool, typer.Option("--undo", help="Unarchive: show it again.")] = False,
) -> None:
    """Archive an experiment: it and its runs leave the lists; nothing is deleted."""
    exp = client().request("PATCH", f"/api/experiments/{experiment}", json={"archived": not undo})
    typer.echo(f"experiment {exp['name']} {'unarchived' if undo else 'archived'}")
