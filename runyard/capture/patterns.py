"""Metrics from log lines: `--metrics-pattern` regexes and two presets.

A pattern's named groups say what a match means: `step` (an integer), `epoch`, and any other
name is a metric whose value is the group's text read as a number. Python group names cannot
hold "/", so a double underscore stands for it (`val__loss` is the metric `val/loss`). Two
presets take every pair on a line: `key=value` (`loss=0.31 acc=0.9`) and `key: value`
(`loss: 0.31, acc: 0.9`); a pair named step or epoch gives the step or the epoch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from runyard.errors import BadRequest

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_KEY = r"[A-Za-z_][\w./-]*"
PRESETS = {
    "key=value": re.compile(rf"(?<![\w./-])({_KEY})=({_NUMBER})(?![\w.])", re.IGNORECASE),
    "key: value": re.compile(rf"(?<![\w./-])({_KEY}):[ \t]*({_NUMBER})(?![\w.])", re.IGNORECASE),
}
RESERVED = ("step", "epoch")
MAX_LINE = 4096  # characters of a line that patterns look at


@dataclass(frozen=True)
class Pattern:
    source: str
    regex: re.Pattern[str]
    preset: bool


@dataclass
class Match:
    step: int | None
    epoch: float | None
    values: dict[str, float]


def compile_pattern(source: str) -> Pattern:
    """A pattern ready to match, or BadRequest saying in one line what is wrong with it."""
    preset = PRESETS.get(source.strip())
    if preset is not None:
        return Pattern(source, preset, True)
    try:
        regex = re.compile(source)
    except re.error as exc:
        raise BadRequest(f"metrics pattern {source!r} is not a valid regex: {exc}") from None
    metrics = [g for g in regex.groupindex if g not in RESERVED]
    if not metrics:
        presets = " or ".join(repr(p) for p in PRESETS)
        raise BadRequest(
            f"metrics pattern {source!r} has no metric group: name one, as in "
            f"'loss (?P<loss>[\\d.]+)', or use a preset ({presets})"
        )
    return Pattern(source, regex, False)


def compile_patterns(sources: list[str] | tuple[str, ...]) -> list[Pattern]:
    return [compile_pattern(s) for s in sources]


def metric_name(group: str) -> str:
    return group.replace("__", "/")


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _step(value: float | None) -> int | None:
    return int(value) if value is not None and math.isfinite(value) else None


def match_line(patterns: list[Pattern], line: str) -> Match | None:
    """What the line says by all patterns together; None when no pattern gives a metric."""
    line = line[:MAX_LINE]
    found = Match(None, None, {})
    for pattern in patterns:
        if pattern.preset:
            for key, text in pattern.regex.findall(line):
                _take(found, key, _float(text))
            continue
        m = pattern.regex.search(line)
        if m is None:
            continue
        for group, text in m.groupdict().items():
            _take(found, group, _float(text))
    return found if found.values else None


def _take(found: Match, key: str, value: float | None) -> None:
    if value is None:
        return
    if key == "step":
        found.step = _step(value) if found.step is None else found.step
    elif key == "epoch":
        found.epoch = value if found.epoch is None else found.epoch
    else:
        found.values[metric_name(key)] = value
