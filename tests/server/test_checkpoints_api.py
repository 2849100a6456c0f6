"""Checkpoint records: listed with `exists`, deleted together with their file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from runyard.store import Store


def _run_with_checkpoint(
    client: TestClient, name: str = "e1.pt", data: bytes = b"weights"
) -> tuple[dict[str, Any], Path]:
    run = client.post("/api/runs", json={}).json()
    path = Path(run["run_dir"]) / "checkpoints" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    r = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": name, "path": f"checkpoints/{name}", "step": 3, "epoch": 1,
              "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
              "metrics": {"val/loss": 0.25}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return run, path


def _run_with_checkpoint_in(
    client: TestClient, run: dict[str, Any], name: str, data: bytes | None
) -> None:
    """Register another checkpoint of ``run``; ``data`` None: the file is there already."""
    path = Path(run["run_dir"]) / "checkpoints" / name
    if data is not None:
        path.write_bytes(data)
    data = path.read_bytes()
    r = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": name, "path": f"checkpoints/{name}", "size": len(data),
              "sha256": hashlib.sha256(data).hexdigest()},
    )  # fmt: skip
    assert r.status_code == 201, r.text


def _checkpoints(client: TestClient, run_id: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/runs/{run_id}/checkpoints")
    assert r.status_code == 200, r.text
    return list(r.json()["checkpoints"])


def test_list_says_whether_the_file_exists(client: TestClient) -> None:
    run, path = _run_with_checkpoint(client)
    (ckpt,) = _checkpoints(client, run["id"])
    assert ckpt["exists"] is True
    assert (ckpt["name"], ckpt["path"], ckpt["step"], ckpt["epoch"], ckpt["size"]) == (
        "e1.pt", "checkpoints/e1.pt", 3, 1, 7,
    )  # fmt: skip
    assert ckpt["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert ckpt["metrics"] == {"val/loss": 0.25} and ckpt["created_at"]
    path.unlink()  # removed by hand
    (ckpt,) = _checkpoints(client, run["id"])
    assert ckpt["exists"] is False
    assert client.get("/api/runs/nope/checkpoints").status_code == 404


def test_delete_removes_file_and_record_once(client: TestClient, store: Store) -> None:
    run, path = _run_with_checkpoint(client)
    _run_with_checkpoint(client)  # another run's checkpoint of the same name stays
    keep = Path(run["run_dir"]) / "checkpoints" / "keep.pt"
    keep.write_bytes(b"k")
    r = client.delete(f"/api/runs/{run['id']}/checkpoints/e1.pt")
    assert r.status_code == 204 and r.content == b""
    assert not path.exists() and keep.exists()
    assert _checkpoints(client, run["id"]) == []
    again = client.delete(f"/api/runs/{run['id']}/checkpoints/e1.pt")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert client.delete("/api/runs/nope/checkpoints/e1.pt").status_code == 404
    (event,) = [e for e in store.events.list(run["id"]) if e.kind == "checkpoint"]
    assert event.data == {"name": "e1.pt", "deleted": True}


def test_delete_of_a_record_whose_file_is_gone_clears_it(client: TestClient) -> None:
    run, path = _run_with_checkpoint(client)
    path.unlink()
    assert client.delete(f"/api/runs/{run['id']}/checkpoints/e1.pt").status_code == 204
    assert _checkpoints(client, run["id"]) == []


def test_delete_keeps_the_record_when_the_file_cannot_go(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()
    folder = Path(run["run_dir"]) / "checkpoints" / "shard.pt"
    (folder / "part-0").mkdir(parents=True)  # a folder: unlink refuses it
    client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": "shard", "path": "checkpoints/shard.pt", "size": 0, "sha256": "0" * 64},
    )
    r = client.delete(f"/api/runs/{run['id']}/checkpoints/shard")
    assert r.status_code == 409, r.text
    assert "cannot remove" in r.json()["error"]["message"]
    assert [c["name"] for c in _checkpoints(client, run["id"])] == ["shard"]
    assert folder.is_dir()


def test_delete_refuses_a_file_that_resolves_outside(client: TestClient, tmp_path: Path) -> None:
    run, path = _run_with_checkpoint(client)
    outside = tmp_path / "precious.bin"
    outside.write_bytes(b"do not delete")
    path.unlink()
    path.symlink_to(outside)  # swapped in after registration
    (ckpt,) = _checkpoints(client, run["id"])
    assert ckpt["exists"] is False  # a link that points out is not the checkpoint
    r = client.delete(f"/api/runs/{run['id']}/checkpoints/e1.pt")
    assert r.status_code == 400 and "outside" in r.json()["error"]["message"]
    assert outside.read_bytes() == b"do not delete" and path.is_symlink()
    assert [c["name"] for c in _checkpoints(client, run["id"])] == ["e1.pt"]


def test_delete_of_a_link_inside_removes_the_link_not_its_target(client: TestClient) -> None:
    run, latest = _run_with_checkpoint(client, "latest.pt")
    _run_with_checkpoint_in(client, run, "epoch-3.pt", b"w3")
    latest.unlink()
    latest.symlink_to("epoch-3.pt")  # swapped for a link after registration
    assert client.delete(f"/api/runs/{run['id']}/checkpoints/latest.pt").status_code == 204
    assert not latest.is_symlink() and (latest.parent / "epoch-3.pt").read_bytes() == b"w3"
    assert [c["name"] for c in _checkpoints(client, run["id"])] == ["epoch-3.pt"]


def test_a_file_two_names_share_stays_until_the_last_goes(client: TestClient) -> None:
    run, path = _run_with_checkpoint(client, "epoch-3.pt")
    (path.parent / "best.pt").symlink_to("epoch-3.pt")
    _run_with_checkpoint_in(client, run, "best.pt", None)  # registered through the link
    assert {c["path"] for c in _checkpoints(client, run["id"])} == {"checkpoints/epoch-3.pt"}
    assert client.delete(f"/api/runs/{run['id']}/checkpoints/best.pt").status_code == 204
    assert path.read_bytes() == b"weights"
    (ckpt,) = _checkpoints(client, run["id"])
    assert (ckpt["name"], ckpt["exists"]) == ("epoch-3.pt", True)
    assert client.delete(f"/api/runs/{run['id']}/checkpoints/epoch-3.pt").status_code == 204
    assert not path.exists()


def test_delete_names_go_through_the_path_checks(client: TestClient) -> None:
    run, path = _run_with_checkpoint(client)
    for bad in ("..%2F..%2Fe1.pt", "a%00b", "..%5Ce1.pt", "C:%5Ce1.pt", "/etc/passwd"):
        r = client.delete(f"/api/runs/{run['id']}/checkpoints/{bad}")
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    # TestClient decodes twice (uvicorn once: see test_confinement.py): refused either way.
    assert client.delete(f"/api/runs/{run['id']}/checkpoints/%252e%252e").status_code in (400, 404)
    assert path.exists() and len(_checkpoints(client, run["id"])) == 1
