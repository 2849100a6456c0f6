"""`runyard submit | logs | cancel | retry | check`: jobs from the command line."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from runyard.capture.checkpoints import check_glob
from runyard.capture.patterns import compile_patterns
from runyard.cli._client import client, fail, print_json
from runyard.cli._submitter import resolve_executable, submitter_env
from runyard.errors import RunyardError


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{what} {item!r} must look like KEY=VALUE", code=2)
        out[key] = value
    return out


def _goals(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, goal = item.rpartition(":")
        if not sep or not key or goal not in ("min", "max"):
            fail(f"--goal {item!r} must look like KEY:min or KEY:max", code=2)
        out[key] = goal
    return out


def _json_or_text(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def submit(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments, after --.")],
    name: Annotated[str | None, typer.Option(help="The run's name (default: generated).")] = None,
    experiment: Annotated[str, typer.Option("--experiment", "-e")] = "default",
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Repeatable.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="KEY=VALUE into the config; repeatable."),
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE for the job; repeatable.")
    ] = None,
    expect: Annotated[
        list[str] | None, typer.Option(help="NAME=GLOB expected in the run dir; repeatable.")
    ] = None,
    gpus: Annotated[int, typer.Option(min=0)] = 0,
    cpus: Annotated[int, typer.Option(min=1)] = 1,
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
    max_retries: Annotated[int, typer.Option(min=0)] = 3,
    retry_delay: Annotated[float, typer.Option(min=0, help="Seconds before the first retry.")] = 60,
    timeout: Annotated[float | None, typer.Option(min=0, help="Seconds per attempt.")] = None,
    grace: Annotated[float, typer.Option(min=0, help="Seconds from SIGTERM to SIGKILL.")] = 10,
    depends_on: Annotated[list[str] | None, typer.Option(help="Run id; repeatable.")] = None,
    cwd: Annotated[str | None, typer.Option(help="(default: the current directory)")] = None,
    shell: Annotated[bool, typer.Option(help="Run the command through /bin/sh -c.")] = False,
    clean_env: Annotated[
        bool,
        typer.Option(help="Do not pass this shell's PATH, VIRTUAL_ENV, CONDA_PREFIX, PYTHONPATH."),
    ] = False,
    env_file: Annotated[
        Path | None, typer.Option(help="KEY=VALUE lines (# comments, `export` allowed).")
    ] = None,
    metrics_pattern: Annotated[
        list[str] | None,
        typer.Option(
            help="Regex turning log lines into metrics (named groups step, epoch, metrics), "
            "or the preset 'key=value' or 'key: value'; repeatable."
        ),
    ] = None,
    goal: Annotated[
        list[str] | None, typer.Option(help="KEY:min or KEY:max (what best means); repeatable.")
    ] = None,
    checkpoints: Annotated[
        list[str] | None,
        typer.Option(help="Glob of checkpoint files (in cwd or the run dir); repeatable."),
    ] = None,
    resume_args: Annotated[
        str | None,
        typer.Option(help="Appended on a retry with a checkpoint; {resume_from} is its path."),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="local or ray, on a server that has both (default: the server's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Queue COMMAND as a job and print its run id: runyard submit -p lr=0.01 -- python train.py

    The job runs as this shell would run it: the executable is looked up on this PATH, and
    the job gets this PATH, VIRTUAL_ENV, CONDA_PREFIX, PYTHONPATH and directory (unless
    --clean-env)."""
    workdir = os.path.abspath(cwd or os.getcwd())
    environment = submitter_env(clean_env, env_file, _pairs(env or [], "--env"))
    try:
        compile_patterns(metrics_pattern or [])
        for pattern in checkpoints or []:
            check_glob(pattern)
    except RunyardError as exc:
        fail(exc.message, code=2)
    if backend not in (None, "local", "ray"):
        fail(f"--backend must be local or ray, not {backend!r}", code=2)
    if resume_args and not checkpoints:
        fail("--resume-args needs --checkpoints GLOB: the checkpoint to resume from", code=2)
    executable = None
    if not shell and not clean_env:
        executable = resolve_executable(command[0], workdir, environment.env.get("PATH"))
        command = [executable, *command[1:]]
    body: dict[str, Any] = {
        "command": " ".join(command) if shell else command,
        "name": name,
        "experiment": experiment,
        "tags": tag or [],
        "params": {k: _json_or_text(v) for k, v in _pairs(param or [], "--param").items()},
        "env": environment.env,
        "captured_env": environment.captured,
        "executable": executable,
        "metrics_patterns": metrics_pattern or [],
        "goals": _goals(goal or []),
        "checkpoints": checkpoints or [],
        "resume_args": shlex.split(resume_args) if resume_args else [],
        "expect": [{"name": k, "glob": v} for k, v in _pairs(expect or [], "--expect").items()],
        "gpus": gpus,
        "cpus": cpus,
        "priority": priority,
        "max_retries": max_retries,
        "retry_delay_s": retry_delay,
        "timeout_s": timeout,
        "grace_s": grace,
        "depends_on": depends_on or [],
        "cwd": workdir,
        "backend": backend,
    }
    run = client().request(
        "POST", "/api/runs", json={k: v for k, v in body.items() if v is not None}
    )
    if as_json:
        print_json(run)
    else:
        typer.echo(run["id"])


def cancel(
    run_id: Annotated[str, typer.Argument()],
    rollback: Annotated[
        bool, typer.Option(help="Remove the files the attempt wrote and its checkpoints.")
    ] = False,
) -> None:
    """Cancel a run: queued ones leave the queue, running ones get SIGTERM then SIGKILL."""
    run = client().request(
        "POST", f"/api/runs/{run_id}/cancel", params={"rollback": str(rollback).lower()}
    )
    word = "cancelled" if run["status"] == "cancelled" else "cancelling"
    typer.echo(f"{run_id} {word}")


def retry(run_id: Annotated[str, typer.Argument()]) -> None:
    """Queue an ended run again."""
    run = client().request("POST", f"/api/runs/{run_id}/retry")
    typer.echo(f"{run_id} {run['status']}")


def logs(
    run_id: Annotated[str, typer.Argument()],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow until it ends.")] = False,
    attempt: Annotated[int | None, typer.Option(min=1, help="(default: the latest)")] = None,
    tail: Annotated[int | None, typer.Option("--tail", "-n", min=1, help="Last N lines.")] = None,
) -> None:
    """Print a run's log; with -f, follow it as it grows."""
    api = client()
    params: dict[str, Any] = {"attempt": attempt, "tail": tail}
    chunk = api.get(f"/api/runs/{run_id}/logs", **params)
    sys.stdout.write(chunk["text"])
    sys.stdout.flush()
    number = chunk["attempt"]
    offset = chunk["offset"]
    try:
        while follow and not (chunk["ended"] and offset >= chunk["size"]):
            time.sleep(0.5)
            chunk = api.get(f"/api/runs/{run_id}/logs", attempt=number, offset=offset)
            if number is None and chunk["attempt"] is not None:
                number = chunk["attempt"]  # the first attempt has just started
            sys.stdout.write(chunk["text"])
            sys.stdout.flush()
            offset = chunk["offset"]
            if chunk["ended"] and attempt is None:  # a retry may follow: switch to it
                run = api.get(f"/api/runs/{run_id}")
                if not _settled(run["status"]) and run["attempt_count"] > (number or 0):
                    number, offset = run["attempt_count"], 0
                    chunk = {"ended": False, "size": 1}
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _settled(status: str) -> bool:
    return status in ("completed", "failed", "cancelled", "pruned")


def check(
    run_id: Annotated[str, typer.Argument()],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The run's checklist of expected outputs; exit 1 if an item fails."""
    data = client().get(f"/api/runs/{run_id}/checklist")
    if as_json:
        print_json(data)
    else:
        console = Console(highlight=False)
        for item in data["items"]:
            ok = item["status"] == "PASS"
            mark, style = ("[✓]", "green") if ok else ("[ ]", "red")
            console.print(f"{mark} [{style}]{item['status']}[/] {item['name']}: {item['detail']}")
            if not ok and item["hint"]:
                console.print(f"      hint: {item['hint']}", style="dim")
        if not data["final"]:
            console.print("(the run has not ended: this is how things stand now)", style="dim")
    if any(i["status"] == "FAIL" for i in data["items"]):
        raise typer.Exit(1)
