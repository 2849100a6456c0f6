"""Checks of what a script passes to `Run.log`: a bad value is the caller's bug, so it raises
at the call site instead of failing a whole batch later on the server."""

from __future__ import annotations

import operator
from typing import Any

MAX_KEY_LEN = 250  # the server's limit
INT64 = 2**63


def bad_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"metric keys must be str, not {type(key).__name__}: {key!r}")
    raise ValueError(f"metric key must have 1 to {MAX_KEY_LEN} characters: {key[:60]!r}…")


def as_value(key: str, value: Any) -> float:
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        raise TypeError(f"metric {key!r}: value must be a number, not {type(value).__name__}")
    try:
        return float(value)
    except OverflowError as exc:
        raise ValueError(f"metric {key!r}: {value!r} is too large for a float") from exc
    except Exception as exc:  # e.g. a tensor with more than one element
        raise TypeError(f"metric {key!r}: cannot use {value!r} as a number: {exc}") from exc


def as_step(step: Any) -> int:
    if isinstance(step, bool):
        raise TypeError("step must be an int, not bool")
    step = operator.index(step)  # TypeError for floats and strings; numpy ints pass
    if not -INT64 <= step < INT64:
        raise ValueError(f"step {step} does not fit in 64 bits")
    return int(step)
