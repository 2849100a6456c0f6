"""An upload chunk's body taken from its socket and moved into the file inside the kernel
(`_body.py`, `_splice.py`), on a real server: every byte lands, hashed on the way, whatever the
chunks' sizes; a client gone mid-chunk, a disk that fills up, and a server that stops each
leave what arrived, and the upload goes on from there."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from runyard.server import _body
from tests._faults import fill, tmpfs
from tests._raw_put import answer, begin_put
from tests._wait import until
from tests.conftest import ServerProcess

ENDED = {"complete": False, "receiving": False}


def _run(url: str) -> dict[str, Any]:
    r = httpx.post(f"{url}/api/runs", json={"name": "files"})
    assert r.status_code == 201, r.text
    return r.json()


def _put(port: int, rel: str, data: bytes, offset: int, end: int) -> http.client.HTTPResponse:
    query = urllib.parse.urlencode(
        {"offset": offset, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("PUT", f"{rel}?{query}", body=data[offset:end])
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _status(url: str, rel: str) -> dict[str, Any]:
    r = httpx.get(url + rel)
    assert r.status_code == 200, r.text
    return r.json()


def test_chunks_of_any_size_land_whole_and_hashed_on_the_way(server: ServerProcess) -> None:
    """Chunks that start and end off page boundaries, larger than the 8 MB between two hand-
    overs to the hash: the file arrives whole and its hash (made as it came, carried from one
    chunk to the next) matches. They come one after another on one connection: a body read
    whole leaves it open for the next (so that the next chunk comes to the same process, where
    the hash of the ones before is)."""
    run = _run(server.url)
    rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
    data = os.urandom(21 * 1024 * 1024 + 12345)
    query = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    cuts = [0, 4097, 9 * 1024 * 1024 + 1, len(data)]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.connect()
        sock = conn.sock
        for start, end in zip(cuts, cuts[1:], strict=False):
            params = urllib.parse.urlencode({**query, "offset": start})
            conn.request("PUT", f"{rel}?{params}", body=data[start:end])
            response = conn.getresponse()
            assert (response.status, json.loads(response.read())["received"]) == (200, end)
            assert not response.will_close
            assert conn.sock is sock
    finally:
        conn.close()
    assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data


def test_a_client_gone_mid_chunk_leaves_what_it_sent_to_go_on_from(server: ServerProcess) -> None:
    run = _run(server.url)
    rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
    data = os.urandom(12 << 20)
    sent = 9 * 1024 * 1024 + 333
    query = urllib.parse.urlencode(
        {"offset": 0, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    begin_put(server.port, f"{rel}?{query}", len(data), data[:sent]).close()
    until(
        lambda: _status(server.url, rel) | {"path": ""} == {"path": "", **ENDED, "received": sent},
        what="the request ended with what was sent",
        state=lambda: _status(server.url, rel),
    )
    response = _put(server.port, rel, data, sent, len(data))
    assert response.status == 200
    assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data


def test_a_disk_full_mid_chunk_is_answered_507_to_a_client_still_sending(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The write fails with the client still sending: the rest of its body is read and
    dropped, so that it reads the 507 (not a reset connection); what was written stays, and
    the upload goes on from there once there is room. The file is larger than the blocks
    reserved ahead of it (RESERVE_AHEAD), so that the disk fills up under the chunk."""
    data = os.urandom(_body.RESERVE_AHEAD + (64 << 20))  # (more than the sockets hold)
    with tmpfs(tmp_path / "home", "128m") as home:
        shutil.copyfile(sqlite_template, home / "runyard.db")
        srv = ServerProcess(home).wait_ready()
        try:
            run = _run(srv.url)
            rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
            assert _put(srv.port, rel, data, 0, 100_000).status == 200
            filler = fill(home)
            query = urllib.parse.urlencode(
                {"offset": 100_000, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            conn.request("PUT", f"{rel}?{query}", body=data[100_000:])
            full = conn.getresponse()
            error = json.loads(full.read())["error"]
            conn.close()
            assert (full.status, error["code"]) == (507, "insufficient_storage"), error
            filler.unlink()
            have = _status(srv.url, rel)["received"]
            assert 100_000 < have < len(data)
            assert _put(srv.port, rel, data, have, len(data)).status == 200
            assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data
        finally:
            srv.stop()


def test_a_server_stopping_mid_chunk_ends_it_at_once_and_keeps_what_arrived(
    tmp_path: Path,
) -> None:
    """A stop does not wait for a quiet client's idle time (60 s) to run out: the chunk is
    answered 503 with what arrived kept, and after the restart the upload goes on from it."""
    home = tmp_path / "home"
    srv = ServerProcess(home).wait_ready()
    run = _run(srv.url)
    rel = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
    data = os.urandom(4 << 20)
    query = urllib.parse.urlencode(
        {"offset": 0, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    sock = begin_put(srv.port, f"{rel}?{query}", len(data), data[: 1 << 20])
    try:
        until(lambda: _status(srv.url, rel)["received"] == 1 << 20, what="1 MB arrived")
        stopped_at = time.monotonic()
        srv.proc.terminate()
        status, body = answer(sock)
        srv.proc.wait(timeout=15)
        assert time.monotonic() - stopped_at < 15
    finally:
        sock.close()
        srv.stop()
    assert (status, body["error"]["code"]) == (503, "server_stopping"), body
    again = ServerProcess(home).wait_ready()
    try:
        assert _status(again.url, rel)["received"] == 1 << 20
        assert _put(again.port, rel, data, 1 << 20, len(data)).status == 200
        assert (Path(run["run_dir"]) / "checkpoints" / "w.bin").read_bytes() == data
    finally:
        again.stop()
