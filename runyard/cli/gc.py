"""`runyard gc`: list (and with --yes remove) what is not worth keeping on this machine."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from runyard.config import Settings


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
) -> None:
    """Deleted runs whose RUNYARD_TRASH_DAYS in the trash are up, dead run dirs (failed or
    cancelled for good, no checkpoint, < 1 KB of outputs) and, with --keep-last, surplus
    checkpoints. Works on RUNYARD_HOME / RUNYARD_DATABASE_URL."""
    from runyard.runner import gc as cleaner
    from runyard.store import Store

    settings = Settings()
    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        found = cleaner.expired_trash(store, settings.trash_days)
        found += cleaner.dead_run_dirs(store)
        if keep_last is not None:
            found += cleaner.surplus_checkpoints(store, keep_last)
        console = Console()
        if not found:
            console.print("nothing to clean")
            return
        table = Table(header_style="bold")
        for col in ("run", "what", "why", "size"):
            table.add_column(col)
        for item in found:
            table.add_row(item.run_id, str(item.path), item.why, f"{item.bytes:,} B")
        console.print(table)
        total = sum(i.bytes for i in found)
        if yes:
            cleaner.remove(store, found)
            console.print(f"removed {len(found)} item(s), {total:,} bytes")
        else:
            console.print(f"{len(found)} item(s), {total:,} bytes: run again with --yes to remove")
    finally:
        store.close()
