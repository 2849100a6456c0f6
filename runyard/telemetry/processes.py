"""Resources of process trees: a job's supervisor (the shim) and everything under it.

psutil measures a process's CPU percentage since the previous call *on the same Process
object*, so the objects are kept from one sample to the next and dropped with their tree.
A pid is only trusted while the process holding it started when the recorded one did.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import psutil

START_TIME_TOLERANCE_S = 0.05  # psutil's create_time is rounded to clock ticks


@dataclass(frozen=True)
class TreeSample:
    cpu_percent: float | None  # of one core, summed (200 = two cores); None on the first sample
    rss_bytes: int  # summed: pages shared between processes count once per process
    pids: tuple[int, ...]


@dataclass
class _Tree:
    root: psutil.Process
    procs: dict[int, psutil.Process] = field(default_factory=dict)
    samples: int = 0


def _children_map() -> dict[int, list[int]]:
    """ppid → pids, in one pass over the process table (not one per tree)."""
    out: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info.get("ppid")
        if ppid is not None:
            out.setdefault(ppid, []).append(proc.pid)
    return out


def _descendants(pid: int, children: Mapping[int, list[int]]) -> list[int]:
    tree, todo = [pid], list(children.get(pid, ()))
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def _open_root(pid: int, start_time: float | None) -> psutil.Process | None:
    if start_time is None:
        return None
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - start_time) >= START_TIME_TOLERANCE_S:
            return None  # the pid was reused: not the process that was started
        return proc
    except psutil.Error:
        return None


class ProcessTrees:
    """Samples process trees by key (e.g. (run id, attempt)); not thread-safe: one owner."""

    def __init__(self) -> None:
        self._trees: dict[Hashable, _Tree | None] = {}  # None: that pid is not ours

    def __len__(self) -> int:
        return sum(t is not None for t in self._trees.values())

    def sample(
        self, roots: Mapping[Hashable, tuple[int, float | None]]
    ) -> dict[Hashable, TreeSample]:
        """Each live tree among ``roots`` (key → (pid, process start time)); trees whose key
        is gone are forgotten, with their Process objects."""
        for key in list(self._trees):
            if key not in roots:
                del self._trees[key]
        if not roots:
            return {}
        children = _children_map()
        out: dict[Hashable, TreeSample] = {}
        for key, (pid, start_time) in roots.items():
            if key not in self._trees:
                root = _open_root(pid, start_time)
                self._trees[key] = _Tree(root, {pid: root}) if root is not None else None
            tree = self._trees[key]
            if tree is None:
                continue
            sample = _sample_tree(tree, children)
            if sample is None:
                self._trees[key] = None  # ended or replaced: not to be looked at again
            else:
                out[key] = sample
        return out


def _sample_tree(tree: _Tree, children: Mapping[int, list[int]]) -> TreeSample | None:
    if not tree.root.is_running():  # gone, or its pid now names another process
        return None
    pids = _descendants(tree.root.pid, children)
    live: dict[int, psutil.Process] = {}
    cpu = 0.0
    rss = 0
    for pid in pids:
        proc = tree.procs.get(pid)
        try:
            if proc is None or not proc.is_running():
                proc = psutil.Process(pid)
            with proc.oneshot():
                cpu += proc.cpu_percent(interval=None)  # 0.0 on a new object's first call
                rss += proc.memory_info().rss
        except psutil.Error:  # ended between the listing and now
            continue
        live[pid] = proc
    if tree.root.pid not in live:
        return None
    tree.procs = live
    tree.samples += 1
    return TreeSample(
        cpu_percent=cpu if tree.samples > 1 else None,
        rss_bytes=rss,
        pids=tuple(live),
    )
