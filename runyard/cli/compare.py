"""`runyard compare A B C`: config diff and final metrics side by side, as Rich tables."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from runyard.cli._client import client, fail, print_json

MIN_RUNS, MAX_RUNS = 2, 10
BEST = "★"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _cell(row: dict[str, Any], run_id: str) -> str:
    why = row.get("missing", {}).get(run_id)
    return f"[dim]— ({why})[/]" if why else _value(row["values"][run_id])


def _delta(delta: float | None) -> str:
    return "" if delta is None else f" ({delta:+.3g})"


def _config_table(out: dict[str, Any], ids: list[str]) -> Table:
    table = Table(title="config", title_justify="left", header_style="bold")
    table.add_column("", width=1)
    table.add_column("key")
    for run in out["runs"]:
        table.add_column(f"{run['name']}\n[dim]{run['id']}[/]", overflow="fold")
    for row in out["config"]:
        table.add_row(
            "≠" if row["differs"] else "",
            row["key"],
            *(_cell(row, i) for i in ids),
            style="yellow" if row["differs"] else None,
        )
    return table


def _metrics_table(out: dict[str, Any], ids: list[str]) -> Table:
    baseline = out["baseline"]
    title = "final metrics" + (f" (deltas to {baseline})" if baseline else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("key")
    table.add_column("goal")
    for run in out["runs"]:
        mark = " (baseline)" if run["id"] == baseline else ""
        table.add_column(f"{run['name']}{mark}\n[dim]{run['id']}[/]", justify="right")
    for row in out["metrics"]:
        cells = []
        for run_id in ids:
            text = _cell(row, run_id)
            if run_id != baseline:
                text += _delta(row["deltas"][run_id])
            if run_id == row["best_run_id"]:
                text = f"[bold green]{BEST} {text}[/]"
            cells.append(text)
        table.add_row(row["key"], row["goal"] or "-", *cells)
    return table


def compare(
    run_ids: Annotated[list[str], typer.Argument(help="2 to 10 run ids.", show_default=False)],
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", "-b", help="Show each run's deltas to this one."),
    ] = None,
    diff_only: Annotated[
        bool, typer.Option("--diff-only", help="Only the config keys that differ.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Compare runs: where their configs differ and their final metrics (★ the best)."""
    if not MIN_RUNS <= len(run_ids) <= MAX_RUNS:
        fail(f"compare takes {MIN_RUNS} to {MAX_RUNS} run ids, not {len(run_ids)}", 2)
    if len(set(run_ids)) != len(run_ids):
        fail("a run id is named twice", 2)
    if baseline is not None and baseline not in run_ids:
        fail(f"--baseline {baseline} is not one of the compared runs", 2)
    body = {"run_ids": run_ids, "baseline": baseline, "diff_only": diff_only}
    out = client().request("POST", "/api/compare", json=body)
    if as_json:
        print_json(out)
        return
    console = Console()
    if out["config"]:
        console.print(_config_table(out, run_ids))
    else:
        console.print("no config differs" if diff_only else "no config keys")
    if out["metrics"]:
        console.print(_metrics_table(out, run_ids))
    else:
        console.print("no metrics logged")
