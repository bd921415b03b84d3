"""Device list: one row per device with its state, why, and the age of its data.

Plain data in (``DeviceRow``), a signal out (``device_selected``). State is shown by text and
colour together, so it reads without colour too."""
from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

STATE_COLOURS = {
    "ok": "#2e7d32", "pending": "#757575", "stale": "#ef6c00", "unreachable": "#c62828",
    "auth_failed": "#c62828", "blocked": "#6a1b9a", "faulty": "#ef6c00",
}


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    name: str
    kind: str
    address: str
    state: str
    message: str
    last_success: float | None
    readings: int


def age_text(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    age = max(0.0, now - ts)
    if age < 90:
        return f"{age:.0f} s ago"
    if age < 5400:
        return f"{age / 60:.0f} min ago"
    return f"{age / 3600:.1f} h ago"


class DeviceTable(QTableWidget):
    COLUMNS = ("Device", "Kind", "Address", "State", "Last data", "Readings", "Details")
    device_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self._rows: dict[str, int] = {}
        self.itemSelectionChanged.connect(self._emit_selected)

    def set_devices(self, rows: list[DeviceRow], now: float | None = None) -> None:
        now = time.time() if now is None else now
        for row in rows:
            if row.device_id not in self._rows:
                self._rows[row.device_id] = self.rowCount()
                self.insertRow(self.rowCount())
            r = self._rows[row.device_id]
            label = f"{row.device_id} — {row.name}" if row.name else row.device_id
            values = (label, row.kind, row.address or "local", row.state.replace("_", " "),
                      age_text(row.last_success, now), f"{row.readings:,}", row.message)
            for c, text in enumerate(values):
                item = self.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, row.device_id)
                elif c == 3:
                    item.setForeground(QBrush(QColor(STATE_COLOURS.get(row.state, "#000000"))))

    def state_of(self, device_id: str) -> str:
        item = self.item(self._rows[device_id], 3)
        return item.text() if item is not None else ""

    def _emit_selected(self) -> None:
        items = self.selectedItems()
        first = self.item(items[0].row(), 0) if items else None
        if first is not None:
            self.device_selected.emit(first.data(Qt.ItemDataRole.UserRole))
