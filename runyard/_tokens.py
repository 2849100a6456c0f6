"""Tokens scoped to one run: what a job gets instead of the server's own token.

A scoped token is `run.<run_id>.<hmac>`; the server checks it without storing anything, and
it opens only that run's routes.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "run."


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
