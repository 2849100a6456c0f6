"""Sweep fixtures: the runner's real server in a thread, and the trial program."""

from __future__ import annotations

from tests.runner.conftest import jobs  # noqa: F401  (the fixture: a real server in a thread)
