"""What runyard reads from a program that does not use the SDK (docs/unchanged-programs.md):
metrics from its log lines (patterns.py, logs.py), scalars from its TensorBoard event files
(tensorboard.py), checkpoints it saves itself (checkpoints.py).

One Capture per server process, driven by the maintenance poller for active runs and by the
scheduler once more when an attempt ends (so its last lines and files count). Everything it
keeps in memory is a cache of what the store knows, rebuilt after a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.capture import checkpoints, logs, tensorboard
from runyard.capture.patterns import Pattern, compile_patterns
from runyard.entities import JobSpec
from runyard.errors import RunyardError
from runyard.store import Store

log = logging.getLogger("runyard.capture")
# Looking for new event files walks two trees: on every pass while a run is young (writers
# are made at start), then every few seconds.
TB_SEARCH_EVERY_S = 5.0
TB_YOUNG_S = 30.0
_TOO_WIDE = {Path("/"), Path.home()}


@dataclass
class _RunCapture:
    patterns: list[Pattern]
    log_cursor: logs.LogCursor | None = None
    tb_readers: dict[Path, tensorboard.EventReader] = field(default_factory=dict)
    tb_searched: float = 0.0
    born: float = field(default_factory=time.monotonic)
    watch: checkpoints.CheckpointWatch = field(default_factory=checkpoints.CheckpointWatch)


class Capture:
    def __init__(self, store: Store):
        self.store = store
        self._runs: dict[str, _RunCapture] = {}
        self._lock = threading.Lock()
        self._claimed: dict[Path, str] = {}  # event file -> the run that reads it

    def scan(
        self,
        run_id: str,
        run_dir: Path,
        spec: JobSpec,
        attempt: int,
        since: float,
        *,
        final: bool = False,
    ) -> None:
        """Read what is new for one attempt of a job; `since` is when the run was created
        (files older than that belong to someone else)."""
        with self._lock:
            try:
                state = self._runs.get(run_id)
                if state is None:
                    state = self._runs[run_id] = _RunCapture(
                        compile_patterns(spec.metrics_patterns)
                    )
                cwd = Path(spec.cwd) if spec.cwd else run_dir
                self._logs(run_id, run_dir, state, attempt)
                self._tensorboard(run_id, run_dir, cwd, state, since, final)
                if spec.checkpoints:
                    checkpoints.scan(
                        self.store,
                        run_id,
                        state.watch,
                        patterns=spec.checkpoints,
                        cwd=cwd,
                        run_dir=run_dir,
                        attempt=attempt,
                        since=since,
                        final=final,
                    )
            except (OSError, RunyardError) as exc:
                log.warning("run %s: capture failed: %s", run_id, exc)

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
            self._claimed = {p: r for p, r in self._claimed.items() if r != run_id}

    def _logs(self, run_id: str, run_dir: Path, state: _RunCapture, attempt: int) -> None:
        if not state.patterns:
            return
        path = run_dir / "logs" / f"attempt-{attempt}.log"
        if not path.is_file():
            return
        if state.log_cursor is None or state.log_cursor.attempt != attempt:
            state.log_cursor = logs.open_cursor(self.store, run_id, path, attempt)
        logs.read_log(self.store, run_id, path, state.log_cursor, state.patterns)

    def _tensorboard(
        self, run_id: str, run_dir: Path, cwd: Path, state: _RunCapture, since: float, final: bool
    ) -> None:
        now = time.monotonic()
        young = now - state.born < TB_YOUNG_S
        if final or young or now - state.tb_searched >= TB_SEARCH_EVERY_S:
            state.tb_searched = now
            for root in dict.fromkeys((run_dir, cwd)):
                if not root.is_dir() or root in _TOO_WIDE:
                    continue  # a job started from ~ or / would have us walk everything
                for path in tensorboard.find_event_files(root, since):
                    key = path.resolve()
                    if key in state.tb_readers or self._claimed.get(key, run_id) != run_id:
                        continue
                    label = str(key.relative_to(root.resolve()))
                    try:
                        reader = tensorboard.EventReader(
                            self.store,
                            run_id,
                            key,
                            f"{'run' if root == run_dir else 'cwd'}:{label}",
                        )
                    except ImportError:
                        log.warning("event files found, but the tensorboard package is missing")
                        return
                    self._claimed[key] = run_id
                    state.tb_readers[key] = reader
        for reader in state.tb_readers.values():
            reader.read(self.store, run_id)


def spec_of(data: dict[str, Any] | None) -> JobSpec | None:
    return JobSpec.from_dict(data) if data else None
