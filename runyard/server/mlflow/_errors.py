"""MLflow's error shape, `{"error_code", "message"}`, for the routes of this package only.

The client reads `error_code`; it retries every 5xx for minutes, so a user's mistake must be
a 4xx here. `MlflowRoute` catches runyard's own errors and request validation on these routes
and answers in MLflow's shape, leaving the rest of the server's error shape alone.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from runyard.errors import Conflict, NotFound, RunyardError

log = logging.getLogger("runyard.server.mlflow")

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL_ERROR = "INTERNAL_ERROR"

_STATUS = {RESOURCE_DOES_NOT_EXIST: 404, INTERNAL_ERROR: 500}
PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/api/3.0/mlflow/")
# Errors answered before a route runs (auth, the body limit, the browser guard, no such
# route), by status: codes MLflow's client knows, so it shows them instead of INTERNAL_ERROR.
_CODE_OF_STATUS = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: INVALID_PARAMETER_VALUE,
}


def is_mlflow_path(path: str) -> bool:
    return path.startswith(PREFIXES)


def shaped(status: int, message: str) -> dict[str, str]:
    """MLflow's body for an error that runyard answers outside this package's routes."""
    default = BAD_REQUEST if status < 500 else INTERNAL_ERROR
    return {"error_code": _CODE_OF_STATUS.get(status, default), "message": message}


class MlflowError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status if status is not None else _STATUS.get(code, 400)


def invalid(message: str) -> MlflowError:
    return MlflowError(INVALID_PARAMETER_VALUE, message)


def missing(message: str) -> MlflowError:
    return MlflowError(RESOURCE_DOES_NOT_EXIST, message)


def _from_runyard(exc: RunyardError) -> MlflowError:
    if isinstance(exc, NotFound):
        return missing(exc.message)
    if isinstance(exc, Conflict):
        return MlflowError(RESOURCE_ALREADY_EXISTS, exc.message)
    status = exc.status if 400 <= exc.status < 500 else 500
    return MlflowError(
        INVALID_PARAMETER_VALUE if status == 400 else exc.code.upper(), exc.message, status
    )


def response(error: MlflowError) -> JSONResponse:
    return JSONResponse({"error_code": error.code, "message": error.message}, error.status)


def _answer(result: Any) -> Any:
    if isinstance(result, Response):
        return result
    return Response(orjson.dumps(result), media_type="application/json")


def _answering(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint, its dict answered as JSON by orjson where it ran.

    FastAPI would otherwise validate the dict against the return annotation in another hop
    to the thread pool, then walk it with `jsonable_encoder`: for a log_metric call that is
    more than the write, and for a page of 1,000 runs far more."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def answer_async(*args: Any, **kwargs: Any) -> Any:
            return _answer(await endpoint(*args, **kwargs))

        return answer_async

    @functools.wraps(endpoint)
    def answer(*args: Any, **kwargs: Any) -> Any:
        return _answer(endpoint(*args, **kwargs))

    return answer


class MlflowRoute(APIRoute):
    """An APIRoute whose errors come out in MLflow's shape, and whose endpoints' dicts are
    sent as they are (their contract is MLflow's proto, not a pydantic model)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model"] = None
        super().__init__(path, _answering(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def mlflow_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except MlflowError as exc:
                return response(exc)
            except RunyardError as exc:
                return response(_from_runyard(exc))
            except RequestValidationError as exc:
                parts = []
                for err in exc.errors()[:5]:
                    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
                    parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
                return response(invalid("; ".join(parts) or "invalid request"))

        return mlflow_handler
