from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter

from runyard.errors import BadRequest
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import IngestOut, MetricBatch
from runyard.store.metrics import Series

router = APIRouter(prefix="/api/runs/{run_id}/metrics", tags=["metrics"], responses=ERRORS)


@router.post("")
def ingest_metrics(run_id: str, body: MetricBatch, store: StoreDep) -> IngestOut:
    """Store a batch of points atomically; a replayed (source, seq) is acknowledged, not stored."""
    series = []
    now = time.time()
    for key, s in body.metrics.items():
        n = len(s.steps)
        if len(s.values) != n or (s.timestamps and len(s.timestamps) != n):
            raise BadRequest(f"metric {key!r}: steps, values and timestamps must align")
        values = np.array([np.nan if v is None else v for v in s.values], dtype=np.float64)
        ts = np.array(s.timestamps, dtype=np.float64) if s.timestamps else np.full(n, now)
        series.append(Series(key, np.array(s.steps, dtype=np.int64), values, ts))
    result = store.metrics.ingest(run_id, series, source=body.source, seq=body.seq)
    return IngestOut(accepted=result.accepted, duplicate=result.duplicate)
