"""MLflow's tracking REST API on runyard's store, so that code written for MLflow's client
(and the frameworks that log through it) logs into runyard with only its tracking URI changed.

One module per resource; errors in MLflow's shape on these routes only (_errors.py); the
filter grammar is runyard.store.search_filter, shared with runyard's own run list. The routes
stay out of runyard's OpenAPI document: their contract is MLflow's (mlflow/protos/service.proto),
and tests/server/mlflow holds them to it with MLflow's own client.
"""

from __future__ import annotations

from fastapi import FastAPI

from runyard.server.mlflow import artifacts, experiments, metrics, runs, search, server_info
from runyard.server.mlflow._errors import is_mlflow_path, shaped


def include(app: FastAPI) -> None:
    # search and metrics before runs: /runs/search and /runs/log-* are theirs, not a run id.
    for module in (experiments, search, metrics, runs, artifacts, server_info):
        app.include_router(module.router)


__all__ = ["include", "is_mlflow_path", "shaped"]
