"""The spool file: whole records only, a torn tail ignored, the acked marker, the row batching."""

from __future__ import annotations

from pathlib import Path

import orjson

from runyard.sdk._batch import metrics_body
from runyard.sdk._spool import SourceSpool, SpoolWriter, new_source, read_records, sources


def test_records_round_trip_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    spool = SourceSpool(tmp_path / "spool", new_source())
    writer = SpoolWriter(spool)
    ends = [writer.append(i, "metrics", f'{{"n": {i}}}'.encode()) for i in range(3)]
    writer.sync()
    writer.close()
    with open(spool.path, "ab") as f:  # a crash in the middle of the next record
        f.write(b'{"seq":3,"op":"finish","len":50,"crc":1}\n{"status":')
    records = list(read_records(spool.path, 0))
    assert [(r.seq, r.op, r.body, r.end) for r in records] == [
        (i, "metrics", f'{{"n": {i}}}'.encode(), ends[i]) for i in range(3)
    ]
    assert [r.seq for r in read_records(spool.path, ends[0])] == [1, 2]
    assert list(read_records(spool.path, 0, end=ends[1]))[-1].seq == 1


def test_a_corrupt_record_ends_the_file(tmp_path: Path) -> None:
    spool = SourceSpool(tmp_path / "spool", new_source())
    writer = SpoolWriter(spool)
    writer.append(0, "patch", b'{"params": {"a": 1}}')
    writer.close()
    data = bytearray(spool.path.read_bytes())
    data[-3] ^= 0xFF  # flip a byte of the body: the CRC no longer matches
    spool.path.write_bytes(bytes(data))
    assert list(read_records(spool.path, 0)) == []


def test_acked_marker_is_replaced_whole(tmp_path: Path) -> None:
    spool = SourceSpool(tmp_path / "spool", new_source())
    assert spool.acked() == (-1, 0)
    spool.dir.mkdir()
    spool.mark_acked(4, 1234)
    assert spool.acked() == (4, 1234)
    spool.acked_path.write_bytes(b"{garbage")  # unreadable: start over, replays are harmless
    assert spool.acked() == (-1, 0)
    assert not list(spool.dir.glob(".*.tmp"))


def test_sources_sort_by_start_time(tmp_path: Path) -> None:
    names = [new_source() for _ in range(5)]
    for name in reversed(names):
        (tmp_path / "spool").mkdir(exist_ok=True)
        (tmp_path / "spool" / f"{name}.spool").write_bytes(b"")
    assert [s.source for s in sources(tmp_path)] == names
    assert all(1 <= len(n) <= 64 for n in names)


def test_rows_become_aligned_columns_per_key() -> None:
    rows = [
        {0: 0, 1: 10.0, "a": 1.0, "b": 2.0},
        {0: 1, 1: 11.0, "a": 3.0, "b": float("inf")},
        {0: 2, 1: 12.0, "b": float("nan"), "a": -1.0},  # same keys, another order
        {0: 5, 1: 13.0, "c": 7.0},
    ]
    body = orjson.loads(metrics_body("src", 9, rows))
    assert (body["source"], body["seq"]) == ("src", 9)
    m = body["metrics"]
    assert m["a"] == {
        "steps": [0, 1, 2],
        "values": [1.0, 3.0, -1.0],
        "timestamps": [10.0, 11.0, 12.0],
    }
    assert m["b"] == {
        "steps": [0, 1, 2],
        "values": [2.0, "Infinity", None],
        "timestamps": [10.0, 11.0, 12.0],
    }
    assert m["c"] == {"steps": [5], "values": [7.0], "timestamps": [13.0]}
