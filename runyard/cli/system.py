"""`runyard system`: the server's host health (GET /api/system) as a Rich panel, or JSON."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from runyard.cli._client import client, print_json

# Colour AND a word (and a mark), so the status reads on a monochrome terminal too.
STATUS_STYLE = {
    "healthy": ("green", "✓ healthy"),
    "warning": ("yellow", "! warning"),
    "critical": ("bold red", "✗ critical"),
}


def _status(status: str) -> str:
    style, words = STATUS_STYLE.get(status, ("", status))
    return f"[{style}]{words}[/]"


def _bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m"


def _num(value: float | None, unit: str) -> str:
    return "?" if value is None else f"{value:.0f}{unit}"


def render(data: dict[str, Any]) -> Panel:
    table = Table.grid(padding=(0, 2))
    for _ in range(3):
        table.add_column()
    cpu, mem, disk = data["cpu"], data["memory"], data["disk"]
    load = " ".join(f"{x:.2f}" for x in cpu["load"])
    table.add_row(
        "[bold]cpu[/]", f"{cpu['percent']:.0f}% of {cpu['count']} cores, load {load}",
        _status(cpu["status"]),
    )  # fmt: skip
    table.add_row(
        "[bold]memory[/]",
        f"{_bytes(mem['used'])} used of {_bytes(mem['total'])} ({mem['percent']:.0f}%), "
        f"{_bytes(mem['available'])} available",
        _status(mem["status"]),
    )
    table.add_row(
        "[bold]disk[/]",
        f"{_bytes(disk['used'])} used of {_bytes(disk['total'])} ({disk['percent']:.0f}%), "
        f"{_bytes(disk['free'])} free at {disk['path']}",
        _status(disk["status"]),
    )
    for gpu in data["gpus"]:
        text = (
            f"{gpu['name'] or '?'}: {_bytes(gpu['memory_used'])} of "
            f"{_bytes(gpu['memory_total'])}, {_num(gpu['utilization'], '%')} busy, "
            f"{_num(gpu['temperature'], ' °C')}"
        )
        if gpu.get("error"):
            text += f"\n[dim]{gpu['error']}[/]"
        table.add_row(f"[bold]gpu {gpu['index']}[/]", text, _status(gpu["status"]))
    if not data["gpus"]:
        table.add_row("[bold]gpus[/]", data.get("gpu_error") or "none (no NVML here)", "")
    table.add_row("[bold]uptime[/]", _duration(data["uptime_s"]), "")
    style, _ = STATUS_STYLE.get(data["status"], ("", ""))
    return Panel(
        table,
        title=f"runyard system: {_status(data['status'])}",
        title_align="left",
        border_style=style,
        expand=False,
    )


def system(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the server host's health: CPU, memory, disk, GPUs (exit 0 whatever the status)."""
    data = client().get("/api/system")
    if as_json:
        print_json(data)
        return
    Console().print(render(data))
