"""Confinement of user-given paths to a root folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runyard.errors import BadRequest

# Linux's limits (NAME_MAX, PATH_MAX): past them every system call fails with ENAMETOOLONG.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def _check_text(user_path: str) -> None:
    if not user_path or "\x00" in user_path:
        raise BadRequest("path is empty or holds a NUL byte")
    encoded = user_path.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_PATH_BYTES or any(
        len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")
    ):
        raise BadRequest(
            f"path is too long: at most {MAX_NAME_BYTES} bytes a name, {MAX_PATH_BYTES} in all"
        )
    if "\\" in user_path or (len(user_path) > 1 and user_path[1] == ":"):
        raise BadRequest(f"path {user_path!r} uses Windows separators or a drive letter")


def confine(root: Path, user_path: str) -> Path:
    """``root / user_path`` resolved, refused unless it stays inside ``root``.

    Refuses NUL bytes, backslashes (Windows separators), drive letters and absolute paths
    outside the root; symlinks are resolved before the check, so a link pointing out is refused.
    """
    _check_text(user_path)
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


def confine_relative(root: Path, user_path: str) -> Path:
    """As `confine`, for paths a request names inside a root it already chose (a download,
    a checkpoint name): an absolute path is refused even when it points inside."""
    _check_text(user_path)
    if PurePosixPath(user_path).is_absolute():
        raise BadRequest(f"path {user_path!r} must be relative to its root")
    return confine(root, user_path)


def check_name(name: str) -> None:
    """Refuse a name that a request gives for a record when it could not be a confined
    relative path (NUL, Windows separators, drive letters, '..', absolute)."""
    _check_text(name)
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts:
        raise BadRequest(f"name {name!r} is absolute or climbs out with '..'")


def is_inside(root: Path, path: Path) -> bool:
    """True when ``path`` (resolved, links followed) lies in ``root``."""
    base, target = root.resolve(), path.resolve()
    return target == base or base in target.parents


def relative_to_root(root: Path, user_path: str) -> str:
    """The confined path, relative to the root, with forward slashes."""
    return confine(root, user_path).relative_to(root.resolve()).as_posix()
