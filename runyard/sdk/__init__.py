"""What training scripts import: `init`, `Run`, `EarlyStopping` (re-exported by `runyard`).

Cheap to import on purpose: httpx is imported when a run starts, never torch, the store or the
server.
"""

from runyard.sdk.bulk import RunsRefused, record_runs
from runyard.sdk.early_stopping import EarlyStopping
from runyard.sdk.run import Run, init

__all__ = ["EarlyStopping", "Run", "RunsRefused", "init", "record_runs"]
