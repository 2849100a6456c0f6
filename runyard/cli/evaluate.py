"""`runyard eval RUN -- CMD…` (evaluate a checkpoint of RUN) and `runyard eval show RUN`."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runyard.cli._client import client, fail, print_json

EVAL_HELP = (
    "Evaluate a run: `runyard eval show RUN` prints its evaluation report; "
    "`runyard eval RUN [--checkpoint best|last|NAME] [--split test] -- CMD…` submits an "
    "evaluation job of a checkpoint (RUNYARD_CHECKPOINT, RUNYARD_EVALUATES set)."
)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _print_split(console: Console, name: str, rep: dict[str, Any]) -> None:
    source = f"  [dim](from run {rep['source_run']})[/]" if rep.get("source_run") else ""
    console.print(f"[bold]{name}[/]  {rep['kind']}, n={rep['n']}{source}")
    cards = Table.grid(padding=(0, 2))
    for key, value in rep["metrics"].items():
        cards.add_row(f"[dim]{key}[/]", _num(value))
    if rep.get("threshold") is not None:
        cards.add_row("[dim]threshold[/]", f"{rep['threshold']:.4g} ({rep['threshold_rule']})")
    console.print(cards)
    if rep["kind"] != "segmentation":
        cm = Table(title="confusion matrix (rows: truth)", title_justify="left")
        cm.add_column("")
        for c in rep["classes"]:
            cm.add_column(c, justify="right")
        for c, row in zip(rep["classes"], rep["confusion_matrix"], strict=True):
            cm.add_row(c, *(str(v) for v in row))
        console.print(cm)
    per = Table(title="per class", title_justify="left", header_style="bold")
    keys = [k for k in rep["per_class"][0] if k != "class"] if rep["per_class"] else []
    per.add_column("class")
    for k in keys:
        per.add_column(k, justify="right")
    for row in rep["per_class"]:
        per.add_row(row["class"], *(_num(row[k]) for k in keys))
    console.print(per)
    worst = ", ".join(w["id"] for w in rep["worst"][:10])
    console.print(f"[dim]worst scored:[/] {worst}")
    for note in rep["notes"]:
        console.print(f"[yellow]note:[/] {note}")


def show_report(run_id: str, as_json: bool) -> None:
    out = client().get(f"/api/runs/{run_id}/evaluation")
    if as_json:
        print_json(out)
        return
    console = Console()
    if not out["splits"]:
        console.print(f"run {run_id} has no logged predictions (run.log_predictions)")
        return
    for name, rep in out["splits"].items():
        _print_split(console, name, rep)


def evaluate(
    words: Annotated[list[str], typer.Argument(help="show RUN, or RUN -- CMD…")],
    checkpoint: Annotated[
        str, typer.Option(help="best (by the primary metric), last, or a checkpoint's name")
    ] = "best",
    split: Annotated[str, typer.Option(help="the split the command evaluates")] = "test",
    name: Annotated[str | None, typer.Option(help="the evaluation run's name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    if words and words[0] == "show":
        if len(words) != 2:
            fail("usage: runyard eval show RUN", 2)
        show_report(words[1], as_json)
        return
    if len(words) < 2:
        fail("usage: runyard eval RUN [--checkpoint best|last|NAME] -- CMD…", 2)
    keep = ("PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")  # as `runyard submit` does
    env = {k: os.environ[k] for k in keep if os.environ.get(k)}
    body = {
        "checkpoint": checkpoint,
        "split": split,
        "command": words[1:],
        "name": name,
        "cwd": os.getcwd(),
        "env": env,
    }
    run = client().request("POST", f"/api/runs/{words[0]}/evaluations", json=body)
    if as_json:
        print_json(run)
        return
    typer.echo(f"{run['id']}  evaluates {words[0]} ({run['params'].get('checkpoint', '')})")
