"""run.use_dataset: a script declares the dataset version it trains on; both sides show it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest

import runyard
from tests.conftest import ServerProcess
from tests.datasets._data import classification
from tests.sdk.conftest import get


def _register(url: str, folder: Path) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, p.relative_to(folder).as_posix())
    r = httpx.post(
        f"{url}/api/datasets",
        data={"name": "pets"},
        files={"file": ("pets.zip", buf.getvalue())},
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    version: str = r.json()["version"]
    return version


def test_a_run_declares_its_dataset_version(online: ServerProcess, tmp_path: Path) -> None:
    version = _register(online.url, classification(tmp_path / "pets"))
    with runyard.init(experiment="pets") as run:
        run.use_dataset(f"pets@{version}")
        run.log({"loss": 1.0})
    assert run.delivered is True
    assert get(online.url, f"/api/runs/{run.id}")["datasets"] == [
        {"name": "pets", "version": version}
    ]
    runs = get(online.url, f"/api/datasets/pets/versions/{version}")["runs"]
    assert run.id in [r["id"] for r in runs]


def test_a_bad_reference_raises_at_the_call_site(online: ServerProcess) -> None:
    with runyard.init() as run:
        for bad in ("", "@v1", 3):
            with pytest.raises(ValueError, match="name@version"):
                run.use_dataset(bad)  # type: ignore[arg-type]
