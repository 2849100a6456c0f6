"""What a job's environment was made of, for people to read (the run page, `runyard show`).

Values whose names look like secrets are masked, and so are passwords inside URLs: the spec
keeps them for the job, the API and the CLI never print them.
"""

from __future__ import annotations

import re
from typing import Any

# The variables `runyard submit` takes from the submitter's shell unless --clean-env.
CAPTURED = ("PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")
MASK = "••••••"
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH|COOKIE|SESSION",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^@/\s]+@")


def mask(key: str, value: str) -> str:
    """The value as it may be shown: secrets-looking names hidden, URL passwords hidden."""
    if _SECRET_NAME.search(key):
        return MASK
    return _URL_PASSWORD.sub(rf"\1{MASK}@", value)


def describe(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The job's executable, working directory and environment, masked; None without a job."""
    if not spec:
        return None
    env: dict[str, str] = spec.get("env") or {}
    captured = set(spec.get("captured_env") or ())
    return {
        "executable": spec.get("executable"),
        "cwd": spec.get("cwd"),
        "captured": {k: mask(k, v) for k, v in env.items() if k in captured},
        "added": {k: mask(k, v) for k, v in env.items() if k not in captured},
        "clean": not captured,
    }
