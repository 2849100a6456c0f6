"""Parsing of the run list's `order_by` expression (its `filter` is search_filter.py's).

order_by: metrics.val/loss | -params.lr | created_at desc
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runyard.errors import BadRequest

Scope = Literal["metrics", "params", "attr"]
ATTRIBUTES = ("created_at", "started_at", "ended_at", "updated_at", "name", "status", "priority")


@dataclass(frozen=True)
class Order:
    scope: Scope
    key: str
    descending: bool


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
