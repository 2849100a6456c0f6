"""Registering versions: unpack or read a folder, normalise it, store its files by content,
record the manifest, and check it.

A version's id is the start of its manifest's SHA-256: the same files give the same version,
so registering them again is a no-op that returns the version already there.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runyard.config import Settings
from runyard.datasets.layout import classify_all, counts_of, describe
from runyard.datasets.normalise import Source, Tree, normalise
from runyard.datasets.objects import ObjectStore, manifest_sha256
from runyard.datasets.transforms import Step, describe_steps, transform_files
from runyard.datasets.unpack import Limits, archive_suffix, unpack
from runyard.datasets.validate import ValidationConfig, validate
from runyard.errors import BadRequest, NotFound
from runyard.store import Store
from runyard.store.datasets import NewVersion, VersionRecord

VERSION_LEN = 12
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(name: str) -> str:
    if not NAME.match(name) or name in (".", ".."):
        raise BadRequest(
            f"dataset name {name!r} must be 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class Registered:
    version: VersionRecord
    created: bool
    path: Path  # the version's folder (a view of hard links)


class Registry:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self.objects = ObjectStore(settings.datasets_dir)

    def add_folder(
        self,
        name: str,
        folder: Path,
        *,
        description: str = "",
        checks: ValidationConfig | None = None,
    ) -> Registered:
        """Register the files under ``folder`` (left untouched: its files are copied)."""
        check_name(name)
        work = self.objects.work_dir("add")
        try:
            tree = normalise(folder, work, owned=False)
            return self.register(
                name, tree, description=description, source=f"folder {folder}", checks=checks
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def add_archive(
        self,
        name: str,
        archive: Path,
        *,
        filename: str | None = None,
        description: str = "",
        checks: ValidationConfig | None = None,
    ) -> Registered:
        """Unpack ``archive`` safely (see unpack.py), then register what came out."""
        check_name(name)
        shown = filename or archive.name
        if archive_suffix(shown) is None:
            raise BadRequest(
                f"{shown} is not an archive runyard unpacks: use .zip, .tar, .tar.gz, .tgz, "
                ".tar.bz2 or .tar.xz"
            )
        work = self.objects.work_dir("unpack")
        try:
            named = work / f"archive{archive_suffix(shown)}"
            named.symlink_to(archive.resolve())
            out = unpack(named, work / "out", Limits.from_settings(self.settings), name=shown)
            tree = normalise(out, work, owned=True)
            return self.register(
                name, tree, description=description, source=f"archive {shown}", checks=checks
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def register(
        self,
        name: str,
        tree: Tree | Sequence[Source],
        *,
        description: str = "",
        source: str | None = None,
        parent: VersionRecord | None = None,
        steps: Sequence[Any] = (),
        checks: ValidationConfig | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Registered:
        """Store the files, record the version (once), build its folder, check it."""
        if isinstance(tree, Tree):
            sources, notes = tree.files, tree.notes()
        else:
            sources, notes = list(tree), {}
        files = self.objects.put_all(sources, progress)
        digest = manifest_sha256(files)
        version = digest[:VERSION_LEN]
        paths = [f.path for f in files]
        layout = {**describe(paths), **notes}
        new = NewVersion(
            version=version,
            manifest_sha256=digest,
            files=files,
            layout=layout,
            counts=counts_of(classify_all(paths)),
            source=source,
            parent_id=parent.id if parent else None,
            steps=list(steps),
        )
        existing = self._existing(name, version)
        if existing is not None and existing.manifest_sha256 != digest:
            raise BadRequest(f"version id {version} of {name!r} collides; report this as a bug")
        view = self.objects.make_view(name, version, files)
        record, created = self.store.datasets.add_version(name, new, description)
        if created:
            report = validate(files, self.objects.path, checks or ValidationConfig())
            self.store.datasets.set_validation(record.id, report)
            record = self.store.datasets.version(name, version)
        return Registered(record, created, view)

    def transform(
        self,
        parent: VersionRecord,
        steps: list[Step],
        progress: Callable[[int], None] | None = None,
    ) -> Registered:
        """A new version of the same dataset: ``parent`` with ``steps`` applied (its lineage)."""
        files = self.store.datasets.files(parent.id)
        work = self.objects.work_dir("transform")
        try:
            items = [(f.path, f.sha256, f.size, self.objects.path(f.sha256)) for f in files]
            sources = transform_files(items, steps, work, progress)
            return self.register(
                parent.dataset,
                sources,
                source=f"{parent.dataset}@{parent.version} | {describe_steps(steps)}",
                parent=parent,
                steps=steps,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _existing(self, name: str, version: str) -> VersionRecord | None:
        try:
            return self.store.datasets.version(name, version)
        except NotFound:
            return None

    def revalidate(self, name: str, version: str, checks: ValidationConfig) -> dict[str, Any]:
        record = self.store.datasets.version(name, version)
        files = self.store.datasets.files(record.id)
        report = validate(files, self.objects.path, checks)
        self.store.datasets.set_validation(record.id, report)
        return report

    def view(self, record: VersionRecord) -> Path:
        return self.objects.view(record.dataset, record.version)
