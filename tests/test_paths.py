"""runyard._paths: whatever a request names, the answer is a path inside the root or a 400."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard._paths import check_name, confine_relative, is_inside
from runyard.errors import BadRequest

_PIECES = st.sampled_from(
    ["..", ".", "", "a", "b", "out", "in", "/", "\\", "\x00", "C:", "%2e%2e", "~", "link"]
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("paths")
    root = base / "root"
    (root / "a" / "b").mkdir(parents=True)
    (base / "out").mkdir()
    (root / "link").symlink_to(base / "out")
    (root / "a" / "in").symlink_to("..")
    return root


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(_PIECES, min_size=1, max_size=8), sep=st.sampled_from(["/", "\\"]))
def test_confined_or_refused(root: Path, parts: list[str], sep: str) -> None:
    user_path = sep.join(parts)
    try:
        target = confine_relative(root, user_path)
    except BadRequest:
        return
    assert is_inside(root, target) and target == target.resolve()
    assert "\x00" not in user_path and "\\" not in user_path and ".." not in user_path.split("/")
    assert not user_path.startswith("/")


def test_names_refused() -> None:
    for bad in ("", "..", "../x", "a/../../x", "/etc/passwd", "a\x00", "..\\x", "C:x"):
        with pytest.raises(BadRequest):
            check_name(bad)
    check_name("epoch-3.pt")
    check_name("runs/best.pt")


@pytest.mark.parametrize("path", ["x" * 256, "a/" + "é" * 128, "a/" * 2100])
def test_names_past_the_kernels_limits_are_400_not_oserror(root: Path, path: str) -> None:
    with pytest.raises(BadRequest, match="too long"):
        confine_relative(root, path)
    with pytest.raises(BadRequest, match="too long"):
        check_name(path)
