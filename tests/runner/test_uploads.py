"""Files sent from a machine without the server's disk: chunked, resumable, SHA-256 checked;
a retry resumes from the checkpoint it downloads (the same path the Ray backend uses)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.sdk import _upload
from runyard.server import _body
from runyard.server.app import create_app
from runyard.server.routes import uploads
from runyard.store import Store
from tests._faults import fill, tmpfs
from tests._raw_put import answer, begin_put
from tests.conftest import ServerProcess
from tests.runner.conftest import PROGRAMS


def _tracked(url: str) -> dict:
    r = httpx.post(f"{url}/api/runs", json={"name": "files"})
    assert r.status_code == 201, r.text
    return r.json()


def test_chunks_resume_at_the_servers_offset_and_are_checked(server: ServerProcess) -> None:
    run = _tracked(server.url)
    up = f"{server.url}/api/runs/{run['id']}/uploads/checkpoints/w.bin"
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    q = {"size": 1000, "sha256": sha}
    assert httpx.put(up, params={**q, "offset": 0}, content=data[:400]).json() == {
        "path": "checkpoints/w.bin", "received": 400, "complete": False, "receiving": False,
    }  # fmt: skip
    again = httpx.put(up, params={**q, "offset": 0}, content=data[:400])  # a lost reply resent
    assert again.status_code == 409 and "send from offset 400" in again.json()["error"]["message"]
    assert httpx.get(up).json()["received"] == 400
    done = httpx.put(up, params={**q, "offset": 400}, content=data[400:])
    assert done.json()["complete"] is True
    assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data
    assert not any((Path(run["run_dir"]) / ".uploads").iterdir())

    bad = httpx.put(up + "2", params={**q, "offset": 0}, content=b"x" * 1000)
    assert bad.status_code == 422 and "SHA-256" in bad.json()["error"]["message"]
    assert not (Path(run["run_dir"]) / "checkpoints" / "w.bin2").exists()
    outside = f"{server.url}/api/runs/{run['id']}/uploads/..%2Fescape"
    assert httpx.put(outside, params={**q, "offset": 0}, content=data).status_code == 400
    for elsewhere in ("logs/attempt-1.log", "checkpoints", "run.json", ".uploads/x"):
        where = f"{server.url}/api/runs/{run['id']}/uploads/{elsewhere}"
        assert httpx.put(where, params={**q, "offset": 0}, content=data).status_code == 400
    not_hex = httpx.put(up, params={"size": 1, "sha256": "zz", "offset": 0}, content=b"x")
    assert not_hex.status_code == 400


def test_a_job_on_scratch_uploads_its_files_and_its_retry_resumes_from_them(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_upload, "CHUNK", 1024 * 1024)
    script = (
        f'RUNYARD_RUN_DIR="{tmp_path}/scratch-$RUNYARD_ATTEMPT" '
        f"exec {sys.executable} {PROGRAMS / 'upload_resume.py'}"
    )
    r = httpx.post(
        f"{server.url}/api/runs",
        json={
            "command": ["/bin/sh", "-c", script],
            "env": {"RUNYARD_UPLOAD": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            "max_retries": 1,
            "retry_delay_s": 0.1,
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    deadline = time.monotonic() + 90
    while (run := httpx.get(f"{server.url}/api/runs/{rid}").json())["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
    logs = Path(run["run_dir"]) / "logs"
    assert run["status"] == "completed", (logs / "attempt-2.log").read_text()
    server_copy = Path(run["run_dir"]) / "checkpoints" / "weights.bin"
    node_copy = tmp_path / "scratch-1" / "checkpoints" / "weights.bin"
    assert server_copy.read_bytes() == node_copy.read_bytes()
    assert (Path(run["run_dir"]) / "artifacts" / "report.txt").read_text() == "made on a node\n"
    second = (logs / "attempt-2.log").read_text()
    fetched = tmp_path / "scratch-2" / "checkpoints" / "weights.bin"
    assert f"resume_from={fetched}" in second
    assert f"resumed {hashlib.sha256(server_copy.read_bytes()).hexdigest()}" in second
    assert fetched.read_bytes() == server_copy.read_bytes()


def test_the_sidecar_ships_what_a_program_without_the_sdk_writes(
    server: ServerProcess, tmp_path: Path
) -> None:
    program = (
        'for i in 1 2 3; do echo "{\\"step\\": $i, \\"loss\\": 0.$i}" '
        '>> "$RUNYARD_RUN_DIR/metrics.jsonl"; done; '
        'echo "{\\"epoch\\": 3, \\"total_epochs\\": 3}" > "$RUNYARD_RUN_DIR/progress.json"'
    )
    script = (
        f'RUNYARD_RUN_DIR="{tmp_path}/scratch" '
        f"exec {sys.executable} -m runyard.runner.sidecar /bin/sh -c '{program}'"
    )
    r = httpx.post(
        f"{server.url}/api/runs",
        json={
            "command": ["/bin/sh", "-c", script],
            "env": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            "max_retries": 0,
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    deadline = time.monotonic() + 60
    while (run := httpx.get(f"{server.url}/api/runs/{rid}").json())["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, run
        time.sleep(0.1)
    run_dir = Path(run["run_dir"])
    assert run["status"] == "completed", (run_dir / "logs" / "attempt-1.log").read_text()
    node = tmp_path / "scratch"
    for name in ("metrics.jsonl", "progress.json"):
        assert (run_dir / name).read_bytes() == (node / name).read_bytes()
    metrics = httpx.get(f"{server.url}/api/runs/{rid}/metrics", params={"keys": "loss"}).json()
    assert metrics["metrics"]["loss"]["steps"] == [1, 2, 3]
    assert metrics["metrics"]["loss"]["values"] == [0.1, 0.2, 0.3]


def test_the_sidecar_fills_in_the_node_local_resume_path() -> None:
    from runyard.runner.sidecar import with_resume

    path = Path("/scratch/a b/ckpt.pt")
    argv = with_resume(["python", "t.py", "--resume", "{resume_from}", "--x=1"], path)
    assert argv == ["python", "t.py", "--resume", "/scratch/a b/ckpt.pt", "--x=1"]
    shell = with_resume(["/bin/sh", "-c", "python t.py --resume '{resume_from}'"], path)
    assert shell[-1] == "python t.py --resume '/scratch/a b/ckpt.pt'"


def test_the_last_chunk_is_checked_whether_or_not_this_process_hashed_the_first(
    client: TestClient,
) -> None:
    """Chunks are hashed as they arrive; a server that forgot that hash (a restart, another
    worker) hashes the whole file at the end; both accept the right bytes only."""
    run = client.post("/api/runs", json={"name": "files"}).json()
    data = os.urandom(3000)
    q = {"size": 3000, "sha256": hashlib.sha256(data).hexdigest()}
    for forget in (False, True):
        up = f"/api/runs/{run['id']}/uploads/checkpoints/{forget}.bin"
        assert client.put(up, params={**q, "offset": 0}, content=data[:1000]).is_success
        if forget:
            uploads._HASHES.clear()
        # sent without a length (chunked): the part past the size is refused, nothing kept
        over = client.put(up, params={**q, "offset": 1000}, content=iter([data[1000:], b"xx"]))
        assert over.status_code == 400 and "past the file's size" in over.text
        assert client.get(up).json()["received"] == 1000
        done = client.put(up, params={**q, "offset": 1000}, content=data[1000:])
        assert done.json()["complete"] is True, done.text
        assert (Path(run["run_dir"]) / "checkpoints" / f"{forget}.bin").read_bytes() == data
    up = f"/api/runs/{run['id']}/uploads/checkpoints/torn.bin"
    client.put(up, params={**q, "offset": 0}, content=data[:1000])
    torn = client.put(up, params={**q, "offset": 1000}, content=b"y" * 2000)
    assert torn.status_code == 422 and not (Path(run["run_dir"]) / "checkpoints/torn.bin").exists()


def test_a_file_rewritten_while_it_is_sent_is_refused_torn_and_sent_again(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint rewritten in place while it is sent (torch.save to the same path) would
    arrive torn: the server refuses the mix by its hash (the client hashes the file as it is
    now for the last chunk), and the file is sent again whole."""
    monkeypatch.setattr(_upload, "CHUNK", 1000)
    monkeypatch.setattr(_upload, "TAIL", 1000)  # all but the last 1000 bytes go unhashed
    monkeypatch.setattr(_upload, "RETRY_S", (0.05,))
    run = _tracked(server.url)
    scratch = tmp_path / "scratch"
    (scratch / "checkpoints").mkdir(parents=True)
    path = scratch / "checkpoints" / "w.bin"
    old, new = os.urandom(3000), os.urandom(3000)
    path.write_bytes(old)
    up = _upload.Uploader(server.url, None, run["id"], scratch)
    sent: list[int] = []
    put = up._put

    def rewriting_put(url: str, f: Any, offset: int, length: int) -> tuple[int, bytes]:
        code, body = put(url, f, offset, length)
        sent.append(code)
        if len(sent) == 1:
            path.write_bytes(new)  # in place, between the first chunk and the rest
        return code, body

    monkeypatch.setattr(up, "_put", rewriting_put)
    up.send("checkpoints/w.bin")
    assert up.close(60) is True
    assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == new
    assert 422 in sent  # the torn copy was refused


@pytest.mark.parametrize("direct", [True, False], ids=["sendfile", "through-httpx"])
def test_a_file_cut_short_while_it_is_sent_goes_on_from_what_arrived(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    """A file truncated while a chunk is sent: the request stops short (sendfile's count, or
    the piece that is not there), the next try asks the server where to go on, and the file
    as it is now arrives whole and checked; both ways of sending (sendfile on a connection of
    its own, and httpx piece by piece, taken where a proxy is set) do it."""
    monkeypatch.setattr(_upload, "CHUNK", 4000)
    monkeypatch.setattr(_upload, "PIECE", 1000)
    monkeypatch.setattr(_upload, "RETRY_S", (0.05, 0.05))
    run = _tracked(server.url)
    scratch = tmp_path / "scratch"
    (scratch / "checkpoints").mkdir(parents=True)
    path = scratch / "checkpoints" / "cut.bin"
    path.write_bytes(os.urandom(10_000))
    up = _upload.Uploader(server.url, None, run["id"], scratch)
    up._direct = direct
    put = up._put
    calls: list[tuple[int, int]] = []

    def cutting_put(url: str, f: Any, offset: int, length: int) -> tuple[int, bytes]:
        calls.append((offset, length))
        if len(calls) == 2:
            os.truncate(path, 6000)  # mid-file: the second chunk (4000-8000) is not there
        return put(url, f, offset, length)

    monkeypatch.setattr(up, "_put", cutting_put)
    up.send("checkpoints/cut.bin")
    assert up.close(60) is True
    assert (Path(run["run_dir"]) / "checkpoints" / "cut.bin").read_bytes() == path.read_bytes()
    assert calls[0] == (0, 4000) and calls[1] == (4000, 4000)
    assert len(path.read_bytes()) == 6000
    (scratch / "checkpoints" / "empty.bin").write_bytes(b"")  # a body of nothing
    up = _upload.Uploader(server.url, None, run["id"], scratch)
    up._direct = direct
    up.send("checkpoints/empty.bin")
    assert up.close(60) is True
    assert (Path(run["run_dir"]) / "checkpoints" / "empty.bin").read_bytes() == b""


def test_uploads_go_direct_unless_a_proxy_is_set_for_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert _upload._direct("http://10.0.0.5:8080/api/runs/r")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.lab:3128")
    assert not _upload._direct("http://10.0.0.5:8080/api/runs/r")
    assert _upload._direct("https://10.0.0.5:8080/api/runs/r")
    monkeypatch.setenv("NO_PROXY", "10.0.0.5")
    assert _upload._direct("http://10.0.0.5:8080/api/runs/r")


def test_a_placed_checkpoint_is_sent_with_the_hash_it_was_placed_with(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run.checkpoint` hashes what it places; the upload reuses that hash while the file is
    as it was hashed, hashes afresh a file changed since, and a known hash the server refuses
    (a rewrite that kept size, mtime and inode) is dropped for the next try."""
    from runyard.sdk._files import place

    monkeypatch.setattr(_upload, "CHUNK", 1000)
    monkeypatch.setattr(_upload, "RETRY_S", (0.05,))
    run = _tracked(server.url)
    scratch = tmp_path / "scratch"
    arrived = Path(run["run_dir"]) / "checkpoints"
    hashed: list[str] = []
    sha256_of = _upload._sha256_of

    def counted(path: Path) -> str:
        hashed.append(path.name)
        return sha256_of(path)

    monkeypatch.setattr(_upload, "_sha256_of", counted)
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(2500))
    placed = place(src, scratch, "checkpoints", None)
    up = _upload.Uploader(server.url, None, run["id"], scratch)
    up.send(placed.relpath, known=(placed.sha256, placed.hashed))
    assert up.wait(60) and not up.failed
    assert (arrived / "a.bin").read_bytes() == src.read_bytes() and hashed == []

    b = tmp_path / "b.bin"
    b.write_bytes(os.urandom(2500))
    placed = place(b, scratch, "checkpoints", None)
    new = os.urandom(3100)
    placed.path.write_bytes(new)  # rewritten after it was hashed: another size and mtime
    up.send(placed.relpath, known=(placed.sha256, placed.hashed))
    assert up.wait(60) and not up.failed
    assert (arrived / "b.bin").read_bytes() == new and hashed == ["b.bin"]

    c = tmp_path / "c.bin"
    c.write_bytes(os.urandom(2500))
    placed = place(c, scratch, "checkpoints", None)
    st = placed.path.stat()
    same_size = os.urandom(2500)
    with open(placed.path, "r+b") as f:  # in place: the inode and size stay
        f.write(same_size)
    os.utime(placed.path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the mtime looks the same
    up.send(placed.relpath, known=(placed.sha256, placed.hashed))
    assert up.close(60) is True
    assert (arrived / "c.bin").read_bytes() == same_size and hashed == ["b.bin", "c.bin"]


def test_a_second_request_for_a_file_being_received_waits_its_turn(
    server: ServerProcess,
) -> None:
    """Two requests appending to one file at once (a client that gave up on a chunk the server
    still receives, a job's retry beside its first try) would interleave their bytes; and once
    one had sealed the file, the other appended to, or truncated, the sealed file itself. The
    second is answered 409 until the first has ended."""
    run = _tracked(server.url)
    data = os.urandom(1 << 20)
    half = len(data) // 2
    rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
    query = urllib.parse.urlencode(
        {"offset": 0, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    first = begin_put(server.port, f"{rel}?{query}", len(data), data[:half])
    try:
        _wait(lambda: httpx.get(server.url + rel).json()["received"] == half, "half arrived")
        assert httpx.get(server.url + rel).json()["receiving"] is True
        q = {"offset": half, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        second = httpx.put(server.url + rel, params=q, content=data[half:])
        assert second.status_code == 409, second.text
        assert second.json()["error"]["code"] == "upload_in_progress"
        first.sendall(data[half:])
        status, body = answer(first)
    finally:
        first.close()
    assert (status, body["complete"]) == (200, True)
    assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data
    assert httpx.get(server.url + rel).json()["receiving"] is False


def test_a_stalled_chunk_is_ended_and_the_uploader_goes_on_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client gone quiet mid-chunk (its node died: nothing tells the server) is given up after
    RUNYARD_UPLOAD_IDLE_S with what arrived kept; the SDK's uploader sees the file being
    received, waits for that request's end without sending a body only to be refused (one
    PUT a second would be 8 MB each here), then sends the rest."""
    puts: list[int] = []
    real_put = _upload.Uploader._put

    def counted(self: _upload.Uploader, url: str, f: Any, offset: int, length: int) -> Any:
        puts.append(length)
        return real_put(self, url, f, offset, length)

    monkeypatch.setattr(_upload.Uploader, "_put", counted)
    srv = ServerProcess(tmp_path / "home", env={"RUNYARD_UPLOAD_IDLE_S": "5"}).wait_ready()
    try:
        run = _tracked(srv.url)
        scratch = tmp_path / "scratch"
        (scratch / "checkpoints").mkdir(parents=True)
        data = os.urandom(9 << 20)
        (scratch / "checkpoints" / "w.bin").write_bytes(data)
        rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
        query = urllib.parse.urlencode(
            {"offset": 0, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
        stalled = begin_put(srv.port, f"{rel}?{query}", len(data), data[: 1 << 20])
        try:
            _wait(lambda: httpx.get(srv.url + rel).json()["received"] == 1 << 20, "1 MB arrived")
            up = _upload.Uploader(srv.url, None, run["id"], scratch)
            up.send("checkpoints/w.bin")
            assert up.close(60) is True
            assert len(puts) <= 2, puts  # (2: the stalled one ended between its GET and PUT)
            status, body = answer(stalled)
        finally:
            stalled.close()
        assert status == 408 and "no byte of the chunk for 5 s" in body["error"]["message"]
        assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data
    finally:
        srv.stop()


def _wait(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not in {timeout:g} s"
        time.sleep(0.05)


@contextlib.contextmanager
def _on_tmpfs(
    tmp_path: Path, sqlite_template: Path, size: str
) -> Iterator[tuple[Path, TestClient, dict[str, Any]]]:
    """The server's app in this process, its home on a tmpfs of `size`, and a run: (home,
    client, run)."""
    with tmpfs(tmp_path / "home", size) as home:
        shutil.copyfile(sqlite_template, home / "runyard.db")
        settings = Settings(home=home)
        store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
        try:
            with TestClient(create_app(settings, store)) as client:
                yield home, client, client.post("/api/runs", json={"name": "files"}).json()
        finally:
            store.close()


def test_a_chunk_onto_a_full_disk_is_answered_507_and_the_upload_goes_on_once_there_is_room(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up mid-chunk: a 507 naming the filesystem (not a 500), what was written
    stays, the file is not claimed any longer, and the rest lands it whole once there is
    room. (Blocks are reserved 64 KB ahead here, not 32 MB: the disk fills past them.)"""
    monkeypatch.setattr(_body, "RESERVE_AHEAD", 64 << 10)
    with _on_tmpfs(tmp_path, sqlite_template, "8m") as (home, client, run):
        up = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
        data = os.urandom(3 << 20)
        q = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        first = client.put(up, params={**q, "offset": 0}, content=data[:100_000])
        assert first.status_code == 200, first.text
        filler = fill(home)
        full = client.put(up, params={**q, "offset": 100_000}, content=data[100_000:])
        assert full.status_code == 507, full.text
        assert full.json()["error"]["code"] == "insufficient_storage"
        assert str(home) in full.json()["error"]["message"]
        filler.unlink()
        have = client.get(up).json()["received"]
        assert 100_000 <= have < len(data)
        rest = client.put(up, params={**q, "offset": have}, content=data[have:])
        assert rest.status_code == 200 and rest.json()["complete"] is True, rest.text
        assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data


def test_blocks_are_reserved_ahead_of_a_chunk_and_no_further_than_reserve_ahead(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The partial file's blocks are reserved ahead of the bytes (fewer, larger allocations),
    its size still what arrived (the offset to go on from); and however large a file a client
    declares, no more than RESERVE_AHEAD past what it sent: a client that declares 200 MB and
    sends 2 MB holds ~34 MB of the disk, not 200."""
    sent = 2 << 20
    with _on_tmpfs(tmp_path, sqlite_template, "256m") as (_, client, run):
        up = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
        q = {"size": 200 << 20, "sha256": "0" * 64, "offset": 0}
        r = client.put(up, params=q, content=os.urandom(sent))
        assert r.status_code == 200 and r.json()["received"] == sent, r.text
        (part,) = (Path(run["run_dir"]) / uploads.PARTS).iterdir()
        st = part.stat()
        assert st.st_size == sent
        held = st.st_blocks * 512
        assert sent + _body.RESERVE_AHEAD // 2 < held <= sent + _body.RESERVE_AHEAD, held
        assert client.get(up).json()["received"] == sent
