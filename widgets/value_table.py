"""Latest values of one device: channel, quantity, value with unit, age. Values that are not
live are greyed and marked with why (stale, unreachable, ...), never shown as if live.
Selecting a row emits ``series_selected(key)``."""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from widgets.device_table import age_text


@dataclasses.dataclass(frozen=True, slots=True)
class ValueRow:
    channel: str
    quantity: str
    value: float | str | None
    unit: str
    ts: float
    stale: bool = False
    key: str = ""  # the series key, sent by ``series_selected``
    state: str = ""  # why it is not live (stale, unreachable, ...): shown instead of "stale"
    abnormal: bool = False  # an alarm the device itself raises now: marked by shape, weight and colour


def format_value(value: float | str | None, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value.replace("_", " ")
    if unit == "kWh" and abs(value) < 1:
        value, unit = value * 1000, "Wh"
    a = abs(value)
    text = f"{value:,.0f}" if a >= 100 else f"{value:.1f}" if a >= 10 else f"{value:.3g}"
    return f"{text} {unit}".rstrip()


class ValueTable(QTableWidget):
    COLUMNS = ("Channel", "Quantity", "Value", "Updated")
    series_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self._alarm = QColor("#c62828")
        self._keys: list[str] = []
        self._selected_key: str | None = None
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.itemSelectionChanged.connect(self._emit_selected)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        # sized to the contents when the set of rows changes, not on every value (that relayout
        # cost more than everything else in a refresh)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(True)

    def set_values(self, rows: list[ValueRow], now: float) -> None:
        rows = sorted(rows, key=lambda r: (r.channel, r.quantity))
        self.blockSignals(True)  # rebuilding the rows is not the user choosing another series
        try:
            self._fill(rows, now)
            keys = [r.key for r in rows]
            if keys != self._keys:
                self.resizeColumnsToContents()
                for c in range(self.columnCount() - 1):  # room for values that grow a digit
                    self.setColumnWidth(c, self.columnWidth(c) + 12)
            self._keys = keys
            if self._selected_key in self._keys:
                self.selectRow(self._keys.index(self._selected_key))
            else:
                self.clearSelection()
        finally:
            self.blockSignals(False)

    def set_alarm_colour(self, colour: str) -> None:
        """The colour of an abnormal reading (the theme's alarm colour)."""
        self._alarm = QColor(colour)

    def select_key(self, key: str) -> None:
        """Select the row of ``key`` (emits ``series_selected``)."""
        if key in self._keys:
            self.selectRow(self._keys.index(key))

    def _emit_selected(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self._keys) and self._keys[rows[0].row()]:
            self._selected_key = self._keys[rows[0].row()]
            self.series_selected.emit(self._selected_key)

    def _fill(self, rows: list[ValueRow], now: float) -> None:
        # Items are reused and only changed text is set: with ResizeToContents columns a new
        # item costs ~1 ms each (a relayout), which made a 30-row refresh take ~140 ms.
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        grey = QBrush(QColor("#9e9e9e"))
        normal = QBrush(self.palette().color(self.foregroundRole()))
        alarm = QBrush(self._alarm)
        for r, row in enumerate(rows):
            why = (row.state or "stale").replace("_", " ")
            updated = f"{why} — " + age_text(row.ts, now) if row.stale else age_text(row.ts, now)
            value = format_value(row.value, row.unit)
            loud = row.abnormal and not row.stale
            if loud:
                value = f"▲ {value.upper()}"
            for c, text in enumerate((row.channel, row.quantity.replace("_", " "), value, updated)):
                item = self.item(r, c)
                if item is None:
                    item = QTableWidgetItem(text)
                    self.setItem(r, c, item)
                elif item.text() != text:
                    item.setText(text)
                brush = grey if row.stale else alarm if loud and c in (0, 2) else normal
                if item.foreground() != brush:
                    item.setForeground(brush)
                if c == 2 and item.font().bold() != loud:
                    font = item.font()
                    font.setBold(loud)
                    item.setFont(font)
