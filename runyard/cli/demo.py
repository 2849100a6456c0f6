"""`runyard demo`: the server, with the example jobs submitted so that every status shows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from runyard.cli import _demo_fundus
from runyard.cli._client import fail
from runyard.cli.server import serve
from runyard.config import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits.py"
EXPERIMENT = "digits"


def demo_jobs(example: Path) -> list[dict[str, Any]]:
    py = [sys.executable, str(example)]
    base = {"experiment": EXPERIMENT, "cwd": str(example.parent), "retry_delay_s": 3}
    return [
        {**base, "name": "baseline", "params": {"lr": 1e-3, "hidden": 64},
         "command": [*py, "--lr", "1e-3", "--epochs", "40", "--epoch-sleep", "0.5"],
         "expect": [{"name": "checkpoints saved", "glob": "checkpoints/*.pt", "min_count": 5}]},
        {**base, "name": "fast-lr-early-stop", "params": {"lr": 2e-2, "hidden": 64},
         "command": [*py, "--lr", "2e-2", "--epochs", "100", "--patience", "3"]},
        {**base, "name": "crash-then-resume", "params": {"lr": 3e-3, "hidden": 32},
         "command": [*py, "--lr", "3e-3", "--hidden", "32", "--epochs", "25",
                     "--fail-at-epoch", "6", "--epoch-sleep", "0.3"]},
        {**base, "name": "wide", "params": {"lr": 1e-3, "hidden": 256}, "priority": -1,
         "command": [*py, "--lr", "1e-3", "--hidden", "256", "--epochs", "30"],
         "expect": [{"name": "scaler saved", "glob": "artifacts/scaler.pkl",
                     "hint": "this example has no scaler: the checklist shows a FAIL"}]},
        {**base, "name": "too-slow", "params": {"lr": 1e-4}, "max_retries": 0, "timeout_s": 5,
         "command": [*py, "--lr", "1e-4", "--epochs", "200", "--epoch-sleep", "1"]},
    ]  # fmt: skip


def submit_demo(url: str, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        if http.get("/api/runs", params={"experiment": EXPERIMENT, "limit": 1}).json()["runs"]:
            typer.echo("demo jobs were submitted before: not submitting them again", err=True)
            return
        for job in demo_jobs(EXAMPLE):
            r = http.post("/api/runs", json=job)
            r.raise_for_status()
            typer.echo(f"submitted {job['name']:<20} {r.json()['id']}", err=True)
        _demo_fundus.submit(http, url, headers)
    typer.echo(
        f"\n  runyard demo: the dashboard is at {url}/ (API docs at {url}/docs); "
        "watch with `runyard watch`, list with `runyard ls -e digits`\n",
        err=True,
    )


def demo(
    port: Annotated[int | None, typer.Option(help="(default: 8420)")] = None,
    home: Annotated[Path | None, typer.Option(help="(default: ~/.runyard)")] = None,
) -> None:
    """Start the server on 127.0.0.1 and submit the example jobs (digits, PyTorch on CPU)."""
    if not EXAMPLE.is_file():
        fail(f"the demo needs the repository's examples/ ({EXAMPLE} is missing)")
    overrides: dict[str, Any] = {"host": "127.0.0.1"}
    if port is not None:
        overrides["port"] = port
    if home is not None:
        overrides["home"] = home
    settings = Settings(**overrides)
    serve(settings, on_ready=lambda url: submit_demo(url, settings.token_value))
