"""`runyard dataset unpack | add | ls | show | validate | transform`.

`add` and `unpack` read files on this machine, so they write to the store directly (as
`runyard gc` does: RUNYARD_HOME / RUNYARD_DATABASE_URL), with no upload size limit; `unpack
--upload` and `add --server` go through the server instead. The rest talk to RUNYARD_URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from runyard.cli import _dataset_view as view
from runyard.cli._client import client, fail, print_json, server_answers
from runyard.config import Settings

if TYPE_CHECKING:
    from runyard.datasets.registry import Registered, Registry

app = typer.Typer(
    help="Datasets: unpack, register, check and transform versions.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DescriptionOpt = Annotated[str, typer.Option("--description", "-d")]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="The dataset's name.")]


def _through_server(upload: bool | None) -> bool:
    """Whether to write through the server, and say which store is used (on stderr)."""
    settings = Settings()
    use = server_answers(settings) if upload is None else upload
    where = (
        f"the server at {settings.url}"
        if use
        else f"the local store in {settings.home}"
        + (" (no server answered)" if upload is None else "")
    )
    typer.echo(f"runyard: using {where}", err=True)
    return use


def _local(do: Callable[[Registry], Registered], as_json: bool) -> None:
    """Register on this machine's store, then print the version as the API would."""
    from runyard.datasets.registry import Registry
    from runyard.errors import RunyardError
    from runyard.server.dataset_schemas import RegisterOut, version_detail
    from runyard.store import Store

    settings = Settings()
    store = Store.open(settings.db_url, settings.runs_dir)
    try:
        registry = Registry(store, settings)
        try:
            done = do(registry)
        except RunyardError as exc:
            fail(exc.message)
        detail = version_detail(registry, done.version, files=0)
        out = RegisterOut(**detail.model_dump(), created=done.created).model_dump(mode="json")
    finally:
        store.close()
    _print_registered(out, as_json)


def _print_registered(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(out)
        return
    console = Console()
    if not out["created"]:
        console.print("[dim]the same content is registered already: nothing changed[/]")
    view.print_version(console, out)
    if out["report"]:
        view.print_report(console, out["report"])


@app.command()
def unpack(
    archive: Annotated[Path, typer.Argument(help=".zip, .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz")],
    name: NameOpt,
    description: DescriptionOpt = "",
    upload: Annotated[
        bool | None,
        typer.Option(
            "--upload/--local",
            help="Send the archive to the server (the default when one answers at "
            "RUNYARD_URL), or register it in this machine's store.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Unpack an archive safely and register what it holds as a version of NAME: through the
    server when one answers (so the dashboard shows it), else in the local store."""
    if not archive.is_file():
        fail(f"{archive} is not a file", code=2)
    if _through_server(upload):
        _print_registered(_upload(archive, name, description), as_json)
        return
    _local(lambda r: r.add_archive(name, archive, description=description), as_json)


def _upload(archive: Path, name: str, description: str) -> dict[str, Any]:
    with archive.open("rb") as f:
        out: dict[str, Any] = client().request(
            "POST",
            "/api/datasets",
            data={"name": name, "description": description},
            files={"file": (archive.name, f, "application/octet-stream")},
            timeout=None,
        )
    return out


def _upload_folder(path: Path, name: str, description: str) -> dict[str, Any]:
    """A folder goes to the server as a tar (no compression: images are compressed already)."""
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="runyard-upload-") as tmp:
        packed = Path(tmp) / f"{path.name or 'dataset'}.tar"
        with tarfile.open(packed, "w") as tar:
            for item in sorted(path.rglob("*")):
                if item.is_file() and not item.is_symlink():
                    tar.add(item, arcname=str(item.relative_to(path)), recursive=False)
        return _upload(packed, name, description)


@app.command()
def add(
    path: Annotated[Path, typer.Argument(help="A folder (or an archive) to register.")],
    name: NameOpt,
    description: DescriptionOpt = "",
    server: Annotated[
        bool,
        typer.Option(
            "--server", help="Have the server read PATH (inside its RUNYARD_DATASET_IMPORT_ROOT)."
        ),
    ] = False,
    upload: Annotated[
        bool | None,
        typer.Option(
            "--upload/--local",
            help="Send the files to the server (the default when one answers), or register "
            "them in this machine's store.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the files under PATH as a version of NAME (a no-op if the content is known):
    through the server when one answers, else in the local store."""
    if server:
        body = {"name": name, "path": str(path.absolute()), "description": description}
        _print_registered(client().request("POST", "/api/datasets", json=body), as_json)
        return
    if not path.exists():
        fail(f"{path} does not exist", code=2)
    if _through_server(upload):
        send = _upload_folder if path.is_dir() else _upload
        _print_registered(send(path, name, description), as_json)
        return
    if path.is_dir():
        _local(lambda r: r.add_folder(name, path, description=description), as_json)
    else:
        _local(lambda r: r.add_archive(name, path, description=description), as_json)


@app.command("ls")
def ls(as_json: JsonOpt = False) -> None:
    """List datasets with their latest version."""
    data = client().get("/api/datasets")
    if as_json:
        print_json(data)
        return
    view.print_datasets(Console(), data["datasets"])


def _split_ref(ref: str) -> tuple[str, str | None]:
    name, at, version = ref.partition("@")
    if not name or (at and not version):
        fail(f"{ref!r} is not NAME or NAME@VERSION", code=2)
    return name, version or None


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="NAME (its versions) or NAME@VERSION (one).")],
    files: Annotated[int, typer.Option(min=0, help="Manifest entries to include (JSON).")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Show a dataset's versions, or one version: layout, counts, checks, runs."""
    name, version = _split_ref(ref)
    if version is None:
        data = client().get(f"/api/datasets/{name}")
        if as_json:
            print_json(data)
        else:
            view.print_dataset(Console(), data)
        return
    data = client().get(f"/api/datasets/{name}/versions/{version}", files=files)
    if as_json:
        print_json(data)
        return
    console = Console()
    view.print_version(console, data)
    if data["report"]:
        view.print_report(console, data["report"])


def _pair(text: str, sep: str, what: str) -> tuple[float, float]:
    a, found, b = text.lower().partition(sep)
    try:
        if not found:
            raise ValueError
        return float(a), float(b)
    except ValueError:
        fail(f"{what} {text!r} must look like A{sep}B", code=2)


@app.command()
def validate(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION (or NAME for its latest).")],
    size: Annotated[str | None, typer.Option(help="Every image WxH, e.g. 512x512.")] = None,
    channels: Annotated[int | None, typer.Option(min=1, max=4)] = None,
    pixel_range: Annotated[str | None, typer.Option(help="Allowed LO,HI, e.g. 0,255.")] = None,
    require: Annotated[
        list[str] | None, typer.Option(help="A metadata column that must exist; repeatable.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Metadata column of the subject/patient id.")
    ] = None,
    id_pattern: Annotated[
        str | None, typer.Option(help="Regex over file names; group 'id' is the subject.")
    ] = None,
    multiclass_masks: Annotated[
        bool, typer.Option(help="Masks may hold more than two values.")
    ] = False,
    max_listed: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Check a version (structure, images, masks, metadata, leakage); exit 1 on errors."""
    name, version = _split_ref(ref)
    body: dict[str, Any] = {
        "channels": channels,
        "binary_masks": not multiclass_masks,
        "required_columns": require or [],
        "id_column": id_column,
        "id_pattern": id_pattern,
        "max_listed": max_listed,
    }
    if size:
        w, h = _pair(size, "x", "--size")
        body["image_size"] = [int(w), int(h)]
    if pixel_range:
        body["pixel_range"] = list(_pair(pixel_range, ",", "--pixel-range"))
    report = client().request(
        "POST",
        f"/api/datasets/{name}/versions/{version or 'latest'}/validate",
        json=body,
        timeout=None,
    )
    if as_json:
        print_json(report)
    else:
        view.print_report(Console(), report)
    if report["status"] == "errors":
        raise typer.Exit(1)


@app.command()
def transform(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION to start from.")],
    steps: Annotated[str, typer.Option(help="e.g. clahe:channel=green,crop:margin=0.1,resize:512")],
    wait: Annotated[bool, typer.Option(help="Follow the job to its end.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Make a new version with these steps (a job on the server), following its progress."""
    name, version = _split_ref(ref)
    http = client()
    job = http.request(
        "POST",
        f"/api/datasets/{name}/versions/{version or 'latest'}/transform",
        json={"steps": steps},
    )
    if wait:
        job = _follow(http.get, job, quiet=as_json)
    if as_json:
        print_json(job)
    elif job["status"] == "succeeded":
        Console().print(
            f"made [bold]{name}@{job['version']}[/] from {name}@{job['parent']} "
            f"({view.steps_text(job['steps'])}); runyard dataset show {name}@{job['version']}"
        )
    elif not wait:
        Console().print(f"job {job['id']} started: runyard dataset show {name} when it is done")
    if job["status"] == "failed":
        fail(f"transform failed: {job['error']}")


def _follow(get: Callable[..., Any], job: dict[str, Any], quiet: bool) -> dict[str, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), disable=quiet) as progress:
        task = progress.add_task(f"transform {job['dataset']}@{job['parent']}", total=None)
        while job["status"] not in ("succeeded", "failed"):
            time.sleep(0.2)
            job = get(f"/api/datasets/jobs/{job['id']}")
            progress.update(task, total=job["total"] or None, completed=job["done"])
    return job
