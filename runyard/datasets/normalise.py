"""From a folder as people ship it to the files of a version: junk dropped, wrapping folders
stripped, links resolved, MATLAB ``.mat`` files turned into images or ``.npy`` arrays.

Nothing here changes the source folder: converted files are written to a work folder, and the
plan says for each file of the version where its bytes are and whether they are ours to move.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from runyard.datasets.layout import MASK_DIRS, SPLITS
from runyard.errors import BadRequest

JUNK_DIRS = frozenset({"__MACOSX", ".git", ".svn", ".hg", "__pycache__", ".ipynb_checkpoints"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
MAT_MAX_BYTES = 2 * 1024**3  # a .mat whose arrays would take more memory is kept as it is


@dataclass(frozen=True, slots=True)
class Source:
    path: str  # relative path in the version (POSIX)
    file: Path  # where its bytes are now
    owned: bool  # a file of ours (moved into the store) rather than the user's (copied)
    sha256: str | None = None  # known already: a stored file carried into a new version
    size: int | None = None


@dataclass(slots=True)
class Tree:
    files: list[Source]
    wrapper: str | None = None
    converted: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0

    def notes(self) -> dict[str, Any]:
        """What normalising did, recorded in the version's layout."""
        return {"wrapper": self.wrapper, "converted": self.converted, "ignored": self.ignored}


def _is_junk(name: str) -> bool:
    return name in JUNK_FILES or name in JUNK_DIRS or name.startswith("._")


def _inside(root: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _walk(src: Path) -> tuple[list[tuple[str, Path]], int]:
    """(relative path, file) of every file under src, links resolved; and how many skipped."""
    root = os.path.realpath(src)
    found: list[tuple[str, Path]] = []
    ignored = 0
    for d, dirs, files in os.walk(src):
        kept = []
        for name in dirs:
            path = os.path.join(d, name)
            if _is_junk(name):
                ignored += 1
            elif os.path.islink(path):  # its files are reached through its real path
                if not _inside(root, path):
                    raise BadRequest(f"{os.path.relpath(path, src)} links outside {src}")
                ignored += 1
            else:
                kept.append(name)
        dirs[:] = sorted(kept)
        for name in sorted(files):
            path = os.path.join(d, name)
            if _is_junk(name):
                ignored += 1
                continue
            if os.path.islink(path) and not _inside(root, path):
                raise BadRequest(f"{os.path.relpath(path, src)} links outside {src}")
            if not os.path.isfile(path):  # a FIFO, socket or dangling link
                ignored += 1
                continue
            rel = PurePosixPath(*Path(os.path.relpath(path, src)).parts).as_posix()
            found.append((rel, Path(path)))
    return found, ignored


def _strip_wrapper(files: list[tuple[str, Path]]) -> tuple[list[tuple[str, Path]], str | None]:
    """Drop folders that wrap everything (``MyData/v2/...``) unless their name means something."""
    stripped: list[str] = []
    while files:
        tops = {rel.split("/", 1)[0] for rel, _ in files}
        top = next(iter(tops))
        if len(tops) != 1 or "/" not in files[0][0]:
            break
        if top.lower() in SPLITS or top.lower() in MASK_DIRS:
            break
        stripped.append(top)
        files = [(rel.split("/", 1)[1], f) for rel, f in files]
    return files, "/".join(stripped) or None


def _mat_outputs(path: Path, rel: str, work: Path) -> tuple[list[tuple[str, Path]], str | None]:
    """Each array of a .mat file as a PNG (8-bit, or 16-bit grey) or, to lose nothing, .npy."""
    import numpy as np
    import scipy.io
    from PIL import Image

    try:
        info = scipy.io.whosmat(path)
        needed = sum(math.prod(shape) * 8 for _name, shape, _cls in info)
        if needed > MAT_MAX_BYTES:
            return [], f"its arrays need {needed} bytes of memory"
        data = scipy.io.loadmat(path)
    except (NotImplementedError, ValueError, TypeError, OSError) as exc:
        return [], f"scipy.io cannot read it ({exc})"  # e.g. a v7.3 (HDF5) file
    arrays = {
        k: v
        for k, v in data.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"
    }
    stem = PurePosixPath(rel)
    out: list[tuple[str, Path]] = []
    for name, arr in sorted(arrays.items()):
        base = stem.stem if len(arrays) == 1 else f"{stem.stem}_{name}"
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        as_png = (arr.dtype == np.uint8 and (arr.ndim == 2 or arr.shape[-1] in (3, 4))) or (
            arr.dtype == np.uint16 and arr.ndim == 2
        )
        target_rel = str(stem.with_name(base + (".png" if as_png else ".npy")))
        target = work / "converted" / target_rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if as_png:
            Image.fromarray(np.ascontiguousarray(arr)).save(target, format="PNG")
        else:
            np.save(target, arr, allow_pickle=False)
        out.append((target_rel, target))
    if not out:
        return [], "it holds no numeric arrays"
    return out, None


def normalise(src: Path, work: Path, *, owned: bool) -> Tree:
    """The files of a version made from ``src``; ``owned`` when src is ours (an unpacked temp)."""
    if not src.is_dir():
        raise BadRequest(f"{src} is not a folder")
    found, ignored = _walk(src)
    found, wrapper = _strip_wrapper(found)
    tree = Tree(files=[], wrapper=wrapper, ignored=ignored)
    taken = {rel for rel, _ in found}
    for rel, file in found:
        if not rel.lower().endswith(".mat"):
            tree.files.append(Source(rel, file, owned))
            continue
        outputs, why = _mat_outputs(file, rel, work)
        clash = [o for o, _ in outputs if o in taken]
        if why or clash:
            reason = why or f"{clash[0]} exists already"
            tree.converted.append({"from": rel, "to": [], "kept": True, "why": reason})
            tree.files.append(Source(rel, file, owned))
            continue
        taken.update(o for o, _ in outputs)
        tree.converted.append({"from": rel, "to": [o for o, _ in outputs]})
        tree.files.extend(Source(o, f, True) for o, f in outputs)
    if not tree.files:
        raise BadRequest(f"{src} holds no files")
    tree.files.sort(key=lambda s: s.path)
    return tree
