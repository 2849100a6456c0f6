"""`runyard server`: the API, the dashboard and (later) the scheduler in one process."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from runyard.cli._client import fail
from runyard.config import Settings, is_loopback

MAX_WORKERS = 8  # the default is the CPU count, capped here; more is refused
HEALTHCHECK_S = 30  # a worker starting on a busy machine may take seconds to answer


def server(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: 8420).")] = None,
    token: Annotated[
        str | None, typer.Option(help="Require `Authorization: Bearer TOKEN` on every route.")
    ] = None,
    home: Annotated[Path | None, typer.Option(help="Data folder (default: ~/.runyard).")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite under home).")
    ] = None,
    gpus: Annotated[
        int | None, typer.Option(min=0, help="GPUs to schedule (default: NVML's count, 0 without).")
    ] = None,
    slots: Annotated[
        int | None,
        typer.Option(
            "--slots", "--cpus", min=1, help="CPU slots to schedule (default: CPU count)."
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another name the server is reached by (repeatable); other Host headers "
            "are refused (DNS rebinding)."
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="Where jobs run: local (default) or ray (Ray Jobs on a cluster)."),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="The Ray cluster's dashboard address (default http://127.0.0.1:8265)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            envvar="RUNYARD_WORKERS",
            help=f"Processes serving HTTP (default: the CPU count, at most {MAX_WORKERS}).",
        ),
    ] = None,
) -> None:
    """Serve the REST API on HOST:PORT, with the store under HOME."""
    if backend not in (None, "local", "ray"):
        fail(f"--backend must be local or ray, not {backend!r}", code=2)
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    elif not 1 <= workers <= MAX_WORKERS:
        fail(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}", code=2)
    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "token": token,
            "home": home,
            "database_url": database_url,
            "gpus": gpus,
            "slots": slots,
            "backend": backend,
            "ray_address": ray_address,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)
    if allowed_host:  # beside RUNYARD_ALLOWED_HOSTS, not instead of it
        settings = settings.model_copy(
            update={"allowed_hosts": [*settings.allowed_hosts, *allowed_host]}
        )
    serve(settings, workers=workers)


def serve(
    settings: Settings, on_ready: Callable[[str], None] | None = None, workers: int = 1
) -> None:
    """Run the server in the foreground; ``on_ready(url)`` runs in a thread once it answers.

    With ``workers`` above 1, uvicorn's supervisor serves one socket from that many processes
    (see runyard.server.worker); one of them leads (see runyard.server.leader)."""
    if not is_loopback(settings.host) and not settings.token:
        fail(
            f"refusing to bind {settings.host} without a token: anyone on the network could "
            "run commands here; pass --token (or set RUNYARD_TOKEN), or bind 127.0.0.1",
            code=2,
        )
    from runyard.server.auth import HostAllowList

    try:
        HostAllowList(settings.allowed_hosts)
    except ValueError as exc:
        fail(f"--allowed-host / RUNYARD_ALLOWED_HOSTS: {exc}", code=2)
    import uvicorn

    from runyard.server.app import create_app
    from runyard.server.protocol import BodyProtocol
    from runyard.store import Store

    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    reach = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else shown
    settings = settings.model_copy(update={"url": f"http://{reach}:{settings.port}"})  # for jobs
    store = Store.open(
        settings.db_url, settings.runs_dir, busy_timeout_s=settings.db_busy_timeout_s
    )
    if workers > 1:
        store.close()  # migrated: each worker opens its own
        _serve_workers(settings, workers, on_ready)
        return
    app = create_app(settings, store)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", http=BodyProtocol
        )
    )
    if on_ready is not None:

        def when_started() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                on_ready(settings.url)

        threading.Thread(target=when_started, name="runyard-on-ready", daemon=True).start()
    typer.echo(f"runyard {settings.home} serving on http://{shown}:{settings.port}", err=True)
    book = getattr(app.state, "sessions", None)
    if book is not None and book.login_code:
        typer.echo(f"log in (once) at {settings.url}/login?token={book.login_code}", err=True)
    try:
        server.run()
    finally:
        store.close()


def _serve_workers(
    settings: Settings, workers: int, on_ready: Callable[[str], None] | None
) -> None:
    import secrets

    import httpx
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from runyard.server import shared_meter, worker
    from runyard.server.leader import lock_for
    from runyard.server.protocol import BodyProtocol
    from runyard.store.db import make_engine

    engine = make_engine(settings.db_url, settings.db_busy_timeout_s)
    try:
        lock_for(engine)  # a database with no file (SQLite in memory) cannot be shared
    except ValueError as exc:
        fail(f"--workers {workers}: {exc}", code=2)
    finally:
        engine.dispose()
    shared_meter.create(worker.meter_path(settings))
    code = secrets.token_urlsafe(24) if settings.token else None
    os.environ[worker.SETTINGS_ENV] = worker.settings_env(settings)
    if code is not None:
        os.environ[worker.LOGIN_CODE_ENV] = code
    config = uvicorn.Config(
        "runyard.server.worker:app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        timeout_worker_healthcheck=HEALTHCHECK_S,
        http=BodyProtocol,
    )
    sock = config.bind_socket()
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    typer.echo(
        f"runyard {settings.home} serving on http://{shown}:{settings.port} ({workers} workers)",
        err=True,
    )
    if code is not None:
        typer.echo(f"log in (once) at {settings.url}/login?token={code}", err=True)
    if on_ready is not None:

        def when_answering() -> None:
            while True:
                try:
                    httpx.get(f"{settings.url}/api/health", timeout=1)
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                on_ready(settings.url)
                return

        threading.Thread(target=when_answering, name="runyard-on-ready", daemon=True).start()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
