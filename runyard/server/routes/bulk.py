"""`POST /api/bulk/runs`: delete or tag many selected runs in one request.

Each run is handled on its own, as its single-run route would: a run that is refused (still
active, gone, already in the trash) is listed with the reason and does not stop the others.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from runyard.errors import BadRequest, RunyardError
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import MAX_TAGS, Key, RunId, _In
from runyard.store import Store

router = APIRouter(tags=["runs"], responses=ERRORS)
MAX_IDS = 10_000


class BulkIn(_In):
    ids: Annotated[list[RunId], Field(min_length=1, max_length=MAX_IDS)]
    action: Literal["delete", "tag", "untag"]
    tag: Key | None = Field(default=None, description="The tag to add or remove (tag, untag).")


class Refused(BaseModel):
    id: str
    reason: str


class BulkOut(BaseModel):
    done: list[str] = Field(description="The runs changed, in the order given.")
    refused: list[Refused] = Field(description="The runs left as they were, each with why.")


def _tagged(store: Store, run_id: str, tag: str, add: bool) -> None:
    old = list(store.runs.get(run_id).tags)
    new = ([*old, tag] if tag not in old else old) if add else [t for t in old if t != tag]
    if new == old:
        return
    if len(new) > MAX_TAGS:
        raise BadRequest(f"a run has at most {MAX_TAGS} tags")
    store.runs.update(run_id, tags=new)


@router.post("/api/bulk/runs")
def bulk(body: BulkIn, store: StoreDep) -> BulkOut:
    """Delete (to the trash) or tag the given runs; every run is answered for."""
    tag = body.tag or ""
    if body.action != "delete" and not tag:
        raise BadRequest(f"{body.action} needs a tag")
    done: list[str] = []
    refused: list[Refused] = []
    for run_id in dict.fromkeys(body.ids):  # each once, in order
        try:
            if body.action == "delete":
                store.trash.delete(run_id)
            else:
                _tagged(store, run_id, tag, add=body.action == "tag")
        except RunyardError as e:
            refused.append(Refused(id=run_id, reason=str(e)))
        else:
            done.append(run_id)
    return BulkOut(done=done, refused=refused)
