"""The `runyard` command: Typer app, one module per command group."""

from __future__ import annotations

import typer

from runyard import __version__
from runyard.cli import (
    compare,
    dataset,
    db,
    demo,
    evaluate,
    export,
    gc,
    jobs,
    mlflow_import,
    runs,
    server,
    sweep,
    sync,
    system,
    trash,
    watch,
)

app = typer.Typer(
    name="runyard",
    help="Run, track and see machine-learning training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(server.server)
app.command()(runs.ls)
app.command()(runs.show)
app.command()(jobs.submit)
app.command()(jobs.logs)
app.command()(jobs.cancel)
app.command()(jobs.retry)
app.command()(jobs.check)
app.command()(watch.watch)
app.command()(compare.compare)
app.command()(export.export)
app.command()(gc.gc)
app.command()(sync.sync)
app.command()(demo.demo)
app.command()(system.system)
app.command("eval", help=evaluate.EVAL_HELP)(evaluate.evaluate)
app.command()(trash.rm)
app.command()(trash.restore)
app.command()(trash.archive)
app.add_typer(db.app, name="db")
app.add_typer(dataset.app, name="dataset")
app.add_typer(sweep.app, name="sweep")
app.add_typer(mlflow_import.app, name="import")


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    pass


def main() -> None:
    app()
