"""Events as a table: time, severity, device, kind, message, who acknowledged it and when.

Plain data in (``EventRow``), a signal out (``acknowledge_requested`` with the selected,
not yet acknowledged event ids). Severity is a shape and a word (``widgets.severity``); only
alarm and critical rows are coloured. Columns sort by their meaning (time by time, severity by
rank), not by their text. A model underneath (``widgets.row_table``): a thousand events are
replaced in milliseconds."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QFont, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

from widgets import severity as sev
from widgets.row_table import ID_ROLE, SORT_ROLE, RowTable

D = Qt.ItemDataRole


@dataclasses.dataclass(frozen=True, slots=True)
class EventRow:
    id: int | None  # None: the store gave no id (shown, not acknowledgeable)
    ts: float  # UTC epoch seconds
    severity: str  # info | warning | alarm | critical
    device_id: str
    kind: str
    message: str
    acked_by: str | None = None
    acked_at: float | None = None


def when_text(ts: float, now: float | None = None) -> str:
    """Local time; with the date when it is not today (an event from last week reads so)."""
    now = time.time() if now is None else now
    t = dt.datetime.fromtimestamp(ts)
    if t.date() == dt.datetime.fromtimestamp(now).date():
        return t.strftime("%H:%M:%S")
    return t.strftime("%Y-%m-%d %H:%M")


@functools.cache
def _icon(severity: str, ink: str) -> QIcon:
    from PySide6.QtGui import QColor

    return sev.icon(severity, 16, QColor(ink))


class EventTable(RowTable):
    COLUMNS = ("Time", "Severity", "Device", "Kind", "Message", "Acknowledged")
    STRETCH = 4
    acknowledge_requested = Signal(list)  # [event id, ...]: selected and not yet acknowledged

    def __init__(self, parent: QWidget | None = None) -> None:
        self._now = time.time()
        super().__init__(parent)
        self._rows: tuple[EventRow, ...] | None = None
        self._day: object = None
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        ack = QAction("Acknowledge", self)
        ack.setShortcut(QKeySequence("Ctrl+K"))
        ack.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        ack.triggered.connect(self.request_acknowledge)
        self.addAction(ack)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    # ------------------------------------------------------------ data in
    def set_events(self, rows: list[EventRow], now: float | None = None) -> None:
        """Show ``rows``; the selection (by id) survives. Unchanged rows are not redrawn."""
        now = time.time() if now is None else now
        day = dt.datetime.fromtimestamp(now).date()
        key = tuple(rows)
        if key == self._rows and day == self._day:
            return
        self._rows, self._day, self._now = key, day, now
        self.set_rows(list(rows))

    def value(self, e: EventRow, c: int, role: int) -> Any:
        if role == D.DisplayRole:
            if c == 0:
                return when_text(e.ts, self._now)
            if c == 1:
                return sev.word(e.severity)
            if c == 5:
                return "" if e.acked_at is None else f"{e.acked_by or '?'} at {when_text(e.acked_at, self._now)}"
            return (e.device_id, e.kind.replace("_", " "), e.message)[c - 2] if 2 <= c <= 4 else None
        if role == SORT_ROLE:
            return (e.ts, sev.RANK.get(e.severity, -1), e.device_id, e.kind, e.message, e.acked_at or 0.0)[c]
        if role == ID_ROLE and c == 0:
            return e.id
        if role == D.ForegroundRole and c in (1, 4):
            alarm = sev.colour(e.severity)
            return QBrush(alarm) if alarm is not None else None
        if role == D.DecorationRole and c == 1:
            return _icon(e.severity, self.palette().text().color().name())
        if role == D.FontRole and c == 1 and e.severity in sev.COLOURS:
            return self._bold
        if role == D.ToolTipRole:
            if c in (0, 4):
                return f"{e.message}\n{dt.datetime.fromtimestamp(e.ts):%Y-%m-%d %H:%M:%S} local"
            return self.value(e, c, D.DisplayRole)
        return None

    # ------------------------------------------------------------ reading back
    def selected_ids(self, unacked_only: bool = True) -> list[int]:
        out = []
        for r in self.selected_rows():
            e = self.row_at(r)
            if e.id is not None and (not unacked_only or e.acked_at is None):
                out.append(int(e.id))
        return out

    def request_acknowledge(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.acknowledge_requested.emit(ids)


__all__ = ["EventRow", "EventTable", "when_text"]
