from __future__ import annotations

from fastapi import APIRouter

from runyard import __version__
from runyard.server.schemas import Health
from runyard.store import faults

router = APIRouter(tags=["system"])


@router.get("/api/health")
def health() -> Health:
    """Liveness; open even when a token is required."""
    return Health(status="ok", version=__version__, faults=faults.EPISODES.current())
