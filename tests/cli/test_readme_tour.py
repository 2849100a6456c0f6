"""The README's tour works verbatim after `make demo` (issue 14, item 6).

`make demo` starts the server from the venv without activating it: the server's PATH has no
`python` with torch. The user's shell has the venv active, so the README's submit line must
run the job with the user's python.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def _readme_submit_line() -> list[str]:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^runyard submit .*?(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    assert m is not None, "the README has no `runyard submit` line"
    return shlex.split(m.group(0).replace("\\\n", " "))


def test_the_readme_submit_line_runs_after_make_demo(tmp_path: Path) -> None:
    argv = _readme_submit_line()
    assert argv[:2] == ["runyard", "submit"] and "examples/digits.py" in argv
    server = ServerProcess(tmp_path / "home", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    try:
        server.wait_ready(timeout=120)
        venv = str(Path(sys.executable).parent)
        shell = {"RUNYARD_URL": server.url, "PATH": f"{venv}:/usr/bin:/bin"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
        done = subprocess.run(
            [sys.executable, "-m", "runyard", *argv[1:]],
            env={**env, **shell},
            cwd=ROOT,  # the README's paths are relative to the repository
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.strip()
        deadline = time.monotonic() + 600
        while (run := httpx.get(f"{server.url}/api/runs/{run_id}").json())["status"] not in (
            "completed",
            "failed",
            "retrying",
        ):
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
        log = httpx.get(f"{server.url}/api/runs/{run_id}/logs").json()["text"]
        assert run["status"] == "completed", log[-2000:]
        assert run["attempt_count"] == 1 and "val/loss" in run["metrics"]
        items = httpx.get(f"{server.url}/api/runs/{run_id}/checklist").json()["items"]
        assert {i["name"]: i["status"] for i in items}["model"] == "PASS"
    finally:
        server.stop()
