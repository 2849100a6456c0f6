"""The store: SQLAlchemy Core over SQLite or PostgreSQL. No HTTP, no processes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from runyard.store.dataset_jobs import DatasetJobs
from runyard.store.datasets import Datasets
from runyard.store.db import is_current, make_engine, upgrade
from runyard.store.events import Events
from runyard.store.experiments import Experiments
from runyard.store.files import Files
from runyard.store.heartbeats import Heartbeats
from runyard.store.jobs import Jobs
from runyard.store.metrics import Metrics
from runyard.store.mlflow_meta import MlflowMeta
from runyard.store.queue import Queue
from runyard.store.run_files import RunFiles
from runyard.store.run_state import RunState
from runyard.store.runs import Runs
from runyard.store.sessions import Sessions
from runyard.store.sweeps import Sweeps
from runyard.store.trash import Trash


class Store:
    """One engine and the repositories over it."""

    def __init__(self, engine: sa.Engine, runs_root: Path):
        self.engine = engine
        self.runs_root = runs_root
        self.events = Events(engine)
        self.experiments = Experiments(engine)
        self.runs = Runs(engine, runs_root)
        self.metrics = Metrics(engine, self.events)
        self.run_state = RunState(engine, self.events)
        self.files = Files(engine)
        self.run_files = RunFiles(engine, self.metrics, self.run_state)
        self.jobs = Jobs(engine, self.runs)
        self.queue = Queue(engine, self.runs)
        self.datasets = Datasets(engine)
        self.dataset_jobs = DatasetJobs(engine)
        self.sessions = Sessions(engine)
        self.heartbeats = Heartbeats(engine, self.run_state, self.events)
        self.sweeps = Sweeps(engine, self.runs)
        self.trash = Trash(engine, runs_root, self.events)
        self.mlflow = MlflowMeta(engine)

    @classmethod
    def open(
        cls, url: str, runs_root: Path, *, migrate: bool = True, busy_timeout_s: float = 10.0
    ) -> Store:
        engine = make_engine(url, busy_timeout_s)
        if migrate and not is_current(engine):
            upgrade(engine)
        return cls(engine, runs_root)

    def close(self) -> None:
        self.events.close()
        self.engine.dispose()


__all__ = ["Store"]
