"""Compare 2 to 10 runs: config diff, final metrics, the best per metric, deltas."""

from __future__ import annotations

from fastapi import APIRouter, Response

from runyard.server._deps import StoreDep
from runyard.server._reads import read
from runyard.server._run_json import compare_json
from runyard.server.routes import ERRORS
from runyard.server.schemas import CompareIn, CompareOut
from runyard.store.compare import check_request, compare

router = APIRouter(prefix="/api/compare", tags=["compare"], responses=ERRORS)


@router.post("", response_model=CompareOut)
async def compare_runs(body: CompareIn, store: StoreDep) -> Response:
    """400 for fewer than 2 or more than 10 runs, a run named twice or a baseline that is
    not compared; 404 for an unknown run."""
    check_request(body.run_ids, body.baseline)

    def answer() -> bytes:
        runs = store.runs.get_many(body.run_ids)
        # Serialised once with orjson; the document says CompareOut (test_run_json holds
        # them equal).
        return compare_json(compare(runs, body.baseline, body.diff_only))

    return Response(await read(store, answer), media_type="application/json")
