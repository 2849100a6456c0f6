"""GET /api/3.0/mlflow/server-info: what this server offers, as MLflow's clients ask it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from runyard.server.mlflow._errors import MlflowRoute

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)


@router.get("/api/3.0/mlflow/server-info")
def server_info() -> dict[str, Any]:
    return {
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    }
