"""runyard: a self-hosted control plane for machine-learning training."""

__version__ = "0.1.0"

from runyard.sdk import EarlyStopping, Run, init  # noqa: E402

__all__ = ["EarlyStopping", "Run", "__version__", "init"]
