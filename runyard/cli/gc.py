"""`runyard gc`: list (and with --yes remove) what is not worth keeping: through the server
when one answers (it cleans the store the dashboard shows), else in the local store."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runyard.cli._client import client, server_answers
from runyard.config import Settings


def _local(yes: bool, keep_last: int | None, settings: Settings) -> list[dict[str, Any]]:
    from runyard.runner import gc as cleaner
    from runyard.store import Store

    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        found = cleaner.expired_trash(store, settings.trash_days)
        found += cleaner.dead_run_dirs(store)
        if keep_last is not None:
            found += cleaner.surplus_checkpoints(store, keep_last)
        if yes:
            cleaner.remove(store, found)
        return [
            {"run_id": f.run_id, "path": str(f.path), "why": f.why, "bytes": f.bytes} for f in found
        ]
    finally:
        store.close()


def gc(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Remove; without it, only list.")
    ] = False,
    keep_last: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Also keep only the last N checkpoints of each ended run "
            "(and its best by the primary metric).",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Clean this machine's store even if a server answers."),
    ] = False,
) -> None:
    """Deleted runs whose RUNYARD_TRASH_DAYS in the trash are up, dead run dirs (failed or
    cancelled for good, no checkpoint, < 1 KB of outputs) and, with --keep-last, surplus
    checkpoints. Through the server at RUNYARD_URL when one answers, else on RUNYARD_HOME /
    RUNYARD_DATABASE_URL; says which store it used."""
    settings = Settings()
    if not local and server_answers(settings):
        typer.echo(f"runyard: using the server at {settings.url}", err=True)
        api = client()
        if yes:
            body = {"keep_last": keep_last}
            items: list[dict[str, Any]] = api.request("POST", "/api/gc", json=body)["items"]
        else:
            items = api.get("/api/gc", keep_last=keep_last)["items"]
    else:
        why = "" if local else " (no server answered)"
        typer.echo(f"runyard: using the local store in {settings.home}{why}", err=True)
        items = _local(yes, keep_last, settings)
    console = Console()
    if not items:
        console.print("nothing to clean")
        return
    table = Table(header_style="bold")
    for col in ("run", "what", "why", "size"):
        table.add_column(col)
    for item in items:
        table.add_row(item["run_id"], item["path"], item["why"], f"{item['bytes']:,} B")
    console.print(table)
    total = sum(i["bytes"] for i in items)
    if yes:
        console.print(f"removed {len(items)} item(s), {total:,} bytes")
    else:
        console.print(f"{len(items)} item(s), {total:,} bytes: run again with --yes to remove")
