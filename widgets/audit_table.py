"""The audit log as a table: when, who, what, on which target, before, after, result.

Plain data in (``AuditRow``: texts already readable). A result other than ok is marked by a
shape and bold text, not by colour alone: a refusal is worth noticing, not an alarm."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from widgets import severity as sev
from widgets.event_table import SORT_ROLE, when_text


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


class _Item(QTableWidgetItem):
    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is not None and b is not None:
            return bool(a < b)
        return self.text() < other.text()


class AuditTable(QTableWidget):
    COLUMNS = ("#", "Time", "Who", "Action", "Target", "Before", "After", "Result")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self._rows: tuple[AuditRow, ...] | None = None

    def set_rows(self, rows: list[AuditRow], now: float | None = None) -> None:
        now = time.time() if now is None else now
        if tuple(rows) == self._rows:
            return
        self._rows = tuple(rows)
        order = self.horizontalHeader().sortIndicatorSection(), self.horizontalHeader().sortIndicatorOrder()
        self.setSortingEnabled(False)
        self.setRowCount(len(rows))
        for r, a in enumerate(rows):
            cells = (str(a.id), when_text(a.ts, now), a.actor, a.action.replace("_", " "), a.target,
                     a.before, a.after, a.result)
            for c, text in enumerate(cells):
                item = _Item(text)
                if c == 0:
                    item.setData(SORT_ROLE, a.id)
                elif c == 1:
                    item.setData(SORT_ROLE, a.ts)
                    item.setToolTip(f"{dt.datetime.fromtimestamp(a.ts):%Y-%m-%d %H:%M:%S} local")
                elif c in (5, 6) and a.raw:
                    item.setToolTip(a.raw)
                else:
                    item.setToolTip(text)
                if c == 7 and not a.ok:
                    item.setIcon(sev.icon("warning", 16, self.palette().text().color()))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        self.setSortingEnabled(True)
        self.sortByColumn(*order)

    def cell(self, row: int, column: str) -> str:
        item = self.item(row, self.COLUMNS.index(column))
        return item.text() if item is not None else ""


__all__ = ["AuditRow", "AuditTable"]
