#!/usr/bin/env python
"""Registering a large image dataset: hashing beside `sha256sum`, registration and validation.

Generates an ImageFolder dataset under /tmp (default 20,000 PNG files, 2 GB in all: noise
stored with PNG compression level 0, so that bytes are what they claim; train/val/test x 4
classes; a metadata CSV with a patient id per image), then measures, with the files in the
page cache (each pass reads them once before its timed pass):

- `sha256sum` over every file (one process, as `find -print0 | xargs -0 sha256sum` runs it),
  and `openssl dgst -sha256` the same way (OpenSSL uses the CPU's SHA extensions, which
  coreutils' own sha256sum may not);
- runyard's hashing (`runyard.datasets.objects.hash_files`) on 2 threads, and on 1;
- `Registry.add_folder`: walk, copy into the object store while hashing, hard-link the view,
  record 20,000 manifest rows in SQLite, and validate (every PNG decoded with Pillow);
- validation alone (`validate`), again, on the stored version.

The size shrinks to fit when /tmp has less than 2.5x it free (the source plus its copy in the
object store). Everything is deleted at the end.

Run: `.venv/bin/python benchmarks/dataset_bench.py [--size-gb 2] [--files 20000]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import MB, table
from PIL import Image

from runyard.config import Settings
from runyard.datasets.objects import hash_files
from runyard.datasets.registry import Registry
from runyard.datasets.validate import ValidationConfig, validate
from runyard.store import Store

SPLITS = (("train", 0.7), ("val", 0.15), ("test", 0.15))
CLASSES = ("a", "b", "c", "d")


def _fit(size: int, where: Path) -> int:
    free = shutil.disk_usage(where).free
    if free < 2.5 * size:
        fitted = int(free / 2.5) // MB * MB
        print(f"only {free / 1e9:.1f} GB free under {where}: using {fitted / 1e9:.2f} GB")
        return fitted
    return size


def generate(root: Path, files: int, size: int) -> list[Path]:
    """``files`` PNGs of noise, ``size`` bytes in all, in an ImageFolder layout."""
    side = max(8, int((size / files / 3) ** 0.5))
    rng = np.random.default_rng(0)
    paths = []
    rows = ["filename,patient_id,split"]
    start = time.perf_counter()
    for i in range(files):
        split = next(s for s, cut in _cuts() if i / files < cut)
        label = CLASSES[i % len(CLASSES)]
        path = root / split / label / f"img{i:06}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, format="PNG", compress_level=0)
        paths.append(path)
        rows.append(f"img{i:06}.png,P{i:06},{split}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    paths.append(root / "metadata.csv")
    took = time.perf_counter() - start
    total = sum(p.stat().st_size for p in paths)
    print(f"generated {len(paths)} files, {total / 1e9:.2f} GB ({side}x{side} PNG) in {took:.0f} s")
    return paths


def _cuts() -> list[tuple[str, float]]:
    out, acc = [], 0.0
    for split, share in SPLITS:
        acc += share
        out.append((split, acc))
    out[-1] = (out[-1][0], 1.01)
    return out


def _read_all(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 20):
                pass


def time_tool(root: Path, tool: str) -> float | None:
    """Seconds for ``tool`` over every file, as `find -print0 | xargs -0 TOOL` runs it."""
    if shutil.which(tool.split()[0]) is None:
        return None
    start = time.perf_counter()
    subprocess.run(
        f"find {root} -type f -print0 | xargs -0 {tool} > /dev/null", shell=True, check=True
    )
    return time.perf_counter() - start


def time_hash(paths: list[Path], threads: int) -> float:
    start = time.perf_counter()
    hash_files(paths, threads=threads)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="total size (default 2)")
    parser.add_argument("--files", type=int, default=20_000, help="file count (default 20000)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="runyard-dataset-bench-", dir="/tmp"))
    try:
        size = _fit(int(args.size_gb * 1e9), base)
        src = base / "src"
        paths = generate(src, args.files, size)
        total = sum(p.stat().st_size for p in paths)
        mb = total / MB
        _read_all(paths)
        t_sum = time_tool(src, "sha256sum")
        t_ssl = time_tool(src, "openssl dgst -sha256")
        assert t_sum is not None, "sha256sum is not installed"
        t_two = time_hash(paths, 2)
        t_one = time_hash(paths, 1)
        settings = Settings(home=base / "home")
        store = Store.open(settings.db_url, settings.runs_dir)
        try:
            registry = Registry(store, settings)
            start = time.perf_counter()
            done = registry.add_folder("bench", src)
            t_register = time.perf_counter() - start
            files = store.datasets.files(done.version.id)
            locate = registry.objects.path
            start = time.perf_counter()
            report = validate(files, locate, ValidationConfig())
            t_validate = time.perf_counter() - start
        finally:
            store.close()
        rows = [
            ["sha256sum (1 process)", f"{t_sum:.2f}", f"{mb / t_sum:.0f}", "100%"],
            *(
                [
                    [
                        "openssl dgst -sha256 (1 process)",
                        f"{t_ssl:.2f}",
                        f"{mb / t_ssl:.0f}",
                        f"{t_sum / t_ssl:.0%}",
                    ]
                ]
                if t_ssl
                else []
            ),
            [
                "runyard hash, 2 threads",
                f"{t_two:.2f}",
                f"{mb / t_two:.0f}",
                f"{t_sum / t_two:.0%}",
            ],
            ["runyard hash, 1 thread", f"{t_one:.2f}", f"{mb / t_one:.0f}", f"{t_sum / t_one:.0%}"],
            [
                "register (copy+hash+view+db+validate)",
                f"{t_register:.2f}",
                f"{mb / t_register:.0f}",
                "",
            ],
            ["validate (decode every image)", f"{t_validate:.2f}", f"{mb / t_validate:.0f}", ""],
        ]
        print(
            f"\n{len(paths)} files, {total / 1e9:.2f} GB, {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}; status {report['status']}, "
            f"{report['checked']['images']} images checked"
        )
        print(table(["what", "seconds", "MB/s", "of sha256sum"], rows))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
