"""Starting a file's write-back early: the real syscall, on this Linux machine."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

import pytest

from runyard import _writeback


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_write_of_new_bytes_starts_and_leaves_them_as_written(tmp_path: Path) -> None:
    fn = _writeback._sync_file_range()
    assert fn is not None  # libc's, found through ctypes
    data = os.urandom(3 << 20)
    path = tmp_path / "f.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, data)
        assert fn(fd, 0, len(data), _writeback._WRITE) == 0  # the kernel took it
        _writeback.start_writeback(fd, 0, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)
    assert path.read_bytes() == data
    assert fn(-1, 0, 1, _writeback._WRITE) == -1 and ctypes.get_errno() == errno.EBADF
    _writeback.start_writeback(-1, 0, 1)  # its failure is left to the fsync that follows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fallocate is Linux's")
def test_blocks_reserved_ahead_leave_the_size_and_the_bytes_as_written(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, data)
        assert _writeback.reserve(fd, len(data), 8 << 20) is True  # ext4 and tmpfs have it
        assert os.fstat(fd).st_size == len(data)  # what arrived, still
        assert os.fstat(fd).st_blocks * 512 >= 9 << 20
        os.write(fd, data)  # appended after the bytes, into the reserved blocks
    finally:
        os.close(fd)
    assert path.read_bytes() == data + data
    assert _writeback.reserve(-1, 0, 1) is False  # a failure is only reported
