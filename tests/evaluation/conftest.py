"""The SDK tests' live server and working folder, for the evaluation tests that log to a run."""

from tests.sdk.conftest import online, shared_server, workdir

__all__ = ["online", "shared_server", "workdir"]
