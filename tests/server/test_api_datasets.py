"""The dataset API through the app (SQLite and PostgreSQL): upload, path import, versions,
validation, transform jobs, and the runs that used a version."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests.datasets._archives import Member, write_tar
from tests.datasets._data import segmentation


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    (tmp_path / "imports").mkdir()
    return Settings(
        home=tmp_path / "home", database_url=db_url, dataset_import_root=tmp_path / "imports"
    )


def zipped(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def upload(client: TestClient, name: str, data: bytes, filename: str = "data.zip", **fields: str):
    return client.post(
        "/api/datasets",
        data={"name": name, **fields},
        files={"file": (filename, data, "application/octet-stream")},
    )


@pytest.fixture
def retina(client: TestClient, tmp_path: Path) -> dict[str, Any]:
    r = upload(client, "retina", zipped(segmentation(tmp_path / "src")), description="fundus")
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_an_upload_registers_a_version_with_its_layout_and_report(
    retina: dict[str, Any], client: TestClient, tmp_path: Path
) -> None:
    assert retina["created"] is True and retina["dataset"] == "retina"
    assert len(retina["version"]) == 12 and retina["parent"] is None
    assert retina["layout"]["kind"] == "image-mask" and retina["layout"]["wrapper"] == "RetinaSet"
    assert retina["counts"] == {"test": {"all": 2}, "train": {"all": 3}, "val": {"all": 1}}
    assert retina["validation"] == {"status": "errors", "errors": 2, "warnings": 0}
    assert retina["report"]["leaked_ids"] == ["P001"]
    manifest = retina["manifest"]
    assert manifest["file_count"] == 13 and manifest["extensions"] == {".csv": 1, ".png": 12}
    assert manifest["sha256"].startswith(retina["version"]) and not manifest["truncated"]
    assert {"path", "size", "sha256"} == set(manifest["files"][0])
    assert Path(retina["path"], "train", "images", "P001_a.png").is_file()
    again = upload(client, "retina", zipped(tmp_path / "src"))
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["version"] == retina["version"]


def test_list_show_and_version(retina: dict[str, Any], client: TestClient) -> None:
    listed = client.get("/api/datasets").json()["datasets"]
    assert [(d["name"], d["latest"], d["version_count"], d["description"]) for d in listed] == [
        ("retina", retina["version"], 1, "fundus")
    ]
    shown = client.get("/api/datasets/retina").json()
    (v,) = shown["versions"]
    assert v["version"] == retina["version"] and v["counts"]["train"] == {"all": 3}
    assert v["validation"]["status"] == "errors" and "report" not in v
    detail = client.get(f"/api/datasets/retina/versions/{retina['version']}", params={"files": 2})
    assert detail.status_code == 200
    assert len(detail.json()["manifest"]["files"]) == 2 and detail.json()["manifest"]["truncated"]
    latest = client.get("/api/datasets/retina/versions/latest").json()
    assert latest["version"] == retina["version"] and latest["runs"] == []
    for url in ("/api/datasets/nope", "/api/datasets/retina/versions/abcdef123456"):
        missing = client.get(url)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_validate_again_with_expectations(retina: dict[str, Any], client: TestClient) -> None:
    url = f"/api/datasets/retina/versions/{retina['version']}/validate"
    report = client.post(url, json={"image_size": [64, 64], "required_columns": ["sex"]}).json()
    checks = {e["check"] for e in report["errors"]}
    assert {"image-size", "metadata-columns", "leakage"} <= checks
    assert report["config"]["image_size"] == [64, 64]
    stored = client.get(f"/api/datasets/retina/versions/{retina['version']}").json()
    assert stored["report"]["config"]["required_columns"] == ["sex"]
    plain = client.post(url)
    assert plain.status_code == 200 and "image-size" not in str(plain.json()["errors"])
    bad = client.post(url, json={"channels": 7})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    regex = client.post(url, json={"id_pattern": "("})
    assert regex.status_code == 400 and "not a valid regex" in regex.json()["error"]["message"]


def test_a_hostile_upload_is_refused_and_leaves_nothing(
    client: TestClient, tmp_path: Path, settings: Settings
) -> None:
    evil = write_tar(
        tmp_path / "e.tar.gz", [Member("a.png", b"x"), Member("../../../evil", b"x")], "w:gz"
    )
    r = upload(client, "evil", evil.read_bytes(), filename="e.tar.gz")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsafe_archive"
    assert "'../../../evil'" in r.json()["error"]["message"]
    assert client.get("/api/datasets").json()["datasets"] == []
    assert os.listdir(settings.datasets_dir / "tmp") == []
    corrupt = upload(client, "broken", b"PK\x03\x04 not really a zip")
    assert corrupt.status_code == 400 and corrupt.json()["error"]["code"] == "corrupt_archive"
    odd = upload(client, "odd", b"x", filename="data.rar")
    assert odd.status_code == 400 and "not a .zip" in odd.json()["error"]["message"]
    named = upload(client, "../x", b"x")
    assert named.status_code == 400 and "dataset name" in named.json()["error"]["message"]
    incomplete = client.post("/api/datasets", data={"name": "x"}, files={"other": ("a", b"")})
    assert incomplete.status_code == 400


def test_server_side_paths_stay_inside_the_import_root(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    root = settings.dataset_import_root
    assert root is not None
    segmentation(root / "folder")
    (root / "arch.zip").write_bytes(zipped(root / "folder"))
    made = client.post("/api/datasets", json={"name": "a", "path": "folder"})
    assert made.status_code == 201, made.text
    archived = client.post("/api/datasets", json={"name": "a", "path": str(root / "arch.zip")})
    assert archived.status_code == 200 and archived.json()["version"] == made.json()["version"]
    (tmp_path / "secret").mkdir()
    for path in ("../secret", str(tmp_path / "secret"), "missing"):
        r = client.post("/api/datasets", json={"name": "b", "path": path})
        assert r.status_code == 400, (path, r.text)
    (root / "out").symlink_to(tmp_path / "secret")
    assert client.post("/api/datasets", json={"name": "b", "path": "out"}).status_code == 400
    extra = client.post("/api/datasets", json={"name": "b", "path": "folder", "x": 1})
    assert extra.status_code == 422
    text = client.post("/api/datasets", content=b"name=x", headers={"content-type": "text/plain"})
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media_type"


def test_server_side_paths_are_refused_without_an_import_root(tmp_path: Path, db_url: str) -> None:
    settings = Settings(home=tmp_path / "h2", database_url=db_url)
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    try:
        with TestClient(create_app(settings, store)) as client:
            r = client.post("/api/datasets", json={"name": "a", "path": str(tmp_path)})
            assert r.status_code == 403 and "RUNYARD_DATASET_IMPORT_ROOT" in r.text
    finally:
        store.close()


def wait_job(client: TestClient, job_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/datasets/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} did not end in {timeout} s")


def test_a_transform_job_makes_a_child_version(retina: dict[str, Any], client: TestClient) -> None:
    url = f"/api/datasets/retina/versions/{retina['version']}/transform"
    started = client.post(url, json={"steps": "clahe:channel=green,crop:margin=0.1,resize:32"})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["done"] == job["total"] == 13 and job["parent"] == retina["version"]
    child = client.get(f"/api/datasets/retina/versions/{job['version']}").json()
    assert child["parent"] == retina["version"]
    assert [s["op"] for s in child["steps"]] == ["clahe", "crop", "resize"]
    shown = client.get("/api/datasets/retina").json()
    assert [v["version"] for v in shown["versions"]] == [job["version"], retina["version"]]
    assert shown["latest"] == job["version"]
    bad = client.post(url, json={"steps": "sharpen"})
    assert bad.status_code == 400 and "unknown transform" in bad.json()["error"]["message"]
    gone = client.post(
        "/api/datasets/retina/versions/000000000000/transform", json={"steps": "crop"}
    )
    assert gone.status_code == 404
    assert client.get("/api/datasets/jobs/999999").status_code == 404
    assert client.get(f"/api/datasets/jobs/{2**70}").status_code == 422


def test_runs_declare_the_versions_they_used(retina: dict[str, Any], client: TestClient) -> None:
    run = client.post("/api/runs", json={"experiment": "seg"}).json()
    ref = f"retina@{retina['version']}"
    for _ in range(2):  # idempotent
        r = client.post(f"/api/runs/{run['id']}/datasets", json={"dataset": ref})
        assert r.status_code == 201
    used = [{"name": "retina", "version": retina["version"]}]
    assert r.json() == {"datasets": used}
    assert client.get(f"/api/runs/{run['id']}").json()["datasets"] == used
    listed = client.get("/api/runs").json()["runs"]
    assert [r["datasets"] for r in listed if r["id"] == run["id"]] == [used]
    assert client.get(f"/api/runs/{run['id']}/datasets").json() == {"datasets": used}
    version = client.get(f"/api/datasets/retina/versions/{retina['version']}").json()
    assert version["runs"] == [{"id": run["id"], "name": run["name"], "status": "running"}]
    latest = client.post(f"/api/runs/{run['id']}/datasets", json={"dataset": "retina"})
    assert latest.status_code == 201 and latest.json()["datasets"] == used
    for body, status in (({"dataset": "nope@1"}, 400), ({"dataset": "@x"}, 400)):
        assert client.post(f"/api/runs/{run['id']}/datasets", json=body).status_code == status
    assert client.post("/api/runs/missing/datasets", json={"dataset": ref}).status_code == 404


def test_a_transform_that_cannot_read_a_file_fails_its_job(
    client: TestClient, tmp_path: Path
) -> None:
    src = segmentation(tmp_path / "src")
    broken = src / "RetinaSet" / "train" / "images" / "P002_a.png"
    broken.write_bytes(broken.read_bytes()[:80])
    made = upload(client, "broken", zipped(src)).json()
    assert made["validation"]["errors"] >= 1
    url = f"/api/datasets/broken/versions/{made['version']}/transform"
    job = wait_job(client, client.post(url, json={"steps": "resize:16"}).json()["id"])
    assert job["status"] == "failed" and job["version"] is None
    assert "train/images/P002_a.png" in job["error"]
    assert client.get("/api/datasets/broken").json()["version_count"] == 1


def test_an_upload_over_the_body_limit_is_413_and_registers_nothing(
    tmp_path: Path, db_url: str
) -> None:
    settings = Settings(home=tmp_path / "h3", database_url=db_url, max_body_bytes=50_000)
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    try:
        with TestClient(create_app(settings, store)) as client:
            r = upload(client, "big", os.urandom(80_000))
            assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
            assert client.get("/api/datasets").json()["datasets"] == []
    finally:
        store.close()


def test_jobs_left_running_by_a_previous_server_are_failed_at_start(
    client: TestClient, retina: dict[str, Any], store: Store, settings: Settings
) -> None:
    from runyard.datasets.jobs import TransformRunner
    from runyard.datasets.registry import Registry

    parent = store.datasets.version("retina", retina["version"])
    orphan = store.dataset_jobs.create(parent.id, "transform", [{"op": "crop", "margin": 0.1}])
    store.dataset_jobs.start(orphan.id, 13)
    TransformRunner(Registry(store, settings))  # what a restarted server makes
    job = client.get(f"/api/datasets/jobs/{orphan.id}").json()
    assert job["status"] == "failed" and "server stopped" in job["error"]
