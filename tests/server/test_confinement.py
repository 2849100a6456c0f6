"""Every path a request names stays inside its run dir: one test per way out.

Each case goes twice: through TestClient, and as the raw URL to a real `runyard server`
(TestClient and httpx normalise `..` and decode twice, so they cannot show what uvicorn
sees). httpcore sends the request target byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ServerProcess

SECRET = b"TOP-SECRET-of-the-runs-root"
SIBLING = b"belongs-to-the-other-run"


@dataclass
class Runs:
    run_id: str
    other_id: str
    run_dir: Path


def _layout(run_dir: Path, other_dir: Path) -> None:
    """Run A holds a good file and links out; run B (a sibling) and the runs root hold
    what A's requests must never read."""
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    (run_dir / "logs" / "attempt-1.log").write_bytes(b"fine\n")
    (run_dir / "passwd").symlink_to("/etc/passwd")
    (run_dir / "sibling").symlink_to(other_dir)
    (run_dir / "up").symlink_to("..")
    (run_dir / "latest.log").symlink_to("logs/attempt-1.log")  # inside: allowed
    other_dir.mkdir(parents=True, exist_ok=True)
    (other_dir / "b.txt").write_bytes(SIBLING)
    (run_dir.parent / "secret.txt").write_bytes(SECRET)


# (what follows /api/runs/{id}/artifacts/ in the request target, the status uvicorn gives)
CASES = {
    "dot-dot": ("../secret.txt", 400),
    "dot-dot-to-sibling": ("../{other}/b.txt", 400),
    "encoded-dot-dot": ("%2e%2e%2fsecret.txt", 400),
    "encoded-dot-dot-upper": ("%2E%2E/%2E%2E/%2E%2E/etc/passwd", 400),
    "double-encoded": ("%252e%252e%252fsecret.txt", 404),
    "absolute": ("/etc/passwd", 400),
    "encoded-absolute": ("%2Fetc%2Fpasswd", 400),
    "symlink-to-etc-passwd": ("passwd", 400),
    "symlink-to-sibling-run": ("sibling/b.txt", 400),
    "symlink-to-runs-root": ("up/secret.txt", 400),
    "nul-byte": ("logs/attempt-1.log%00.png", 400),
    "windows-dot-dot": ("..%5Csecret.txt", 400),
    "windows-drive": ("C:%5CWindows%5Cwin.ini", 400),
    "windows-drive-slash": ("C:/secret.txt", 400),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Runs]]:
    server = ServerProcess(tmp_path_factory.mktemp("live") / "home").wait_ready()
    try:
        a = httpx.post(f"{server.url}/api/runs", json={}).json()
        b = httpx.post(f"{server.url}/api/runs", json={}).json()
        _layout(Path(a["run_dir"]), Path(b["run_dir"]))
        yield server, Runs(a["id"], b["id"], Path(a["run_dir"]))
    finally:
        server.stop()


@pytest.fixture
def runs(client: TestClient) -> Runs:
    a = client.post("/api/runs", json={}).json()
    b = client.post("/api/runs", json={}).json()
    _layout(Path(a["run_dir"]), Path(b["run_dir"]))
    return Runs(a["id"], b["id"], Path(a["run_dir"]))


def _raw(server: ServerProcess, method: str, target: str) -> tuple[int, bytes]:
    url = httpcore.URL(scheme=b"http", host=b"127.0.0.1", port=server.port, target=target.encode())
    r = httpcore.request(method, url, headers={"Host": f"127.0.0.1:{server.port}"})
    return r.status, r.content


def _assert_refused(status: int, body: bytes, expected: set[int]) -> None:
    assert status in expected, (status, body)
    assert SECRET not in body and SIBLING not in body and b"root:" not in body
    assert b'"error"' in body


@pytest.mark.parametrize("case", list(CASES))
def test_download_is_refused_over_the_wire(live: tuple[ServerProcess, Runs], case: str) -> None:
    server, runs = live
    suffix, status = CASES[case]
    target = f"/api/runs/{runs.run_id}/artifacts/{suffix.format(other=runs.other_id)}"
    _assert_refused(*_raw(server, "GET", target), {status})


@pytest.mark.parametrize("case", list(CASES))
def test_checkpoint_delete_is_refused_over_the_wire(
    live: tuple[ServerProcess, Runs], case: str
) -> None:
    server, runs = live
    suffix, status = CASES[case]
    target = f"/api/runs/{runs.run_id}/checkpoints/{suffix.format(other=runs.other_id)}"
    # A name is looked up, not opened: the ones that pass the checks are unknown names.
    _assert_refused(*_raw(server, "DELETE", target), {status, 404})
    assert (runs.run_dir.parent / "secret.txt").read_bytes() == SECRET


@pytest.mark.parametrize("case", list(CASES))
def test_download_is_refused_in_process(client: TestClient, runs: Runs, case: str) -> None:
    suffix, _ = CASES[case]
    r = client.get(f"/api/runs/{runs.run_id}/artifacts/{suffix.format(other=runs.other_id)}")
    # TestClient resolves `..` and decodes twice: some cases reach another route (404).
    _assert_refused(r.status_code, r.content, {400, 404})


def test_the_good_file_downloads_over_the_wire(live: tuple[ServerProcess, Runs]) -> None:
    server, runs = live
    for path in ("logs/attempt-1.log", "logs/./attempt-1.log", "latest.log"):
        assert _raw(server, "GET", f"/api/runs/{runs.run_id}/artifacts/{path}") == (200, b"fine\n")
    listing = httpx.get(f"{server.url}/api/runs/{runs.run_id}/artifacts").json()
    assert [f["path"] for f in listing["files"]] == ["logs/attempt-1.log"]
    assert listing["skipped_links"] == 4
