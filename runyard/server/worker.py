"""One worker of `runyard server --workers N`: uvicorn's supervisor spawns N processes that
import this module and call `app()`; they share the listening socket the supervisor bound.

The supervisor hands its settings down in RUNYARD_WORKER_SETTINGS (JSON, secrets included:
the environment of a process is readable only by its user) and the one-time login code in
RUNYARD_WORKER_LOGIN_CODE, so that every worker accepts the code the server printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from runyard.config import Settings

SETTINGS_ENV = "RUNYARD_WORKER_SETTINGS"
LOGIN_CODE_ENV = "RUNYARD_WORKER_LOGIN_CODE"


def settings_env(settings: Settings) -> str:
    """``settings`` as the JSON a worker rebuilds them from."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    data["token"] = settings.token_value
    data["ray_token"] = settings.ray_token.get_secret_value() if settings.ray_token else None
    return json.dumps(data)


def meter_path(settings: Settings) -> Path:
    """The ingest meter the workers share (see shared_meter.py)."""
    return settings.home / "ingest.meter"


def app() -> FastAPI:
    """The app of one worker (uvicorn's factory)."""
    from runyard.server.app import create_app
    from runyard.server.leader import lock_for
    from runyard.server.shared_meter import SharedIngestMeter
    from runyard.store import Store

    settings = Settings(**json.loads(os.environ[SETTINGS_ENV]))
    store = Store.open(  # the supervisor ran the migrations
        settings.db_url, settings.runs_dir, migrate=False, busy_timeout_s=settings.db_busy_timeout_s
    )
    store.events.share()  # the other workers emit queue counts too
    application = create_app(settings, store, leader=lock_for(store.engine))
    application.state.ingest_meter = SharedIngestMeter(meter_path(settings))
    book = getattr(application.state, "sessions", None)
    if book is not None:
        book.share_login_code(os.environ.get(LOGIN_CODE_ENV))
    return application
