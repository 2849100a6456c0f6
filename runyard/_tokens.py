"""Tokens scoped to one run: what a job gets instead of the server's own token.

A scoped token is `run.<run_id>.<hmac>`; the server checks it without storing anything, and
it opens only that run's routes, and not all of them: `job_refusal` says which (docs/api.md
lists them).
"""

from __future__ import annotations

import hashlib
import hmac

from runyard.errors import RunyardError

PREFIX = "run."
# What a job may not do to its own run: the actions that start, stop or restart work.
# (method, first path segment after /api/runs/{id}; "" is the run itself)
_JOB_REFUSED = {
    ("POST", "cancel"): "cancel runs",
    ("POST", "retry"): "retry runs",
    ("POST", "restore"): "restore runs",
    ("POST", "evaluations"): "submit jobs",
    ("DELETE", ""): "delete runs",
}


def scoped_token(secret: str, run_id: str) -> str:
    mac = hmac.new(secret.encode(), f"run:{run_id}".encode(), hashlib.sha256).hexdigest()
    return f"{PREFIX}{run_id}.{mac}"


def run_of(secret: str, token: str) -> str | None:
    """The run a valid scoped token opens; None for anything else."""
    if not token.startswith(PREFIX):
        return None
    run_id, _, _mac = token[len(PREFIX) :].rpartition(".")
    if not run_id:
        return None
    return run_id if hmac.compare_digest(scoped_token(secret, run_id), token) else None


def job_refusal(method: str, path: str, run_id: str) -> RunyardError | None:
    """Why a job's token may not make this request; None when it may."""
    prefix = f"/api/runs/{run_id}"
    if not (path == prefix or path.startswith(prefix + "/")):
        return _forbidden(f"a job's token opens only its own run ({prefix}), not {path[:200]}")
    action = path[len(prefix) :].strip("/").split("/", 1)[0]
    what = _JOB_REFUSED.get((method.upper(), action))
    if what is not None:
        return _forbidden(f"a job's token may not {what}; use the server's token")
    return None


def _forbidden(message: str) -> RunyardError:
    return RunyardError(message, status=403, code="forbidden")
