"""One module per resource; each exposes `router`."""

from typing import Any

from runyard.server.schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input"},
    404: {"model": ErrorOut, "description": "Not found"},
}
