"""The audit log as CSV, for a report or a spreadsheet (Qt-free).

One row per entry, oldest first, with the raw JSON of ``before`` and ``after`` (nothing lost)
and their readable form beside them. Cells that a spreadsheet would run as a formula (text
starting with = + - @, a tab or a carriage return; an actor's name or an unlock reason is
typed by a person) get a leading apostrophe, the OWASP advice against CSV injection. UTF-8,
no byte-order mark."""
from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from console.audit_text import after_text, before_text

COLUMNS = ("id", "time_utc", "actor", "action", "target", "before", "after", "result", "before_json", "after_json")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """One line: the file and why it could not be written."""


def _safe(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def rows(entries: Iterable[Any]) -> list[list[Any]]:
    out = []
    for e in sorted(entries, key=lambda e: e.id):
        when = dt.datetime.fromtimestamp(e.ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out.append([e.id, when, *(_safe(x) for x in (e.actor, e.action, e.target, before_text(e.before),
                                                      after_text(e.after), e.result, e.before or "",
                                                      e.after or ""))])
    return out


def write_csv(path: str | os.PathLike[str], entries: Iterable[Any]) -> int:
    """Write ``entries`` (AuditEntry-like) to ``path``; returns the rows written. The file is
    written beside its target and renamed, so a failure never leaves half a file."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    data = rows(entries)
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            w.writerows(data)
        os.replace(tmp, target)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from None
    return len(data)


__all__ = ["COLUMNS", "ExportError", "rows", "write_csv"]
