"""The hash of a file being received, made in a thread as it arrives: from the pieces the
event loop received, or from the file's new pages where the body went into the file by
splice(2)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from runyard.server._hasher import HASH_BEHIND, Hasher


def test_a_body_waits_for_its_hash_once_it_is_far_behind() -> None:
    """The hashing thread may fall behind what the event loop receives; past HASH_BEHIND
    the body waits for it (memory stays bounded, and no backlog is left for the end)."""

    piece = os.urandom(1 << 20)
    count = 3 * HASH_BEHIND // len(piece)

    async def feed() -> tuple[int, str]:
        hasher = Hasher(hashlib.sha256())
        most = 0
        for _ in range(count):
            hasher.update([piece])
            most = max(most, hasher.behind)
            if hasher.behind > HASH_BEHIND:
                await hasher.caught_up()
                assert hasher.behind <= HASH_BEHIND // 2
        return most, hasher.result().hexdigest()

    most, digest = asyncio.run(feed())
    assert most <= HASH_BEHIND + len(piece)
    assert digest == hashlib.sha256(piece * count).hexdigest()


def test_pieces_and_ranges_of_the_file_hash_as_one_whatever_their_bounds(tmp_path: Path) -> None:
    """A head received as bytes, then ranges of the file that start and end off page bounds."""
    data = os.urandom((5 << 20) + 12345)
    path = tmp_path / "f.part"
    path.write_bytes(data)
    hasher = Hasher(hashlib.sha256())
    hasher.update([data[:1000]])
    hasher.read_from(os.open(path, os.O_RDONLY))
    for end in (1001, 4096, 4097, (3 << 20) + 5, len(data)):
        hasher.upto(end)
    hasher.read_from(-1)
    assert hasher.queued == len(data)
    assert hasher.result().hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_file_cut_short_under_its_hash_gives_no_hash_rather_than_a_wrong_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.part"
    path.write_bytes(os.urandom(1 << 20))
    hasher = Hasher(hashlib.sha256())
    hasher.read_from(os.open(path, os.O_RDONLY))
    hasher.upto(2 << 20)  # past the file's end
    assert hasher.result() is None
