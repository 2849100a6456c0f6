"""runyard: a self-hosted control plane for machine-learning training."""

__version__ = "0.1.0"

from runyard.sdk import EarlyStopping, Run, RunsRefused, init, record_runs  # noqa: E402

__all__ = ["EarlyStopping", "Run", "RunsRefused", "__version__", "init", "record_runs"]
