"""`GET /api/export`: the whole dashboard state as one JSON document."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Response

from runyard.server._deps import StoreDep
from runyard.server.export_schema import ExportOut
from runyard.store.export import export_document

router = APIRouter(prefix="/api/export", tags=["export"])


@router.get("", response_model=ExportOut)
def export(store: StoreDep) -> Response:
    """Experiments and runs with their configs, summaries, progress, attempts, checkpoint
    and artifact records and checklists; its JSON Schema is docs/export.schema.json."""
    doc = export_document(store.engine, time.time())
    return Response(orjson.dumps(doc, option=orjson.OPT_UTC_Z), media_type="application/json")
