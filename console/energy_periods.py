"""The periods the energy view offers, as [start, end) in epoch seconds, in the site's time zone.

"Today" starts at local midnight; the heating season at local midnight on 1 September (the
heating year runs September to August, as on the home page); "Last 24 h" and "Last 7 days"
end now. Qt-free."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERIODS = ("Live", "Today", "Last 24 h", "Last 7 days", "Season so far", "Custom range")


def zone(name: str) -> dt.tzinfo:
    """The site's time zone; UTC when the name is unknown to this machine."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def bounds(period: str, now: float, tz: dt.tzinfo) -> tuple[float, float]:
    """[start, end) of a named period ending now. Live and Custom range have none: ValueError."""
    local = dt.datetime.fromtimestamp(now, tz)
    if period == "Today":
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp(), now
    if period == "Last 24 h":
        return now - 86400.0, now
    if period == "Last 7 days":
        return now - 7 * 86400.0, now
    if period == "Season so far":
        year = local.year if local.month >= 9 else local.year - 1
        return dt.datetime(year, 9, 1, tzinfo=tz).timestamp(), now
    raise ValueError(f"no fixed bounds for the period {period!r}")


def describe(start: float, end: float, tz: dt.tzinfo) -> str:
    """"15 Jan 06:00 – 16 Jan 06:00" in the site's time."""
    a, b = dt.datetime.fromtimestamp(start, tz), dt.datetime.fromtimestamp(end, tz)
    fmt = "%d %b %H:%M" if a.year == b.year else "%d %b %Y %H:%M"
    return f"{a.strftime(fmt)} – {b.strftime(fmt)}"


__all__ = ["PERIODS", "bounds", "describe", "zone"]
