"""One error base that carries its HTTP status; one handler in the server maps it to JSON."""

from __future__ import annotations


class RunyardError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(RunyardError):
    status = 400
    code = "bad_request"


class Unauthorized(RunyardError):
    status = 401
    code = "unauthorized"


class NotFound(RunyardError):
    status = 404
    code = "not_found"


class Conflict(RunyardError):
    status = 409
    code = "conflict"


class PayloadTooLarge(RunyardError):
    status = 413
    code = "payload_too_large"


class InsufficientStorage(RunyardError):
    """The disk (or the database's) is full: a fault of the box, not of the request."""

    status = 507
    code = "insufficient_storage"


class Busy(RunyardError):
    """The database stayed locked past its busy timeout: try again after ``retry_after``."""

    status = 503
    code = "database_busy"

    def __init__(self, message: str, *, retry_after: int = 2):
        super().__init__(message)
        self.retry_after = retry_after
