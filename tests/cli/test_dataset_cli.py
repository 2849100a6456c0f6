"""`runyard dataset …` against a real server subprocess sharing the CLI's RUNYARD_HOME."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess
from tests.datasets._archives import Member, write_tar, write_zip
from tests.datasets._data import classification, segmentation


def _env(server: ServerProcess) -> dict[str, str]:
    return {"RUNYARD_URL": server.url, "RUNYARD_HOME": str(server.home), "COLUMNS": "200"}


def test_add_ls_show_validate_transform(server: ServerProcess, tmp_path: Path) -> None:
    env = _env(server)
    src = segmentation(tmp_path / "src")
    added = cli("dataset", "add", str(src), "--name", "retina", "--json", env=env)
    assert added.returncode == 0, added.stderr
    version = json.loads(added.stdout)["version"]
    again = cli("dataset", "add", str(src), "--name", "retina", env=env)
    assert again.returncode == 0 and "registered already" in again.stdout
    listed = json.loads(cli("dataset", "ls", "--json", env=env).stdout)["datasets"]
    assert [(d["name"], d["latest"]) for d in listed] == [("retina", version)]
    table = cli("dataset", "ls", env=env)
    assert "retina" in table.stdout and version in table.stdout
    shown = cli("dataset", "show", f"retina@{version}", env=env)
    assert shown.returncode == 0
    assert "image-mask" in shown.stdout and "RetinaSet" in shown.stdout
    assert "leakage" in shown.stdout and "P001" in shown.stdout
    checked = cli("dataset", "validate", f"retina@{version}", "--size", "64x64", env=env)
    assert checked.returncode == 1  # errors: the leak, and now the size too
    assert "image-size" in checked.stdout and "6 images are not 64x64" in checked.stdout
    made = cli(
        "dataset",
        "transform",
        f"retina@{version}",
        "--steps",
        "crop:margin=0.1,resize:24",
        "--json",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    job = json.loads(made.stdout)
    assert job["status"] == "succeeded" and job["parent"] == version
    versions = cli("dataset", "show", "retina", env=env)
    assert job["version"] in versions.stdout and "resize(size=24x24)" in versions.stdout
    followed = cli("dataset", "transform", "retina", "--steps", "clahe", env=env)
    assert followed.returncode == 0 and "made retina@" in followed.stdout
    assert "100%" in followed.stderr  # the progress bar, on stderr


def test_unpack_locally_and_by_upload(server: ServerProcess, tmp_path: Path) -> None:
    env = _env(server)
    src = classification(tmp_path / "src")
    archive = write_tar(
        tmp_path / "pets.tar.gz",
        [Member(p.relative_to(src).as_posix(), p.read_bytes()) for p in sorted(src.rglob("*.png"))],
        "w:gz",
    )
    local = cli("dataset", "unpack", str(archive), "--name", "pets", "--json", env=env)
    assert local.returncode == 0, local.stderr
    out = json.loads(local.stdout)
    assert out["created"] and out["layout"]["kind"] == "imagefolder"
    uploaded = cli("dataset", "unpack", str(archive), "-n", "pets", "--upload", "--json", env=env)
    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["version"] == out["version"]
    assert not json.loads(uploaded.stdout)["created"]


def test_refusals_are_one_line(server: ServerProcess, tmp_path: Path) -> None:
    env = _env(server)
    evil = write_zip(tmp_path / "evil.zip", [Member("../../x.png", b"x")])
    for extra in (["--local"], ["--upload"]):
        done = cli("dataset", "unpack", str(evil), "--name", "evil", *extra, env=env)
        assert done.returncode == 1
        used, line = done.stderr.strip().splitlines()  # which store, then the one-line refusal
        assert used.startswith("runyard: using the") and "climbs out" in line
    assert cli("dataset", "show", "evil", env=env).returncode == 1
    assert cli("dataset", "add", str(tmp_path / "missing"), "-n", "x", env=env).returncode == 2
    assert cli("dataset", "add", str(tmp_path), env=env).returncode == 2  # no --name
    assert cli("dataset", "transform", "x@", "--steps", "crop", env=env).returncode == 2
    server_side = cli("dataset", "add", str(tmp_path), "-n", "x", "--server", env=env)
    assert server_side.returncode == 1 and "RUNYARD_DATASET_IMPORT_ROOT" in server_side.stderr


def test_one_store_whichever_door(server: ServerProcess, tmp_path: Path) -> None:
    """A new user's shell without the server's RUNYARD_HOME still writes where the dashboard
    reads, and each command says which store it used."""
    src = classification(tmp_path / "src")
    other_home = {"RUNYARD_URL": server.url, "RUNYARD_HOME": str(tmp_path / "elsewhere")}
    done = cli("dataset", "unpack", str(write_tar(
        tmp_path / "pets.tar", [Member(p.relative_to(src).as_posix(), p.read_bytes())
                                for p in sorted(src.rglob("*.png"))], "w",
    )), "--name", "pets", env=other_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"using the server at {server.url}" in done.stderr
    added = cli("dataset", "add", str(src), "--name", "folder", env=other_home)
    assert added.returncode == 0 and "using the server" in added.stderr
    names = {
        d["name"]
        for d in json.loads(cli("dataset", "ls", "--json", env=_env(server)).stdout)["datasets"]
    }
    assert {"pets", "folder"} <= names
    offline = {"RUNYARD_URL": "http://127.0.0.1:9", "RUNYARD_HOME": str(tmp_path / "solo")}
    alone = cli("dataset", "add", str(src), "--name", "solo", env=offline)
    assert alone.returncode == 0, alone.stderr
    assert "the local store in" in alone.stderr and "no server answered" in alone.stderr
