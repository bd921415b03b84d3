"""The audit log as a table: when, who, what, on which target, before, after, result.

Plain data in (``AuditRow``: texts already readable). A result other than ok is marked by a
shape and bold text, not by colour alone: a refusal is worth noticing, not an alarm."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon
from PySide6.QtWidgets import QWidget

from widgets import severity as sev
from widgets.event_table import when_text
from widgets.row_table import ID_ROLE, SORT_ROLE, RowTable

D = Qt.ItemDataRole


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    ts: float
    actor: str
    action: str
    target: str
    before: str
    after: str
    result: str
    ok: bool
    raw: str = ""  # the JSON behind before/after, for the tooltip


@functools.cache
def _mark(ink: str) -> QIcon:
    return sev.icon("warning", 16, QColor(ink))


class AuditTable(RowTable):
    COLUMNS = ("#", "Time", "Who", "Action", "Target", "Before", "After", "Result")

    def __init__(self, parent: QWidget | None = None) -> None:
        self._now = time.time()
        super().__init__(parent)
        self._rows: tuple[AuditRow, ...] | None = None
        self._bold = QFont(self.font())
        self._bold.setBold(True)

    def set_audit(self, rows: list[AuditRow], now: float | None = None) -> None:
        """Show ``rows`` (unchanged rows are not redrawn)."""
        if tuple(rows) == self._rows:
            return
        self._rows, self._now = tuple(rows), time.time() if now is None else now
        self.set_rows(list(rows))

    def value(self, a: AuditRow, c: int, role: int) -> Any:
        if role == D.DisplayRole:
            return (str(a.id), when_text(a.ts, self._now), a.actor, a.action.replace("_", " "), a.target,
                    a.before, a.after, a.result)[c]
        if role == SORT_ROLE:
            return (a.id, a.ts, a.actor, a.action, a.target, a.before, a.after, a.result)[c]
        if role == ID_ROLE and c == 0:
            return a.id
        if c == 7 and not a.ok:
            if role == D.DecorationRole:
                return _mark(self.palette().text().color().name())
            if role == D.FontRole:
                return self._bold
        if role == D.ToolTipRole:
            if c == 1:
                return f"{dt.datetime.fromtimestamp(a.ts):%Y-%m-%d %H:%M:%S} local"
            if c in (5, 6) and a.raw:
                return a.raw
            return self.value(a, c, D.DisplayRole)
        return None


__all__ = ["AuditRow", "AuditTable"]
