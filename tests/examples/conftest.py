"""The examples run as jobs on the runner tests' live server."""

from tests.runner.conftest import jobs  # noqa: F401 - the fixture, shared
