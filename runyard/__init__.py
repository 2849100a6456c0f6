"""runyard: a self-hosted control plane for machine-learning training."""

__version__ = "0.1.0"
