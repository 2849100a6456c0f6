"""Sweeps: hyperparameter search whose trials are ordinary runs (design.md §1)."""
