"""Property: whatever an archive holds, unpacking writes nothing outside its target."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.datasets.unpack import Limits, unpack
from runyard.errors import BadRequest
from tests.datasets._archives import Member, write_tar, write_zip
from tests.datasets.test_unpack import snapshot

SEGMENTS = st.sampled_from(["a", "b", "..", ".", "", "C:", "a\\..", "...", "x y"])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join)
MEMBERS = st.builds(
    Member,
    name=PATHS,
    data=st.binary(max_size=64),
    kind=st.sampled_from(["file", "dir", "symlink", "hardlink"]),
    link=PATHS,
)


def _inside(root: Path, path: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.lists(MEMBERS, min_size=1, max_size=6), fmt=st.sampled_from(["zip", "tar"]))
def test_no_archive_writes_outside_its_target(members: list[Member], fmt: str) -> None:
    if fmt == "zip":  # zip has no hard links
        members = [m for m in members if m.kind != "hardlink"] or [Member("f")]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "src").mkdir()
        nest = base / "a" / "b" / "c"
        nest.mkdir(parents=True)
        writer = write_zip if fmt == "zip" else write_tar
        archive = writer(base / "src" / f"x.{fmt}", members)
        before = snapshot(base)
        dest = nest / "out"
        try:
            unpack(archive, dest, Limits(max_bytes=1 << 20, max_entries=50))
        except BadRequest:
            assert snapshot(base) == before
            return
        outside = snapshot(base) - before
        assert all(p == "a/b/c/out" or p.startswith("a/b/c/out/") for p in outside)
        for d, dirs, files in os.walk(dest):
            for name in (*dirs, *files):
                assert _inside(dest, os.path.join(d, name)), os.path.join(d, name)
