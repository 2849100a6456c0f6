"""Downsampled metric reads, kept while the data under them is unchanged.

A dashboard asks for the same charts again and again (every viewer, every refresh, every live
tick of a run that is not logging): even from the tiles kept at ingest a chart costs a few
milliseconds to tens of them, looking up the key's version one indexed query. Entries are keyed
by the request and checked against the store's version of the keys (count, last step, last
timestamp, on the summary row), which every ingest changes in the same transaction and a merge
of chunks leaves alone (same points), so a hit is never stale, whichever process wrote: each
worker process may keep its own cache. Bounded by bytes; least recently used out first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

Key = tuple[str, tuple[str, ...] | None, int | None, int | None, int]


class ChartCache:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entry_bytes: int = 4 * 1024 * 1024):
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Key, tuple[Any, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key, version: Any) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Key, version: Any, body: bytes) -> None:
        if len(body) > self.max_entry_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (version, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
