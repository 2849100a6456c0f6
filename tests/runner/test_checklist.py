from __future__ import annotations

from pathlib import Path

from runyard.entities import Expectation
from runyard.runner.checklist import evaluate


def _items(run_dir: Path, *expect: Expectation) -> dict[str, dict[str, object]]:
    return {i["name"]: i for i in evaluate(run_dir, expect, [])}


def test_a_glob_the_filesystem_refuses_fails_its_item_instead_of_the_request(
    tmp_path: Path,
) -> None:
    items = _items(tmp_path, Expectation(name="long", glob="x" * 5000, min_count=1))
    assert items["long"]["status"] == "FAIL"
    assert "cannot be used" in str(items["long"]["detail"])


def test_links_out_of_the_run_dir_do_not_count(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "artifacts").mkdir(parents=True)
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"x" * 100)
    (run_dir / "artifacts" / "model.bin").symlink_to(outside)
    (run_dir / "artifacts" / "real.bin").write_bytes(b"y" * 100)
    items = _items(run_dir, Expectation(name="models", glob="artifacts/*.bin", min_count=2))
    assert items["models"]["status"] == "FAIL"
    assert str(items["models"]["detail"]).startswith("1 file(s) match")
