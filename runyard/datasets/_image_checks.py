"""Image and mask checks: readable, size, channels, pixel range, masks binary and aligned."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.datasets.layout import FileRole, pairs_of

if TYPE_CHECKING:
    from runyard.datasets.validate import Report, ValidationConfig

MAX_UNIQUE = 16  # a mask with more distinct values than this is reported as such


@dataclass(frozen=True, slots=True)
class ImageFacts:
    path: str
    size: tuple[int, int] | None = None  # (width, height)
    mode: str = ""
    channels: int = 0
    low: float = 0.0
    high: float = 0.0
    values: int = 0  # distinct values (masks only; up to MAX_UNIQUE + 1)
    error: str | None = None


def read_facts(path: str, file: Path, is_mask: bool) -> ImageFacts:
    """Decode the whole image (a truncated file fails here), then read its facts in C."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as img:
            img.load()
            size, mode, channels = img.size, img.mode, len(img.getbands())
            extrema: Any = img.getextrema()  # (lo, hi), or one pair per band
            colours = img.getcolors(MAX_UNIQUE) if is_mask else None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        return ImageFacts(path, error=str(exc) or type(exc).__name__)
    if channels == 1:
        low, high = extrema
    else:
        low, high = min(e[0] for e in extrema), max(e[1] for e in extrema)
    values = 0
    if is_mask:
        values = MAX_UNIQUE + 1 if colours is None else len(colours)
    return ImageFacts(path, size, mode, channels, float(low), float(high), values)


def _values_text(values: int) -> str:
    return f">{MAX_UNIQUE}" if values > MAX_UNIQUE else str(values)


def _size_text(size: tuple[int, int] | None) -> str:
    return f"{size[0]}x{size[1]}" if size else "?"


def _sizes_and_channels(report: Report, facts: list[ImageFacts], config: ValidationConfig) -> None:
    if config.image_size is not None:
        bad = [f.path for f in facts if f.size != config.image_size]
        if bad:
            report.error(
                "image-size",
                f"{len(bad)} images are not {_size_text(config.image_size)}",
                bad,
                "resize them (runyard dataset transform NAME@VERSION --steps resize:W)",
            )
    else:
        sizes = Counter(f.size for f in facts)
        if len(sizes) > 1:
            common = sizes.most_common(1)[0][0]
            odd = [f"{f.path} ({_size_text(f.size)})" for f in facts if f.size != common]
            report.warn(
                "mixed-sizes",
                f"images come in {len(sizes)} sizes; {len(odd)} differ from the most common, "
                f"{_size_text(common)}",
                odd,
                "a model takes one input size: resize (transform resize:W) or crop",
            )
    if config.channels is not None:
        bad = [f"{f.path} ({f.mode})" for f in facts if f.channels != config.channels]
        if bad:
            report.error(
                "channels",
                f"{len(bad)} images do not have {config.channels} channel(s)",
                bad,
                "convert them (e.g. RGB ↔ grey) before training",
            )
    else:
        modes = Counter(f.mode for f in facts)
        if len(modes) > 1:
            common_mode = modes.most_common(1)[0][0]
            odd = [f"{f.path} ({f.mode})" for f in facts if f.mode != common_mode]
            report.warn(
                "mixed-channels",
                f"images come in {len(modes)} modes ({', '.join(sorted(modes))})",
                odd,
                "convert them to one mode so that every tensor has the same channels",
            )


def _pixels(report: Report, facts: list[ImageFacts], config: ValidationConfig) -> None:
    if config.pixel_range is not None:
        lo, hi = config.pixel_range
        bad = [f"{f.path} ({f.low:g}..{f.high:g})" for f in facts if f.low < lo or f.high > hi]
        if bad:
            report.error(
                "pixel-range",
                f"{len(bad)} images have pixels outside {lo:g}..{hi:g}",
                bad,
                "rescale them, or fix the expected range",
            )
    flat = [f"{f.path} (all {f.low:g})" for f in facts if f.low == f.high]
    if flat:
        report.warn(
            "constant-image",
            f"{len(flat)} images hold a single value (blank or saturated)",
            flat,
            "look at them: an export or scan may have failed",
        )


def _masks(
    report: Report,
    roles: list[FileRole],
    facts: dict[str, ImageFacts],
    config: ValidationConfig,
) -> None:
    pairs, orphans = pairs_of(roles)
    if orphans:
        report.warn("mask-orphan", f"{len(orphans)} masks have no image", orphans, "")
    masks = [r for r in roles if r.role == "mask"]
    if not masks:
        return
    lone = [r.path for r in roles if r.role == "image" and r.path not in pairs]
    if lone:
        report.warn(
            "mask-missing",
            f"{len(lone)} images have no mask",
            lone,
            "name a mask like its image (masks/x.png or x_mask.png, in the same split)",
        )
    wrong = [
        f"{m} ({_size_text(facts[m].size)} vs {_size_text(facts[i].size)})"
        for i, m in sorted(pairs.items())
        if facts[i].error is None and facts[m].error is None and facts[m].size != facts[i].size
    ]
    if wrong:
        report.error(
            "mask-size",
            f"{len(wrong)} masks differ in size from their image",
            wrong,
            "resize masks with nearest-neighbour interpolation to their image's size",
        )
    if config.binary_masks:
        grey = [
            f"{m.path} ({_values_text(facts[m.path].values)} values)"
            for m in masks
            if facts[m.path].error is None and facts[m.path].values > 2
        ]
        if grey:
            report.error(
                "mask-not-binary",
                f"{len(grey)} masks hold more than two values",
                grey,
                "threshold them (anti-aliased or JPEG masks are not binary), or turn "
                "binary_masks off for multi-class masks",
            )


def check_images(
    report: Report,
    roles: list[FileRole],
    by_path: dict[str, Path],
    config: ValidationConfig,
    pool: Executor,
) -> dict[str, Any]:
    todo = [r for r in roles if r.role in ("image", "mask")]
    facts = {
        f.path: f
        for f in pool.map(lambda r: read_facts(r.path, by_path[r.path], r.role == "mask"), todo)
    }
    broken = [f"{f.path}: {f.error}" for f in facts.values() if f.error is not None]
    if broken:
        report.error(
            "unreadable",
            f"{len(broken)} images cannot be read",
            broken,
            "re-export them; Pillow cannot decode them (truncated or not an image)",
        )
    images = [facts[r.path] for r in todo if r.role == "image" and facts[r.path].error is None]
    _sizes_and_channels(report, images, config)
    _pixels(report, images, config)
    _masks(report, roles, facts, config)
    sizes = Counter(_size_text(f.size) for f in images)
    return {
        "images": len(images),
        "masks": len(todo) - sum(r.role == "image" for r in todo),
        "sizes": dict(sizes.most_common(5)),
        "modes": dict(Counter(f.mode for f in images)),
        "pixel_min": min((f.low for f in images), default=None),
        "pixel_max": max((f.high for f in images), default=None),
    }
