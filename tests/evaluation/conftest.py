"""The SDK tests' live server and working folder, and the runner tests' live job server."""

from tests.runner.conftest import jobs
from tests.sdk.conftest import online, shared_server, workdir

__all__ = ["jobs", "online", "shared_server", "workdir"]
