"""`GET|POST /api/gc`: what `runyard gc` lists and removes, done by the server on its own store,
so that the CLI never cleans another store than the one the dashboard shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from runyard.runner import gc as cleaner
from runyard.server._deps import SettingsDep, StoreDep
from runyard.server.routes import ERRORS, Digits
from runyard.server.schemas import _In
from runyard.store import Store

router = APIRouter(prefix="/api/gc", tags=["maintenance"], responses=ERRORS)

KeepLast = Annotated[int, Field(ge=0, le=1_000_000)]


class GcItem(BaseModel):
    run_id: str
    path: str
    bytes: int
    why: str


class GcOut(BaseModel):
    items: list[GcItem]
    bytes: int = Field(description="The items' total size.")
    removed: bool = Field(description="Whether they were removed (POST) or only listed (GET).")


class GcIn(_In):
    keep_last: KeepLast | None = Field(
        default=None,
        description="Also keep only the last N checkpoints of each ended run (and its best).",
    )


def _found(store: Store, trash_days: float, keep_last: int | None) -> list[cleaner.Removal]:
    found = cleaner.expired_trash(store, trash_days)
    found += cleaner.dead_run_dirs(store)
    if keep_last is not None:
        found += cleaner.surplus_checkpoints(store, keep_last)
    return found


def _out(found: list[cleaner.Removal], removed: bool) -> GcOut:
    items = [GcItem(run_id=r.run_id, path=str(r.path), bytes=r.bytes, why=r.why) for r in found]
    return GcOut(items=items, bytes=sum(i.bytes for i in items), removed=removed)


@router.get("")
def list_garbage(
    store: StoreDep,
    settings: SettingsDep,
    keep_last: Annotated[int | None, Query(ge=0, le=1_000_000), Digits] = None,
) -> GcOut:
    """What a clean-up would remove: expired trash, dead run dirs, surplus checkpoints."""
    return _out(_found(store, settings.trash_days, keep_last), removed=False)


@router.post("")
def collect_garbage(store: StoreDep, settings: SettingsDep, body: GcIn | None = None) -> GcOut:
    """Remove what `GET /api/gc` lists (found again now)."""
    found = _found(store, settings.trash_days, (body or GcIn()).keep_last)
    cleaner.remove(store, found)
    return _out(found, removed=True)
