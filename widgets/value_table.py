"""Latest values of one device: channel, quantity, value with unit, age. Stale values are
greyed and marked "stale", never shown as if live."""
from __future__ import annotations

import dataclasses

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from widgets.device_table import age_text


@dataclasses.dataclass(frozen=True, slots=True)
class ValueRow:
    channel: str
    quantity: str
    value: float | str | None
    unit: str
    ts: float
    stale: bool = False


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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def set_values(self, rows: list[ValueRow], now: float) -> None:
        rows = sorted(rows, key=lambda r: (r.channel, r.quantity))
        self.setRowCount(len(rows))
        grey = QBrush(QColor("#9e9e9e"))
        for r, row in enumerate(rows):
            updated = "stale — " + age_text(row.ts, now) if row.stale else age_text(row.ts, now)
            for c, text in enumerate((row.channel, row.quantity.replace("_", " "),
                                      format_value(row.value, row.unit), updated)):
                item = QTableWidgetItem(text)
                if row.stale:
                    item.setForeground(grey)
                self.setItem(r, c, item)
