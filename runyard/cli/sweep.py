"""`runyard sweep create | ls | show | stop`: hyperparameter search through the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from runyard.cli._client import client, fail, print_json
from runyard.cli.runs import STATUS_STYLE

app = typer.Typer(help="Sweeps: hyperparameter search over ordinary runs.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
# What a trial needs of the submitter's environment to find the same programs (design.md §6).
CAPTURED_ENV = ("PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")


def _read(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        fail("reading sweep.yaml needs PyYAML: pip install 'runyard[sweeps]'", code=2)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", code=2)
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML: {str(exc).splitlines()[0]}", code=2)
    if not isinstance(doc, dict):
        fail(f"{path} must hold a mapping (name, objective, space, …)", code=2)
    return doc


def create(
    command: Annotated[
        list[str], typer.Argument(help="The trial command with {param} placeholders, after --.")
    ],
    file: Annotated[Path, typer.Option("--file", "-f", help="The sweep file (YAML).")],
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="(default: the name)")
    ] = None,
    max_retries: Annotated[int, typer.Option(min=0, help="Retries of a failed trial.")] = 3,
    cpus: Annotated[int, typer.Option(min=1)] = 1,
    gpus: Annotated[int, typer.Option(min=0)] = 0,
    grace: Annotated[float, typer.Option(min=0, help="Seconds from SIGTERM to SIGKILL.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Start a sweep: runyard sweep create -f sweep.yaml -- python train.py --lr {lr}"""
    body = {
        **_read(file),
        "command": command,
        "cwd": os.getcwd(),
        "env": {k: os.environ[k] for k in CAPTURED_ENV if k in os.environ},
        "max_retries": max_retries,
        "cpus": cpus,
        "gpus": gpus,
        "grace_s": grace,
    }
    if experiment:
        body["experiment"] = experiment
    sweep = client().request("POST", "/api/sweeps", json=body)
    if as_json:
        print_json(sweep)
        return
    typer.echo(sweep["id"])


def ls(as_json: JsonOpt = False) -> None:
    """List sweeps, newest first."""
    sweeps = client().get("/api/sweeps")["sweeps"]
    if as_json:
        print_json(sweeps)
        return
    table = Table("id", "name", "status", "objective", "trials", "pruned", "best", box=None)
    for s in sweeps:
        trials = sum(s["counts"].values())
        best = s["best"]
        table.add_row(
            s["id"],
            s["name"],
            _status(s["status"]),
            s["objective"],
            f"{trials}/{s['max_trials']}",
            str(s["counts"].get("pruned", 0)),
            "-" if best is None else f"{_num(best['value'])} (trial {best['trial']})",
        )
    Console().print(table)


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "-" if value is None else str(value)


def _status(status: str) -> str:
    style = STATUS_STYLE.get(status, {"stopped": "magenta"}.get(status, ""))
    return f"[{style}]{status}[/]" if style else status


def show(sweep_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """A sweep and its trials: parameters, objective, status (pruned included), steps run."""
    sweep = client().get(f"/api/sweeps/{sweep_id}")
    if as_json:
        print_json(sweep)
        return
    console = Console()
    best = sweep["best"]
    console.print(
        f"[bold]{sweep['name']}[/] {sweep['id']}  {_status(sweep['status'])}  "
        f"{sweep['objective']}  sampler={sweep['sampler']} pruner={sweep['pruner']}  "
        f"parallel={sweep['parallel']} max_trials={sweep['max_trials']}"
    )
    if sweep["message"]:
        console.print(f"  {sweep['message']}", style="red" if sweep["status"] == "failed" else "")
    names = list(sweep["space"])
    table = Table("trial", "run", "status", *names, "objective", "step", box=None)
    best_id = best["run_id"] if best else None
    for t in sweep["trials"]:
        mark = " ★" if t["run_id"] == best_id else ""
        table.add_row(
            f"{t['trial']}{mark}",
            t["run_id"],
            _status(t["status"]),
            *(_num(t["params"].get(n)) for n in names),
            _num(t["value"]),
            _num(t["step"]),
        )
    console.print(table)
    if best:
        console.print(f"best: trial {best['trial']} (run {best['run_id']}) = {_num(best['value'])}")


def stop(sweep_id: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Stop a sweep: no new trials, the running ones cancelled."""
    sweep = client().request("POST", f"/api/sweeps/{sweep_id}/stop")
    if as_json:
        print_json(sweep)
        return
    typer.echo(f"stopped {sweep['id']}")


app.command()(create)
app.command()(ls)
app.command()(show)
app.command()(stop)
