"""tests/programs/hog.py as a context: a parent waiting on a child that holds N MB and spins
one core, killed (the whole tree) afterwards."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

HOG = Path(__file__).parent / "programs" / "hog.py"


@contextmanager
def hog(megabytes: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, str(HOG), str(megabytes)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"started\n"
    try:
        yield proc
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()
        proc.stdout.close()
