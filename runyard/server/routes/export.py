"""`GET /api/export`: the whole dashboard state as one JSON document."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response

from runyard.server._deps import StoreDep
from runyard.server.export_schema import ExportOut, document
from runyard.store.export import export_state

router = APIRouter(prefix="/api/export", tags=["export"])


@router.get("", response_model=ExportOut)
def export(store: StoreDep) -> Response:
    """Experiments and runs with their configs, summaries, progress, attempts, checkpoint
    and artifact records and checklists; the schema is docs/export.schema.json."""
    body = document(export_state(store.engine), time.time()).model_dump_json()
    return Response(body, media_type="application/json")
