"""TFRecord framing of TensorBoard event files, read as they grow, against TensorBoard's own
reader on a real file written by torch's SummaryWriter."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from torch.utils.tensorboard import SummaryWriter

from runyard.capture import _records
from runyard.capture._records import CorruptRecord, RecordTail


def _event_file(tmp_path: Path, n: int = 300) -> Path:
    writer = SummaryWriter(str(tmp_path / "tb"))
    for step in range(n):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        if step % 50 == 0:
            writer.add_text("note", "x" * step, step)  # records of other sizes
    writer.close()
    (path,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    return path


def test_the_records_are_tensorboards_own(tmp_path: Path) -> None:
    path = _event_file(tmp_path)
    theirs = list(RawEventFileLoader(str(path)).Load())
    assert list(RecordTail(path).read()) == theirs and len(theirs) > 300


@pytest.mark.parametrize("chunk", [_records.CHUNK, 64])  # 64: records larger than a chunk
def test_a_file_read_as_it_grows_gives_each_record_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(_records, "CHUNK", chunk)
    data = _event_file(tmp_path).read_bytes()
    growing = tmp_path / "growing"
    tail = RecordTail(growing)
    got: list[bytes] = []
    with open(growing, "wb") as f:
        for cut in range(0, len(data), 777):  # cuts fall inside headers, data and footers
            f.write(data[cut : cut + 777])
            f.flush()
            got += tail.read()
    assert got == list(RawEventFileLoader(str(tmp_path / "growing")).Load())
    assert tail.offset == len(data)


def test_a_bad_checksum_ends_the_file(tmp_path: Path) -> None:
    data = bytearray(_event_file(tmp_path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    tail = RecordTail(bad)
    got = []
    with pytest.raises(CorruptRecord, match="checksum"):
        for record in tail.read():
            got.append(record)
    assert 0 < len(got) < 400  # the records before it were read
