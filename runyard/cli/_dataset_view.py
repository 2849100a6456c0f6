"""Rich views of datasets, versions and validation reports (the shapes of the REST API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STATUS_STYLE = {"ok": "green", "warnings": "yellow", "errors": "red"}


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def status_text(validation: dict[str, Any] | None, short: bool = False) -> str:
    if not validation:
        return "-"
    status = validation["status"]
    text = f"[{STATUS_STYLE.get(status, '')}]{status}[/]"
    if status != "ok":
        e, w = validation["errors"], validation["warnings"]
        text += f" ({e}E {w}W)" if short else f" ({e} errors, {w} warnings)"
    return text


def _arg(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


def steps_text(steps: list[dict[str, Any]]) -> str:
    parts = []
    for step in steps:
        args = ",".join(f"{k}={_arg(v)}" for k, v in step.items() if k != "op")
        parts.append(f"{step['op']}({args})")
    return " → ".join(parts) or "-"


def counts_table(counts: dict[str, dict[str, int]]) -> Table | None:
    if not counts:
        return None
    classes = sorted({c for per in counts.values() for c in per})
    table = Table(title="images", title_justify="left", header_style="bold")
    table.add_column("split")
    for c in classes:
        table.add_column(escape(c), justify="right")
    table.add_column("total", justify="right")
    for split, per in counts.items():
        table.add_row(split, *(str(per.get(c, 0)) for c in classes), str(sum(per.values())))
    return table


def print_datasets(console: Console, datasets: list[dict[str, Any]]) -> None:
    if not datasets:
        console.print("no datasets yet: runyard dataset add PATH --name NAME")
        return
    table = Table(header_style="bold")
    for col in ("name", "latest", "versions", "created", "description"):
        table.add_column(col)
    for d in datasets:
        table.add_row(
            escape(d["name"]),
            d["latest"] or "-",
            str(d["version_count"]),
            when(d["created_at"]),
            escape(d["description"]) or "-",
        )
    console.print(table)


def print_dataset(console: Console, dataset: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(dataset['name'])}[/]  {escape(dataset['description'])}")
    table = Table(header_style="bold")
    for col in ("version", "parent", "steps", "created", "files", "size", "layout", "checks"):
        table.add_column(col, overflow="fold")
    for v in dataset["versions"]:
        table.add_row(
            v["version"],
            v["parent"] or "-",
            steps_text(v["steps"]),
            when(v["created_at"]),
            str(v["file_count"]),
            size_text(v["total_bytes"]),
            v["layout"].get("kind", "-"),
            status_text(v["validation"], short=True),
        )
    console.print(table)


def print_version(console: Console, v: dict[str, Any]) -> None:
    layout = v["layout"]
    console.print(f"[bold]{escape(v['dataset'])}@{v['version']}[/]  {status_text(v['validation'])}")
    rows = [
        ("layout", layout.get("kind", "-")),
        ("splits", ", ".join(f"{s} ({'/'.join(d)})" for s, d in layout.get("splits", {}).items())),
        ("classes", ", ".join(layout.get("classes", []))),
        ("images / masks", f"{layout.get('images', 0)} / {layout.get('masks', 0)}"),
        ("metadata", ", ".join(layout.get("metadata", []))),
        ("unwrapped", layout.get("wrapper") or ""),
        ("files", f"{v['file_count']} ({size_text(v['total_bytes'])})"),
        ("parent", v["parent"] or ""),
        ("steps", steps_text(v["steps"]) if v["steps"] else ""),
        ("source", v.get("source") or ""),
        ("created", when(v["created_at"])),
        ("path", v.get("path", "")),
        ("manifest", v["manifest"]["sha256"] if "manifest" in v else ""),
        ("runs", ", ".join(r["id"] for r in v.get("runs", []))),
    ]
    converted = [c for c in layout.get("converted", []) if c.get("to")]
    if converted:
        rows.append(("converted", ", ".join(f"{c['from']} → {len(c['to'])}" for c in converted)))
    grid = Table.grid(padding=(0, 2))
    for key, value in rows:
        if value:
            grid.add_row(f"[dim]{key}[/]", escape(str(value)))
    console.print(grid)
    table = counts_table(v["counts"])
    if table is not None:
        console.print(table)


def print_report(console: Console, report: dict[str, Any]) -> None:
    status = report["status"]
    console.print(
        f"validation: [{STATUS_STYLE.get(status, '')}]{status}[/] "
        f"({len(report['errors'])} errors, {len(report['warnings'])} warnings; "
        f"{report['checked'].get('files', 0)} files checked)"
    )
    for level, mark, style in (("errors", "✗", "red"), ("warnings", "!", "yellow")):
        for issue in report[level]:
            console.print(f"[{style}]{mark} {issue['check']}[/]: {escape(issue['message'])}")
            for f in issue["files"]:
                console.print(f"    [dim]{escape(f)}[/]")
            if issue["count"] > len(issue["files"]):
                console.print(f"    [dim]… and {issue['count'] - len(issue['files'])} more[/]")
            if issue["hint"]:
                console.print(f"    [italic]hint: {escape(issue['hint'])}[/]")
    if report.get("leaked_ids"):
        shown = ", ".join(report["leaked_ids"][:20])
        console.print(f"[red]subjects in more than one split:[/] {escape(shown)}")
