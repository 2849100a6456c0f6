"""Request-scoped access to what create_app was given.

Async on purpose: FastAPI runs a plain `def` dependency in the thread pool, and that hop
(twice over) costs more than the request itself when the CPUs are busy."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from runyard.config import Settings
from runyard.store import Store


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]
