"""Confinement of user-given paths to a root folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runyard.errors import BadRequest


def confine(root: Path, user_path: str) -> Path:
    """``root / user_path`` resolved, refused unless it stays inside ``root``.

    Refuses NUL bytes, backslashes (Windows separators), drive letters and absolute paths
    outside the root; symlinks are resolved before the check, so a link pointing out is refused.
    """
    if not user_path or "\x00" in user_path:
        raise BadRequest("path is empty or holds a NUL byte")
    if "\\" in user_path or (len(user_path) > 1 and user_path[1] == ":"):
        raise BadRequest(f"path {user_path!r} uses Windows separators or a drive letter")
    base = root.resolve()
    candidate = Path(user_path)
    if candidate.is_absolute():
        target = candidate.resolve()
    else:
        if ".." in PurePosixPath(user_path).parts:
            raise BadRequest(f"path {user_path!r} climbs out with '..'")
        target = (base / candidate).resolve()
    if target != base and base not in target.parents:
        raise BadRequest(f"path {user_path!r} is outside its root")
    return target


def relative_to_root(root: Path, user_path: str) -> str:
    """The confined path, relative to the root, with forward slashes."""
    return confine(root, user_path).relative_to(root.resolve()).as_posix()
