"""A live runyard server on 127.0.0.1 that MLflow's real client (mlflow-skinny) talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._live import serve


@pytest.fixture
def mlflow_url(settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's URL, set as MLflow's tracking URI; the client fails fast on a 5xx."""
    import mlflow
    import mlflow.tracking.fluent

    # The client keeps the active experiment in a module global: each test starts afresh.
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")  # set_experiment sets it: undone after
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    with serve(create_app(settings, store)) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        mlflow.set_tracking_uri(url)
        try:
            yield url
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
            mlflow.set_tracking_uri(None)
