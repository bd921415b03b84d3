"""Events as a table: time, severity, device, kind, message, who acknowledged it and when.

Plain data in (``EventRow``), a signal out (``acknowledge_requested`` with the selected,
not yet acknowledged event ids). Severity is a shape and a word (``widgets.severity``); only
alarm and critical rows are coloured. Columns sort by their meaning (time by time, severity by
rank), not by their text."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from widgets import severity as sev

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


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


class _Item(QTableWidgetItem):
    """Sorts by SORT_ROLE when it is set, else by text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is not None and b is not None:
            return bool(a < b)
        return self.text() < other.text()


class EventTable(QTableWidget):
    COLUMNS = ("Time", "Severity", "Device", "Kind", "Message", "Acknowledged")
    acknowledge_requested = Signal(list)  # [event id, ...]: selected and not yet acknowledged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self._rows: tuple[EventRow, ...] | None = None
        self._day: object = None
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
        self._rows, self._day = key, day
        selected = set(self.selected_ids(unacked_only=False))
        order = self.horizontalHeader().sortIndicatorSection(), self.horizontalHeader().sortIndicatorOrder()
        self.setSortingEnabled(False)
        self.setRowCount(len(rows))
        text_brush = self.palette().text()
        for r, e in enumerate(rows):
            acked = "" if e.acked_at is None else f"{e.acked_by or '?'} at {when_text(e.acked_at, now)}"
            cells: list[tuple[str, Any]] = [
                (when_text(e.ts, now), e.ts), (sev.word(e.severity), sev.RANK.get(e.severity, -1)),
                (e.device_id, None), (e.kind.replace("_", " "), None), (e.message, None),
                (acked, e.acked_at or 0.0)]
            alarm = sev.colour(e.severity)
            for c, (text, sort) in enumerate(cells):
                item = _Item(text)
                if sort is not None:
                    item.setData(SORT_ROLE, sort)
                item.setToolTip(f"{e.message}\n{dt.datetime.fromtimestamp(e.ts):%Y-%m-%d %H:%M:%S} local"
                                if c in (0, 4) else text)
                if alarm is not None and c in (1, 4):
                    item.setForeground(QBrush(alarm))
                elif c != 1:
                    item.setForeground(text_brush)
                self.setItem(r, c, item)
            first = self.item(r, 0)
            first.setData(Qt.ItemDataRole.UserRole, e.id)
            sev_item = self.item(r, 1)
            sev_item.setIcon(sev.icon(e.severity, 16, self.palette().text().color()))
            if alarm is not None:
                font = sev_item.font()
                font.setBold(True)
                sev_item.setFont(font)
            sev_item.setData(Qt.ItemDataRole.UserRole, e.acked_at is None)
        self.setSortingEnabled(True)
        self.sortByColumn(*order)
        if selected:
            self.select_ids(list(selected))

    # ------------------------------------------------------------ reading back
    def row_ids(self) -> list[int | None]:
        """Event ids in the order shown."""
        return [self.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.rowCount())]

    def cell(self, row: int, column: str) -> str:
        item = self.item(row, self.COLUMNS.index(column))
        return item.text() if item is not None else ""

    def selected_ids(self, unacked_only: bool = True) -> list[int]:
        rows = sorted({i.row() for i in self.selectedIndexes()})
        out = []
        for r in rows:
            eid = self.item(r, 0).data(Qt.ItemDataRole.UserRole)
            if eid is None:
                continue
            if unacked_only and not self.item(r, 1).data(Qt.ItemDataRole.UserRole):
                continue
            out.append(int(eid))
        return out

    def select_ids(self, ids: list[int]) -> None:
        self.clearSelection()
        wanted = set(ids)
        flags = self.selectionModel().SelectionFlag.Select | self.selectionModel().SelectionFlag.Rows
        for r in range(self.rowCount()):
            if self.item(r, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                self.selectionModel().select(self.model().index(r, 0), flags)

    def request_acknowledge(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.acknowledge_requested.emit(ids)


__all__ = ["EventRow", "EventTable", "when_text"]
