"""The submitter's side of `runyard submit`: run the command as this shell would."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from runyard._environment import CAPTURED
from runyard.cli._client import fail


@dataclass
class Environment:
    env: dict[str, str] = field(default_factory=dict)
    captured: list[str] = field(default_factory=list)  # keys taken from this shell


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines, `# comments` and a leading `export ` are allowed, and a
    value may be quoted as in a shell."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--env-file {str(path)!r} cannot be read: {exc}", code=2)
    out = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not key.strip().replace("_", "a").isalnum():
            fail(f"--env-file {path}: line {number} is not KEY=VALUE", code=2)
        try:
            parts = shlex.split(value) if value.strip() else [""]
        except ValueError as exc:
            fail(f"--env-file {path}: line {number}: {exc}", code=2)
        out[key.strip()] = " ".join(parts)
    return out


def submitter_env(clean: bool, env_file: Path | None, pairs: dict[str, str]) -> Environment:
    """This shell's PATH, VIRTUAL_ENV, CONDA_PREFIX and PYTHONPATH (unless clean), then the
    env file's variables, then --env's: later ones win."""
    result = Environment()
    if not clean:
        for key in CAPTURED:
            if key in os.environ:
                result.env[key] = os.environ[key]
                result.captured.append(key)
    extra = {**(read_env_file(env_file) if env_file else {}), **pairs}
    for key in extra:
        if key in result.captured:
            result.captured.remove(key)  # given explicitly: no longer "captured"
    result.env.update(extra)
    return result


def resolve_executable(argv0: str, cwd: str, path: str | None) -> str:
    """argv[0] as an absolute path: relative to cwd when it has a slash, else on PATH."""
    if "/" in argv0:
        return os.path.normpath(os.path.join(cwd, os.path.expanduser(argv0)))
    found = shutil.which(argv0, path=path)
    if found is None:
        fail(f"cannot run {argv0!r}: not found on your PATH", code=2)
    return os.path.abspath(found)
