"""Reading MLflow's requests: a JSON body on POST, the query string on GET."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from runyard.server.mlflow._errors import MlflowError, invalid


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MlflowError("MALFORMED_REQUEST", f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("the request body must be a JSON object")
    return data


async def _query(request: Request) -> dict[str, Any]:
    """The query string as MLflow's GET handlers read it: repeated keys become lists."""
    out: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


Body = Annotated[dict[str, Any], Depends(_json_body)]
Query = Annotated[dict[str, Any], Depends(_query)]
