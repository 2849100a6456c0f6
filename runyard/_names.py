"""Names are data: any key or name is stored and read back as given, except the few that
cannot be told apart or shown (empty, only whitespace, control characters)."""

from __future__ import annotations

import unicodedata

BAD_NAME = "bad_name"  # the validation error's type; the server answers it with 400


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a key or a name, or None when it can."""
    if not value.strip():
        return "is empty or only whitespace"
    for ch in value:
        if unicodedata.category(ch) == "Cc":
            return f"holds the control character {ch!r}"
    return None
