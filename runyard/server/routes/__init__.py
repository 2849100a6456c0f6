"""One module per resource; each exposes `router`."""

import re
from typing import Any

from pydantic import BeforeValidator

from runyard.server.schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input"},
    404: {"model": ErrorOut, "description": "Not found"},
}


def _digits(value: object) -> object:
    """Pydantic reads " 1" or "\\n1" from a query string as 1; the OpenAPI integer admits
    neither, and neither would a strict client."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("Input should be a valid integer")
    return value


# Put in the Annotated[...] of every integer query parameter.
Digits = BeforeValidator(_digits)
