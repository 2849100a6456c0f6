"""Scalars from TensorBoard event files that a program writes (SummaryWriter, Lightning's
TensorBoardLogger, the Hugging Face Trainer's report_to="tensorboard").

Records are framed by _records.RecordTail (it resumes where it stopped, waits out a record
still being written, and checks CRC-32C in C where TensorBoard's reader does it in Python)
and parsed with the `tensorboard` package's Event protobuf; v1 `simple_value` scalars are
taken as they are, v2 scalar tensors through its tensor_util.
Each batch is stored under the source "tb:<file>" with seq = the number of records read so
far: after a restart the records already stored are skipped, none is stored twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from runyard.capture._points import Points, last_seq, source_name
from runyard.store import Store

log = logging.getLogger("runyard.capture")

EVENT_FILE = "events.out.tfevents."
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", ".tox"}
MAX_DEPTH = 8
MAX_ENTRIES = 20000  # directory entries looked at per search of one tree


def find_event_files(root: Path, since: float) -> list[Path]:
    """Event files under root modified since `since`, without following links out of it or
    descending into environments and caches."""
    found: list[Path] = []
    seen = 0
    base = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).parts) - base
        dirnames[:] = [
            d
            for d in dirnames
            if d not in SKIP_DIRS and not d.startswith(".") and depth < MAX_DEPTH
        ]
        seen += len(dirnames) + len(filenames)
        for name in filenames:
            if EVENT_FILE in name:
                path = Path(dirpath, name)
                try:
                    if path.stat().st_mtime >= since:
                        found.append(path)
                except OSError:
                    continue
        if seen > MAX_ENTRIES:
            break
    return found


class EventReader:
    """One event file, read as it grows."""

    def __init__(self, store: Store, run_id: str, path: Path, label: str):
        from tensorboard.compat.proto import event_pb2  # noqa: F401  (ImportError: no extra)

        from runyard.capture._records import RecordTail

        self.path = path
        self.source = source_name("tb:", label)
        self._tail = RecordTail(path)
        self._corrupt = False
        self._skip = last_seq(store.engine, run_id, self.source)
        self.records = 0

    def read(self, store: Store, run_id: str) -> int:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util

        points = Points()
        for raw in self._records():
            self.records += 1
            if self.records <= self._skip:
                continue  # stored before a restart
            event = event_pb2.Event.FromString(raw)
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                if kind == "simple_value":  # v1 scalars: SummaryWriter, Lightning, the Trainer
                    number = float(value.simple_value)
                elif kind == "tensor" and value.metadata.plugin_data.plugin_name == "scalars":
                    number = float(tensor_util.make_ndarray(value.tensor).item())  # v2 scalars
                else:
                    continue
                points.add(value.tag, int(event.step), number, float(event.wall_time))
        if self.records <= self._skip or not len(points):
            return 0
        result = store.metrics.ingest(run_id, points.series(), source=self.source, seq=self.records)
        return result.accepted

    def _records(self) -> Iterator[bytes]:
        from runyard.capture._records import CorruptRecord

        if self._corrupt:
            return
        try:
            yield from self._tail.read()
        except CorruptRecord as exc:  # what follows cannot be framed: the file ends here
            self._corrupt = True
            log.warning("runyard: TensorBoard file no longer read: %s", exc)
        except FileNotFoundError:
            return
