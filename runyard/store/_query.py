"""Parsing of the run list's `filter` and `order_by` expressions.

    filter:   metrics.val/loss < 0.5 and params.optimizer = "adam"
    order_by: metrics.val/loss | -params.lr | created_at desc

Keys with spaces or operators in them can be quoted with backticks: metrics.`my key` > 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from runyard.errors import BadRequest

Scope = Literal["metrics", "params", "attr"]
ATTRIBUTES = ("created_at", "started_at", "ended_at", "updated_at", "name", "status", "priority")
OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
MAX_CLAUSES = 20

_CLAUSE = re.compile(
    r"^\s*(?P<scope>metrics|params)\.(?:`(?P<qkey>[^`]+)`|(?P<key>[^\s<>=!]+))"
    r"\s*(?P<op><=|>=|!=|=|<|>)\s*(?P<value>.+?)\s*$",
    re.DOTALL,
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    scope: Scope
    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class Order:
    scope: Scope
    key: str
    descending: bool


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # a bare word: compare as a string
    if isinstance(value, (dict, list)):
        raise BadRequest(f"filter value {text!r} must be a number, a string, true, false or null")
    return value


def parse_filter(text: str | None) -> list[Clause]:
    if not text or not text.strip():
        return []
    parts = _AND.split(text.strip())
    if len(parts) > MAX_CLAUSES:
        raise BadRequest(f"filter has {len(parts)} clauses; at most {MAX_CLAUSES} are allowed")
    clauses = []
    for part in parts:
        m = _CLAUSE.match(part)
        if not m:
            raise BadRequest(
                f"cannot parse filter clause {part.strip()!r}: expected "
                "'metrics.KEY OP VALUE' or 'params.KEY OP VALUE' with OP one of "
                + ", ".join(OPERATORS)
            )
        value = _literal(m["value"])
        scope: Scope = "metrics" if m["scope"] == "metrics" else "params"
        if scope == "metrics" and not isinstance(value, (int, float)):
            raise BadRequest(f"metric filter {part.strip()!r} needs a number to compare with")
        clauses.append(Clause(scope, m["qkey"] or m["key"], m["op"], value))
    return clauses


def parse_order(text: str | None) -> Order:
    if not text or not text.strip():
        return Order("attr", "created_at", True)
    raw = text.strip()
    descending = False
    if raw.startswith("-"):
        descending, raw = True, raw[1:].strip()
    else:
        head, _, tail = raw.rpartition(" ")
        if head and tail.lower() in ("asc", "desc"):
            descending, raw = tail.lower() == "desc", head.strip()
    for prefix in ("metrics.", "params."):
        if raw.startswith(prefix):
            key = raw[len(prefix) :].strip("`")
            if not key:
                raise BadRequest(f"order_by {text!r} names no key after {prefix!r}")
            scope: Scope = "metrics" if prefix == "metrics." else "params"
            return Order(scope, key, descending)
    if raw in ATTRIBUTES:
        return Order("attr", raw, descending)
    raise BadRequest(
        f"unknown order_by key {text!r}: use one of {', '.join(ATTRIBUTES)}, "
        "params.KEY or metrics.KEY, optionally with a leading '-' or a trailing 'desc'"
    )
