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


def test_expected_outputs_are_found_in_the_working_directory_too(tmp_path: Path) -> None:
    run_dir, cwd = tmp_path / "run", tmp_path / "project"
    (run_dir / "logs").mkdir(parents=True)
    (cwd / "out").mkdir(parents=True)
    (cwd / "out" / "ckpt.pt").write_bytes(b"w" * 10)
    expect = (
        Expectation(name="ckpt", glob="out/ckpt.pt"),
        Expectation(name="report", glob="report/*.html", hint="write the report"),
    )
    items = {i["name"]: i for i in evaluate(run_dir, expect, [], cwd=cwd)}
    assert items["ckpt"]["status"] == "PASS"
    failing = items["report"]
    assert failing["status"] == "FAIL"
    assert failing["detail"] == f"0 file(s) match report/*.html (looked in {run_dir} and {cwd})"


def test_a_run_of_the_sdk_alone_has_no_log_item_and_its_remote_checkpoints_pass(
    tmp_path: Path,
) -> None:
    from runyard.store.files import CheckpointRecord

    laptop = CheckpointRecord(
        name="epoch-3.pt", path="checkpoints/epoch-3.pt", attempt=None, step=3, epoch=3,
        size=10, sha256="0" * 64, metrics={}, created_at=1.0,
    )  # fmt: skip
    tracked = {i["name"]: i for i in evaluate(tmp_path, (), [laptop], job=False)}
    assert "logs ready" not in tracked
    assert tracked["checkpoints ready"]["status"] == "PASS"
    assert "1 recorded elsewhere" in str(tracked["checkpoints ready"]["detail"])
    as_job = {i["name"]: i for i in evaluate(tmp_path, (), [laptop])}
    assert as_job["logs ready"]["status"] == "FAIL"  # a job that printed nothing
    assert as_job["checkpoints ready"]["status"] == "FAIL"  # a job's files are on this disk
