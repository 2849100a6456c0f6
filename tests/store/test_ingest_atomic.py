"""A batch of points is stored whole or not at all, even when the database's disk fills up
between its statements: its (source, seq) must not be remembered without its points, or the
client's retry would be acknowledged as a duplicate and the points lost.

A real SQLite file on a real tmpfs, filled to within a few pages of its end.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from runyard.errors import RunyardError
from runyard.store import Store
from runyard.store.metrics import Series
from tests._faults import fill, tmpfs

POINTS = 100_000


def _batch() -> list[Series]:
    rng = np.random.default_rng(0)  # random values: the chunk does not compress small
    steps = np.arange(POINTS, dtype=np.int64)
    return [Series("loss", steps, rng.random(POINTS), np.full(POINTS, 1.7e9))]


def test_a_batch_cut_short_by_a_full_disk_is_stored_whole_on_its_retry(
    tmp_path: Path, sqlite_template: Path
) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        db = disk / "runyard.db"
        shutil.copyfile(sqlite_template, db)
        store = Store.open(f"sqlite:///{db}", disk / "runs", migrate=False)
        try:
            run = store.runs.create(experiment="atomic")
            store.metrics.ingest(run.id, _batch()[:0], source="s", seq=0)  # WAL in place
            filler = fill(disk)
            os.truncate(filler, filler.stat().st_size - 64 * 1024)  # room for a few pages
            with pytest.raises(RunyardError) as info:
                store.metrics.ingest(run.id, _batch(), source="s", seq=1)
            assert info.value.status == 507
            filler.unlink()
            again = store.metrics.ingest(run.id, _batch(), source="s", seq=1)
            assert (again.accepted, again.duplicate) == (POINTS, False)
            assert len(store.metrics.read(run.id, ["loss"])["loss"].steps) == POINTS
            twice = store.metrics.ingest(run.id, _batch(), source="s", seq=1)
            assert (twice.accepted, twice.duplicate) == (0, True)
        finally:
            store.close()
