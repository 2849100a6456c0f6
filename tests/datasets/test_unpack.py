"""Unpacking: hostile archives are refused with nothing left on disk; good ones come out whole."""

from __future__ import annotations

import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from runyard.datasets.unpack import CorruptArchive, Limits, UnsafeArchive, unpack
from tests.datasets._archives import (
    Member,
    flip_data_byte,
    lie_about_size,
    write_tar,
    write_zip,
    zip_bytes,
)

SMALL = Limits(max_bytes=4 << 20, max_ratio=50, max_entries=100)


def snapshot(root: Path) -> set[str]:
    out = set()
    for d, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            out.add(os.path.relpath(os.path.join(d, name), root))
    return out


@pytest.fixture
def place(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "box" / "deep").mkdir(parents=True)
    return tmp_path


def refused(place: Path, archive: Path, error: type[Exception], limits: Limits = SMALL) -> str:
    """Unpack must raise ``error`` and leave the tree exactly as it was."""
    before = snapshot(place)
    dest = place / "box" / "deep" / "out"
    with pytest.raises(error) as caught:
        unpack(archive, dest, limits)
    assert snapshot(place) == before, "a refused archive left something on disk"
    return str(caught.value)


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "a\\..\\..\\evil.txt"],
)
@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_entries_escaping_the_target_are_refused(place: Path, name: str, fmt: str) -> None:
    members = [Member("ok.txt", b"fine"), Member(name, b"pwned")]
    if fmt == "zip":
        archive = write_zip(place / "src" / "a.zip", members)
    else:
        archive = write_tar(place / "src" / "a.tar", members)
    message = refused(place, archive, UnsafeArchive)
    assert repr(name) in message


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([Member("l", kind="symlink", link="/etc/passwd")], "absolute"),
        ([Member("l", kind="symlink", link="../../outside")], "outside"),
        ([Member("l", kind="symlink", link=".."), Member("l/evil.txt", b"x")], "outside"),
        ([Member("s", kind="symlink", link="x/.."), Member("x", kind="symlink", link=".")], ""),
        ([Member("h", kind="hardlink", link="../outside")], "outside"),
        ([Member("h", kind="hardlink", link="/etc/passwd")], ""),
        ([Member("dev", kind="chr")], "device"),
        ([Member("pipe", kind="fifo")], "FIFO"),
    ],
)
def test_tar_links_out_and_special_files_are_refused(
    place: Path, members: list[Member], why: str
) -> None:
    archive = write_tar(place / "src" / "a.tar.gz", [Member("ok.txt", b"ok"), *members], "w:gz")
    assert why in refused(place, archive, UnsafeArchive)


@pytest.mark.parametrize(
    "members",
    [
        [Member("l", kind="symlink", link="../../../etc")],
        [Member("l", kind="symlink", link="/etc")],
        [Member("l", kind="symlink", link="."), Member("m", kind="symlink", link="l/..")],
        [Member("s", kind="symlink", link="x/.."), Member("x", kind="symlink", link=".")],
        [Member("p", kind="fifo")],
        [Member("c", kind="chr")],
        [Member("twice.txt", b"a"), Member("twice.txt", b"b")],
    ],
)
def test_zip_links_out_special_files_and_duplicates_are_refused(
    place: Path, members: list[Member]
) -> None:
    archive = write_zip(place / "src" / "a.zip", [Member("ok.txt", b"ok"), *members])
    refused(place, archive, UnsafeArchive)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_total_size_over_the_limit_is_refused(place: Path, fmt: str) -> None:
    big = os.urandom(1 << 20)  # incompressible: the ratio stays near 1
    members = [Member(f"f{i}.bin", big) for i in range(5)]
    if fmt == "zip":
        archive = write_zip(place / "src" / "a.zip", members)
    else:
        archive = write_tar(place / "src" / "a.tar.gz", members, "w:gz")
    assert "more than 4194304 bytes" in refused(place, archive, UnsafeArchive)


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "tar.bz2", "tar.xz"])
def test_a_compression_bomb_is_refused_by_its_ratio(place: Path, fmt: str) -> None:
    members = [Member("zeros.bin", bytes(3 << 20))]
    if fmt == "zip":
        archive = write_zip(place / "src" / "a.zip", members)
    else:
        archive = write_tar(place / "src" / f"a.{fmt}", members, f"w:{fmt.split('.')[1]}")
    assert "expands more than 50 times" in refused(place, archive, UnsafeArchive)


def test_a_nested_zip_bomb_is_refused_by_the_shared_budget(place: Path) -> None:
    inner = zip_bytes([Member("zeros.bin", bytes(2 << 20))])  # ~2 KB for 2 MB
    assert len(inner) < 10_000
    outer = write_zip(
        place / "src" / "outer.zip",
        [Member(f"layer{i}.zip", inner) for i in range(3)],
        compression=zipfile.ZIP_STORED,  # the outer layer alone looks harmless: ratio ~1
    )
    assert "expands more than 50 times" in refused(place, outer, UnsafeArchive)


def test_archives_nested_too_deep_are_refused(place: Path) -> None:
    data = zip_bytes([Member("x.txt", b"core")])
    for level in range(4):
        data = zip_bytes([Member(f"level{level}.zip", data)])
    archive = place / "src" / "deep.zip"
    archive.write_bytes(data)
    assert "more than 3 levels" in refused(place, archive, UnsafeArchive)


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_more_entries_than_the_limit_are_refused(place: Path, fmt: str) -> None:
    members = [Member(f"f{i}.txt", b"x") for i in range(101)]
    if fmt == "zip":
        archive = write_zip(place / "src" / "a.zip", members)
    else:
        archive = write_tar(place / "src" / "a.tar", members)
    assert "more than 100 entries" in refused(place, archive, UnsafeArchive)


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.bz2", "tar.xz", "zip"])
def test_a_truncated_archive_is_refused(place: Path, fmt: str) -> None:
    members = [Member(f"f{i}.bin", os.urandom(50_000)) for i in range(4)]
    if fmt == "zip":
        archive = write_zip(place / "src" / "a.zip", members)
    else:
        archive = write_tar(place / "src" / f"a.{fmt}", members, f"w:{fmt.split('.')[1]}")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])
    refused(place, archive, CorruptArchive)


def test_a_crc_corrupted_zip_is_refused(place: Path) -> None:
    archive = write_zip(
        place / "src" / "a.zip", [Member("a.bin", os.urandom(4096))], zipfile.ZIP_STORED
    )
    flip_data_byte(archive)
    assert "CRC" in refused(place, archive, CorruptArchive)


def test_a_corrupted_tar_gz_is_refused_by_its_crc(place: Path) -> None:
    archive = write_tar(place / "src" / "a.tar.gz", [Member("a.bin", bytes(1000))], "w:gz")
    raw = bytearray(archive.read_bytes())
    raw[-8] ^= 0xFF  # the gzip trailer's CRC-32
    archive.write_bytes(bytes(raw))
    assert "CRC" in refused(place, archive, CorruptArchive)


@pytest.mark.parametrize("declared", [100, 8 << 20])
def test_a_zip_whose_header_lies_about_sizes_is_refused(place: Path, declared: int) -> None:
    archive = write_zip(place / "src" / "a.zip", [Member("a.bin", bytes(1 << 20))])
    lie_about_size(archive, declared)
    # Smaller than the truth: the stream is cut at the declared size and its CRC fails.
    # Larger: the declared total alone is over the limit, refused before a byte is written.
    refused(place, archive, (CorruptArchive, UnsafeArchive))  # type: ignore[arg-type]


def test_not_an_archive_is_a_bad_request(place: Path) -> None:
    path = place / "src" / "notes.txt"
    path.write_text("hello")
    from runyard.errors import BadRequest

    assert "not an archive" in refused(place, path, BadRequest)


@pytest.mark.parametrize(
    ("suffix", "mode"),
    [
        (".tar", "w"),
        (".tar.gz", "w:gz"),
        (".tgz", "w:gz"),
        (".tar.bz2", "w:bz2"),
        (".tar.xz", "w:xz"),
    ],
)
def test_good_tars_come_out_whole_with_inside_links(place: Path, suffix: str, mode: str) -> None:
    members = [
        Member("data", kind="dir"),
        Member("data/a.txt", b"alpha"),
        Member("data/sub/b.txt", b"beta"),
        Member("data/link.txt", kind="symlink", link="a.txt"),
        Member("data/hard.txt", kind="hardlink", link="data/a.txt"),
    ]
    archive = write_tar(place / "src" / f"a{suffix}", members, mode)
    dest = unpack(archive, place / "box" / "out", SMALL)
    assert (dest / "data" / "a.txt").read_bytes() == b"alpha"
    assert (dest / "data" / "sub" / "b.txt").read_bytes() == b"beta"
    assert (dest / "data" / "link.txt").read_bytes() == b"alpha"
    assert (dest / "data" / "hard.txt").read_bytes() == b"alpha"
    assert sorted(os.listdir(place / "box")) == ["deep", "out"]  # no partial left


def test_a_zip_with_a_nested_archive_unpacks_it_in_place(place: Path) -> None:
    inner = zip_bytes([Member("img/1.txt", b"one")])
    tar_path = write_tar(place / "src" / "t.tar.gz", [Member("x.txt", b"tx")], "w:gz")
    archive = write_zip(
        place / "src" / "a.zip",
        [
            Member("train.zip", inner),
            Member("extra.tar.gz", tar_path.read_bytes()),
            Member("link", kind="symlink", link="train"),
        ],
    )
    dest = unpack(archive, place / "box" / "out", SMALL)
    assert (dest / "train" / "img" / "1.txt").read_bytes() == b"one"
    assert (dest / "extra" / "x.txt").read_bytes() == b"tx"
    assert not (dest / "train.zip").exists() and not (dest / "extra.tar.gz").exists()
    assert (dest / "link" / "img" / "1.txt").read_bytes() == b"one"


def test_the_target_must_not_exist(place: Path) -> None:
    archive = write_zip(place / "src" / "a.zip", [Member("a.txt", b"a")])
    (place / "box" / "out").mkdir()
    from runyard.errors import BadRequest

    with pytest.raises(BadRequest, match="exists already"):
        unpack(archive, place / "box" / "out", SMALL)


def test_tarfile_reads_what_write_tar_writes(tmp_path: Path) -> None:
    """The hostile-tar builder really writes the link types the refusals are about."""
    path = write_tar(
        tmp_path / "a.tar",
        [Member("l", kind="symlink", link="/x"), Member("p", kind="fifo")],
    )
    with tarfile.open(path) as tf:
        assert [m.issym() for m in tf] == [True, False]
        assert tf.getmember("p").isfifo()
