"""Helpers the benchmarks share: free ports, servers started and always stopped, memory of a
process tree, the side venv with the peer tools, and a plain-text table."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
BENCH_VENV_BIN = ROOT / ".bench-venv" / "bin"
LOOPBACK = "127.0.0.1"
MB = 1024 * 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def bench_python() -> Path | None:
    """The side venv's python when it exists (scripts/bench-venv.sh makes it), else None."""
    python = BENCH_VENV_BIN / "python"
    return python if python.exists() else None


# --- process trees ---------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(entry))
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    try:
        import psutil

        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except ImportError:
        pass
    except Exception:  # psutil.NoSuchProcess and friends
        return []
    children = _children_map()
    tree, todo = [], [pid]
    while todo and len(tree) < 10_000:
        p = todo.pop()
        if os.path.exists(f"/proc/{p}"):
            tree.append(p)
            todo.extend(children.get(p, []))
    return tree


def _status_kb(pid: int, field: str, path: str = "status") -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass(frozen=True)
class Memory:
    rss: int  # bytes, summed over the tree (shared pages count once per process)
    pss: int  # bytes, proportional set size: shared pages split between their users
    processes: int


def tree_memory(pid: int) -> Memory:
    """Resident memory of ``pid`` and its descendants (Linux /proc; psutil when installed)."""
    pids = process_tree(pid)
    rss = sum(_status_kb(p, "VmRSS") for p in pids) * 1024
    pss = sum(_status_kb(p, "Pss", "smaps_rollup") for p in pids) * 1024
    return Memory(rss, pss, len(pids))


def _cpu_seconds(pids: Sequence[int]) -> float:
    ticks = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_settled(
    pid: int, *, below: float = 0.1, window_s: float = 1.0, timeout_s: float = 60.0
) -> float:
    """Wait until ``pid``'s tree uses less than ``below`` of a core over ``window_s``.

    Returns the seconds until the quiet window began (``timeout_s`` at most). A server that
    answers its health route while its other processes still start would otherwise bill that
    start-up to the first requests.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        tree = process_tree(pid)
        start, before = time.perf_counter(), _cpu_seconds(tree)
        time.sleep(window_s)
        if (_cpu_seconds(tree) - before) / window_s < below:
            return start - t0  # quiet from the start of this window on
    return time.perf_counter() - t0


# --- servers ---------------------------------------------------------------------------------


class ServerFailed(RuntimeError):
    pass


@dataclass
class Server:
    """A server subprocess in its own session; ``startup_s`` is spawn to first healthy answer."""

    proc: subprocess.Popen[bytes]
    url: str
    startup_s: float
    log: Path

    def memory(self) -> Memory:
        return tree_memory(self.proc.pid)

    def settle(self, timeout_s: float = 60.0) -> float:
        return wait_settled(self.proc.pid, timeout_s=timeout_s)


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the process group (and stragglers in the tree), then SIGKILL what is left."""
    if proc.poll() is not None:
        return
    tree = process_tree(proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)
    for p in tree[1:]:  # a descendant that left our process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)


@contextlib.contextmanager
def server(
    argv: Sequence[str],
    *,
    port: int,
    health_path: str,
    log: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 90.0,
) -> Iterator[Server]:
    """Start ``argv`` (with environment ``env``, default ours), wait for a 200 from
    ``health_path``, yield it, and always stop it."""
    url = f"http://{LOOPBACK}:{port}"
    with open(log, "ab") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = t0 + timeout_s
        with httpx.Client(timeout=1.0) as http:
            while True:
                if proc.poll() is not None:
                    raise ServerFailed(
                        f"{argv[0]} exited with {proc.returncode} before it was healthy:\n"
                        + _log_tail(log)
                    )
                try:
                    if http.get(url + health_path).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() > deadline:
                    raise ServerFailed(
                        f"{argv[0]} not healthy after {timeout_s:.0f} s:\n" + _log_tail(log)
                    )
                time.sleep(0.01)
        yield Server(proc, url, time.perf_counter() - t0, log)
    finally:
        stop(proc)


# --- output ----------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with right-aligned columns after the first."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
