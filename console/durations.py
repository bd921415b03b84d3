"""Human durations: ``90s``, ``10m``, ``6h``, ``30d`` (and plain seconds)."""
from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$")


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``. Raises ValueError naming the accepted forms."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"expected a duration >= 0, got {text}")
        return float(text)
    m = _RE.match(str(text))
    if not m:
        raise ValueError(f"expected a duration such as 90s, 10m, 6h or 30d, got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
