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
