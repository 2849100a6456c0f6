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


PIPELINE = "digits-pipeline"


def pipeline_jobs(example: Path) -> list[dict[str, Any]]:
    """prepare → train → evaluate: each step waits for the one before (depends_on)."""
    py = sys.executable
    base = {"experiment": PIPELINE, "cwd": str(example.parent), "max_retries": 0}
    prepare = "import sklearn.datasets as d; x = d.load_digits(); print('prepared', len(x.data))"
    evaluate = "print('evaluated the trained model: see the train step for its metrics')"
    return [
        {**base, "name": "prepare", "command": [py, "-c", prepare]},
        {**base, "name": "train", "params": {"lr": 1e-3, "hidden": 64},
         "command": [py, str(example), "--lr", "1e-3", "--epochs", "8",
                     "--experiment", PIPELINE]},
        {**base, "name": "evaluate", "command": [py, "-c", evaluate]},
    ]  # fmt: skip


def _submit_pipeline(http: httpx.Client) -> None:
    previous: str | None = None
    for job in pipeline_jobs(EXAMPLE):
        r = http.post("/api/runs", json={**job, "depends_on": [previous] if previous else []})
        r.raise_for_status()
        previous = r.json()["id"]
        typer.echo(f"submitted {PIPELINE}/{job['name']:<10} {previous}", err=True)


def _already(http: httpx.Client, experiment: str) -> bool:
    found = http.get("/api/runs", params={"experiment": experiment, "limit": 1})
    return bool(found.is_success and found.json()["runs"])


def submit_demo(url: str, token: str | None = None, *, stop_hint: str = "") -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        if _already(http, EXPERIMENT):
            typer.echo("demo jobs were submitted before: not submitting them again", err=True)
        else:
            for job in demo_jobs(EXAMPLE):
                r = http.post("/api/runs", json=job)
                r.raise_for_status()
                typer.echo(f"submitted {job['name']:<20} {r.json()['id']}", err=True)
            _demo_fundus.submit(http, url, headers)
        if not _already(http, PIPELINE):
            _submit_pipeline(http)
    typer.echo(
        f"\n  runyard demo: the dashboard is at {url}/ (API docs at {url}/docs); "
        "watch with `runyard watch`, list with `runyard ls -e digits`\n"
        + (f"  {stop_hint}\n" if stop_hint else ""),
        err=True,
    )


def _answers(url: str) -> bool:
    try:
        r = httpx.get(f"{url}/api/health", timeout=1.0)
    except httpx.HTTPError:
        return False
    return r.status_code in (200, 401) and (r.status_code == 401 or "version" in r.json())


def _pid_on(port: int) -> int | None:
    """The process listening on ``port`` here, where the system lets us see it."""
    import psutil

    try:
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    except (psutil.AccessDenied, OSError):
        return None
    return None


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
    url = f"http://127.0.0.1:{settings.port}"
    if settings.port and _answers(url):  # a second `make demo`: reuse the running server
        pid = _pid_on(settings.port)
        where = f"`kill {pid}`" if pid else "Ctrl-C in the terminal where it runs"
        typer.echo(f"a runyard server is already running at {url}: reusing it", err=True)
        submit_demo(url, settings.token_value, stop_hint=f"stop it with {where}")
        return
    serve(
        settings,
        on_ready=lambda u: submit_demo(u, settings.token_value, stop_hint="stop it with Ctrl-C"),
    )
