"""The run dir as a tree, and downloads: content types and Range requests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _run(client: TestClient) -> tuple[dict[str, Any], Path]:
    run = client.post("/api/runs", json={}).json()
    run_dir = Path(run["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    return run, run_dir


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_tree_lists_every_file_with_its_kind(client: TestClient, tmp_path: Path) -> None:
    run, run_dir = _run(client)
    _write(run_dir / "logs" / "attempt-1.log", b"hello\n")
    ckpt = _write(run_dir / "checkpoints" / "e1.pt", b"w" * 10)
    _write(run_dir / "checkpoints" / "stray.pt", b"s")
    _write(run_dir / "artifacts" / "plots" / "cm.png", b"png")
    _write(run_dir / "metrics.jsonl", b'{"loss": 1}\n')
    _write(run_dir / "outputs" / "model.onnx", b"onnx")  # registered outside artifacts/
    (run_dir / "empty").mkdir()
    (run_dir / "passwd").symlink_to("/etc/passwd")
    (run_dir / "elsewhere").symlink_to(tmp_path)
    sha = hashlib.sha256(b"w" * 10).hexdigest()
    client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": "e1", "path": str(ckpt), "size": 10, "sha256": sha},
    )
    client.post(
        f"/api/runs/{run['id']}/artifacts", json={"path": "artifacts/plots/cm.png", "size": 3}
    )
    client.post(
        f"/api/runs/{run['id']}/artifacts",
        json={"path": "outputs/model.onnx", "size": 4, "sha256": "c" * 64},
    )
    r = client.get(f"/api/runs/{run['id']}/artifacts")
    assert r.status_code == 200, r.text
    tree = r.json()
    assert tree["root"] == run["run_dir"]
    got = {f["path"]: (f["size"], f["kind"], f["registered"], f["sha256"]) for f in tree["files"]}
    assert got == {
        "artifacts/plots/cm.png": (3, "artifact", True, None),
        "checkpoints/e1.pt": (10, "checkpoint", True, sha),
        "checkpoints/stray.pt": (1, "checkpoint", False, None),
        "logs/attempt-1.log": (6, "log", False, None),
        "metrics.jsonl": (12, "other", False, None),
        "outputs/model.onnx": (4, "artifact", True, "c" * 64),
    }
    assert [f["path"] for f in tree["files"]] == sorted(got)
    assert tree["total_bytes"] == 3 + 10 + 1 + 6 + 12 + 4
    assert (tree["truncated"], tree["skipped_links"]) == (False, 2)
    assert all(f["modified_at"].startswith("20") for f in tree["files"])


def test_tree_of_a_run_without_files_is_empty(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()
    tree = client.get(f"/api/runs/{run['id']}/artifacts").json()
    assert (tree["files"], tree["total_bytes"], tree["truncated"]) == ([], 0, False)
    assert client.get("/api/runs/nope/artifacts").status_code == 404


def test_tree_is_capped(client: TestClient) -> None:
    run, run_dir = _run(client)
    folder = run_dir / "many"
    folder.mkdir()
    for i in range(10_001):
        (folder / f"{i:05d}").touch()
    tree = client.get(f"/api/runs/{run['id']}/artifacts").json()
    assert tree["truncated"] is True and len(tree["files"]) == 10_000
    assert tree["files"][-1]["path"] == "many/09999"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("logs/attempt-1.log", "text/plain; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("metrics.jsonl", "text/plain; charset=utf-8"),
        ("progress.json", "application/json"),
        ("artifacts/cm.png", "image/png"),
        ("artifacts/model.bin", "application/octet-stream"),
        ("checkpoints/e1.ckpt-unknown", "application/octet-stream"),
        ("artifacts/data.tar.gz", "application/gzip"),
    ],
)
def test_download_content_types(client: TestClient, name: str, content_type: str) -> None:
    run, run_dir = _run(client)
    data = os.urandom(100) if "text" not in content_type else "héllo\n".encode()
    _write(run_dir / name, data)
    r = client.get(f"/api/runs/{run['id']}/artifacts/{name}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == content_type
    assert r.content == data and r.headers["accept-ranges"] == "bytes"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox"


def test_download_ranges_of_a_large_file(client: TestClient) -> None:
    run, run_dir = _run(client)
    data = os.urandom(5 * 1024 * 1024 + 123)
    _write(run_dir / "checkpoints" / "big.pt", data)
    url = f"/api/runs/{run['id']}/artifacts/checkpoints/big.pt"
    r = client.get(url, headers={"Range": "bytes=1000000-2999999"})
    assert r.status_code == 206
    assert r.content == data[1_000_000:3_000_000]
    assert r.headers["content-range"] == f"bytes 1000000-2999999/{len(data)}"
    assert r.headers["content-length"] == "2000000"
    tail = client.get(url, headers={"Range": "bytes=-100"})
    assert (tail.status_code, tail.content) == (206, data[-100:])
    rest = client.get(url, headers={"Range": f"bytes={len(data) - 5}-"})
    assert (rest.status_code, rest.content) == (206, data[-5:])
    past_end = client.get(url, headers={"Range": f"bytes={len(data) - 5}-{len(data) + 50}"})
    assert (past_end.status_code, past_end.content) == (206, data[-5:])  # clamped
    two = client.get(url, headers={"Range": "bytes=0-9,100-109"})
    assert two.status_code == 206
    assert two.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert data[:10] in two.content and data[100:110] in two.content
    whole = client.get(url)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).digest() == (
        hashlib.sha256(data).digest()
    )


def test_download_range_errors_are_json(client: TestClient) -> None:
    run, run_dir = _run(client)
    _write(run_dir / "a.bin", b"0123456789")
    url = f"/api/runs/{run['id']}/artifacts/a.bin"
    r = client.get(url, headers={"Range": "bytes=10-20"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */10"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "range_not_satisfiable"
    assert "10 bytes" in r.json()["error"]["message"]
    bad = client.get(url, headers={"Range": "lines=1-2"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert "Range" in bad.json()["error"]["message"]


def test_download_of_a_folder_or_a_missing_file(client: TestClient) -> None:
    run, run_dir = _run(client)
    (run_dir / "checkpoints").mkdir()
    folder = client.get(f"/api/runs/{run['id']}/artifacts/checkpoints")
    assert folder.status_code == 400 and "folder" in folder.json()["error"]["message"]
    missing = client.get(f"/api/runs/{run['id']}/artifacts/checkpoints/none.pt")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/runs/nope/artifacts/x").status_code == 404
    os.mkfifo(run_dir / "pipe")  # opening it would block: refused before
    fifo = client.get(f"/api/runs/{run['id']}/artifacts/pipe")
    assert fifo.status_code == 400 and "regular" in fifo.json()["error"]["message"]
