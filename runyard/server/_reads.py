"""Where a hot read of the store runs: in the event loop on SQLite, in the thread pool on
PostgreSQL.

A read of SQLite is CPU work on pages in memory (a WAL reader does not wait for writers):
in a worker thread it only adds GIL hand-offs, which at 16 concurrent clients cost the runs
list about 2 ms of CPU per request, as much as its query. A read of PostgreSQL waits on a
socket, and the thread lets the loop serve other requests meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from runyard.store import Store

P = ParamSpec("P")
T = TypeVar("T")


async def read(store: Store, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``, a read of ``store`` (and what is made of it), run as above."""
    if store.engine.dialect.name == "sqlite":
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)
