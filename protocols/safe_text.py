"""Untrusted values (a device's readings, a caller's raw input) shown in messages, events and
the audit log: their repr may be huge, hold control characters or terminal escapes, or raise."""
from __future__ import annotations

from typing import Any


def printable(text: str, limit: int) -> str:
    """``text`` with non-printable characters escaped, cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def shown(value: Any, limit: int = 80) -> str:
    """A bounded, printable repr of ``value`` that never raises."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return printable(text, limit)
