"""Transforms that make a new version from another: CLAHE, centre crop, resize (scikit-image).

    clahe:channel=green,crop:margin=0.1,resize:512

Images get every step; masks only the geometric ones (nearest neighbour, so they stay binary);
other files are carried over as they are. A file whose pixels no step changed keeps its bytes
(never re-encoded); a changed one is written in its own format, so a PNG stays lossless.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.datasets.layout import classify_all
from runyard.datasets.normalise import Source
from runyard.errors import BadRequest

if TYPE_CHECKING:
    import numpy as np

Step = dict[str, Any]
CHANNELS = {"red": 0, "green": 1, "blue": 2, "all": None}
GEOMETRIC = frozenset({"crop", "resize"})
MAX_SIDE = 16384


def _number(step: str, key: str, text: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{step}: {key}={text!r} is not a number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{step}: {key} must be within {lo:g}..{hi:g}, not {value:g}")
    return value


def _size(text: str) -> list[int]:
    w, _, h = text.lower().partition("x")
    try:
        width, height = int(w), int(h or w)
    except ValueError:
        raise BadRequest(f"resize: size {text!r} must be N or WxH") from None
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise BadRequest(f"resize: sides must be within 1..{MAX_SIDE}")
    return [width, height]


def _make_step(op: str, args: dict[str, str], positional: list[str]) -> Step:
    if op == "clahe":
        channel = args.pop("channel", positional.pop(0) if positional else "green").lower()
        if channel not in CHANNELS:
            raise BadRequest(f"clahe: channel must be one of {', '.join(CHANNELS)}")
        clip = _number(op, "clip", args.pop("clip", "0.01"), 0.0001, 1)
        step: Step = {"op": op, "channel": channel, "clip": clip}
    elif op == "crop":
        text = args.pop("margin", positional.pop(0) if positional else "0.1")
        margin = _number(op, "margin", text, 0, 0.49)
        step = {"op": op, "margin": margin}
    elif op == "resize":
        text = args.pop("size", positional.pop(0) if positional else "")
        if not text:
            raise BadRequest("resize needs a size: resize:512 or resize:640x480")
        step = {"op": op, "size": _size(text)}
    else:
        raise BadRequest(f"unknown transform {op!r}: use clahe, crop or resize")
    if args or positional:
        raise BadRequest(f"{op}: unexpected argument(s) {', '.join([*args, *positional])}")
    return step


def parse_steps(text: str) -> list[Step]:
    """``op:k=v,op:arg,…``; a ``k=v`` after a comma adds to the step before it."""
    raw: list[tuple[str, dict[str, str], list[str]]] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        head, _, rest = token.partition(":")
        if "=" in head and raw:  # clahe:channel=green,clip=0.02
            key, _, value = head.partition("=")
            raw[-1][1][key.strip().lower()] = value.strip()
            continue
        args: dict[str, str] = {}
        positional: list[str] = []
        for part in filter(None, (p.strip() for p in rest.split(":"))):
            key, eq, value = part.partition("=")
            if eq:
                args[key.strip().lower()] = value.strip()
            else:
                positional.append(part)
        raw.append((head.strip().lower(), args, positional))
    if not raw:
        raise BadRequest("no transform steps given: e.g. clahe:channel=green,crop:margin=0.1")
    return [_make_step(op, args, pos) for op, args, pos in raw]


def describe_steps(steps: list[Step]) -> str:
    parts = []
    for s in steps:
        args = ":".join(
            f"{k}={'x'.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in s.items()
            if k != "op"
        )
        parts.append(f"{s['op']}:{args}" if args else s["op"])
    return ",".join(parts)


def _scale(dtype: np.dtype[Any]) -> float:
    import numpy as np

    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def _clahe(arr: np.ndarray, step: Step) -> np.ndarray:
    import numpy as np
    from skimage import exposure

    scale = _scale(arr.dtype)
    unit = arr.astype(np.float64) / scale
    clip = step["clip"]
    if arr.ndim == 2:  # grey: its only channel, whatever channel was asked for
        unit = exposure.equalize_adapthist(unit, clip_limit=clip)
    elif arr.shape[2] < 3:  # grey with alpha
        unit[:, :, 0] = exposure.equalize_adapthist(unit[:, :, 0], clip_limit=clip)
    elif (index := CHANNELS[step["channel"]]) is None:
        unit[:, :, :3] = exposure.equalize_adapthist(unit[:, :, :3], clip_limit=clip)
    else:
        unit[:, :, index] = exposure.equalize_adapthist(unit[:, :, index], clip_limit=clip)
    out: np.ndarray = np.clip(np.round(unit * scale), 0, scale).astype(arr.dtype)
    return out


def _crop(arr: np.ndarray, margin: float) -> np.ndarray:
    """The centred square of side min(h, w) with ``margin`` of it cut from each edge."""
    import numpy as np

    h, w = arr.shape[:2]
    keep = max(1, round(min(h, w) * (1 - 2 * margin)))
    top, left = (h - keep) // 2, (w - keep) // 2
    return np.ascontiguousarray(arr[top : top + keep, left : left + keep])


def _resize(arr: np.ndarray, size: list[int], is_mask: bool) -> np.ndarray:
    import numpy as np
    from skimage import transform

    width, height = size
    shape = (height, width, *arr.shape[2:])
    if arr.shape == shape:
        return arr
    resized: np.ndarray = transform.resize(  # type: ignore[no-untyped-call]
        arr, shape, order=0 if is_mask else 1, preserve_range=True, anti_aliasing=not is_mask
    )
    if arr.dtype.kind in "ui":
        info = np.iinfo(arr.dtype)
        resized = np.clip(np.round(resized), info.min, info.max)
    out: np.ndarray = resized.astype(arr.dtype)
    return out


def _apply(arr: np.ndarray, step: Step, is_mask: bool) -> np.ndarray:
    if step["op"] == "clahe":
        return _clahe(arr, step)
    if step["op"] == "crop":
        return _crop(arr, step["margin"])
    return _resize(arr, step["size"], is_mask)


def transform_file(src: Path, dest: Path, steps: list[Step], is_mask: bool) -> bool:
    """Write ``src`` transformed to ``dest``; False (nothing written) when no pixel changed."""
    import numpy as np
    from PIL import Image

    with Image.open(src) as opened:
        fmt, mode = opened.format or "PNG", opened.mode
        palette = opened.getpalette() if mode == "P" else None
        info = {k: v for k, v in opened.info.items() if k in ("dpi", "icc_profile")}
        if mode == "P" and not is_mask:
            arr = np.asarray(opened.convert("RGB"))
            mode = "RGB"
        else:
            arr = np.asarray(opened)
    out = arr
    for step in steps:
        if is_mask and step["op"] not in GEOMETRIC:
            continue
        out = _apply(out, step, is_mask)
    if out.shape == arr.shape and np.array_equal(out, arr):
        return False
    if palette is not None and mode == "P":  # indices stay indices, under the same palette
        result = Image.frombytes("P", (out.shape[1], out.shape[0]), out.astype(np.uint8).tobytes())
        result.putpalette(palette)
    else:
        result = Image.fromarray(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = dict(info)
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        options.update(lossless=True)
    result.save(dest, format=fmt, **options)
    return True


def transform_files(
    files: list[tuple[str, str, int, Path]],
    steps: list[Step],
    work: Path,
    progress: Callable[[int], None] | None = None,
    threads: int = 2,
) -> list[Source]:
    """The sources of the new version from ``(path, sha256, size, stored file)`` of the parent."""
    roles = {r.path: r.role for r in classify_all([f[0] for f in files])}
    done = 0
    lock = threading.Lock()

    def one(item: tuple[str, str, int, Path]) -> Source:
        nonlocal done
        path, sha, size, stored = item
        role = roles[path]
        changed = False
        if role in ("image", "mask"):
            try:
                changed = transform_file(stored, work / path, steps, role == "mask")
            except (OSError, ValueError) as exc:
                raise BadRequest(f"cannot transform {path}: {exc}") from None
        with lock:
            done += 1
            if progress is not None:
                progress(done)
        if changed:
            return Source(path, work / path, owned=True)
        return Source(path, stored, owned=False, sha256=sha, size=size)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, files))
