"""The site as a tree: devices grouped by what they do (servers, GPU hosts, power, heat), each
with its state (a shape, a word and, for abnormal states only, a colour), the age of its data
and a line of health. Plain data in (``DeviceNode``), signals out: ``device_selected(id)`` when
the current device changes (arrows, click), ``device_activated(id)`` on Enter or double-click.
"""
from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from widgets.device_table import age_text
from widgets.state_icon import paint_state, state_icon

GROUPS = (("servers", "Servers"), ("gpu", "GPU hosts"), ("power", "Power (UPS, PDUs)"),
          ("heat", "Heat (controllers, meters)"), ("other", "Other"))
GROUP_OF_KIND = {"server": "servers", "gpu_host": "gpu", "ups": "power", "pdu": "power",
                 "heat_controller": "heat", "heat_meter": "heat"}
NORMAL = frozenset({"ok", "pending"})
# abnormal states' colours; the view replaces them with the theme's (set_colours)
DEFAULT_COLOURS = {"unreachable": "#c62828", "auth_failed": "#c62828", "blocked": "#6a1b9a",
                   "faulty": "#b25e00", "stale": "#7a7a7a"}
STATE_WORDS = {"ok": "ok", "pending": "waiting", "stale": "stale", "unreachable": "unreachable",
               "auth_failed": "login refused", "blocked": "blocked", "faulty": "faulty"}
ID_ROLE = Qt.ItemDataRole.UserRole
GROUP_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceNode:
    device_id: str
    name: str
    kind: str
    state: str  # ok, pending, stale, unreachable, auth_failed, blocked, faulty
    last_data: float | None  # wall-clock ts of the newest data known from it (None: never)
    health: str  # one line: why it is not ok, or what it delivers


class DeviceTree(QTreeWidget):
    COLUMNS = ("Device", "State", "Data", "Health")
    device_selected = Signal(str)
    device_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels(self.COLUMNS)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self.setRootIsDecorated(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        for c in (1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._members: dict[str, list[str]] = {}  # group key -> device ids, in the order shown
        self._nodes: dict[str, DeviceNode] = {}
        self._colours = dict(DEFAULT_COLOURS)
        self._normal = self.palette().color(self.foregroundRole())
        self.currentItemChanged.connect(self._current_changed)
        self.itemActivated.connect(self._activated)

    # ------------------------------------------------------------ data in
    def set_colours(self, colours: dict[str, str]) -> None:
        """Colours of abnormal states (the theme's); normal ones use the palette's text."""
        self._colours = {**DEFAULT_COLOURS, **colours}
        self._normal = self.palette().color(self.foregroundRole())
        for node in self._nodes.values():
            self._paint(self._items[node.device_id], node, force=True)

    def set_devices(self, nodes: list[DeviceNode], now: float | None = None) -> None:
        """Add devices not seen yet (in the given order, within their group) and update all."""
        now = time.time() if now is None else now
        for node in nodes:
            item = self._items.get(node.device_id)
            if item is None:
                key = GROUP_OF_KIND.get(node.kind, "other")
                item = QTreeWidgetItem(self._group(key))
                item.setData(0, ID_ROLE, node.device_id)
                self._members.setdefault(key, []).append(node.device_id)
                self._items[node.device_id] = item
            old = self._nodes.get(node.device_id)
            self._nodes[node.device_id] = node
            self._paint(item, node, force=old is None or old.state != node.state)
            age = age_text(node.last_data, now)
            if item.text(2) != age:
                item.setText(2, age)
        self._summarise()

    def _group(self, key: str) -> QTreeWidgetItem:
        item = self._groups.get(key)
        if item is None:
            order = [k for k, _ in GROUPS]
            label = dict(GROUPS)[key]
            item = QTreeWidgetItem([label])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: the cursor moves through it
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
            before = sum(1 for k in order[:order.index(key)] if k in self._groups)
            self.insertTopLevelItem(before, item)
            item.setExpanded(True)
            item.setFirstColumnSpanned(True)  # a heading line: "Servers — 3 devices · 1 needs attention"
            item.setData(0, GROUP_ROLE, label)
            self._groups[key] = item
        return item

    def _paint(self, item: QTreeWidgetItem, node: DeviceNode, force: bool) -> None:
        label = f"{node.device_id} — {node.name}" if node.name else node.device_id
        word = STATE_WORDS.get(node.state, node.state.replace("_", " "))
        if item.text(0) != label:
            item.setText(0, label)
            self._fit_first_column()
        if item.text(3) != node.health:
            item.setText(3, node.health)
            item.setToolTip(3, node.health)
        if force or item.text(1) != word:
            colour = QColor(self._colours.get(node.state, "")) if node.state not in NORMAL else self._normal
            if not colour.isValid():
                colour = self._normal
            item.setText(1, word)
            item.setIcon(1, state_icon(node.state, colour))
            brush = QBrush(colour)
            item.setForeground(1, brush)
            # a device not answering says so on every column it would otherwise look fine on
            muted = node.state not in NORMAL
            item.setForeground(2, brush if muted else QBrush(self._normal))
            item.setToolTip(0, f"{node.device_id}: {node.kind.replace('_', ' ')} · {word}")
            item.setToolTip(1, _state_tip(node.state))

    def _summarise(self) -> None:
        for key, group in self._groups.items():
            nodes = [self._nodes[d] for d in self._members[key]]
            bad = [n for n in nodes if n.state not in NORMAL]
            text = f"{group.data(0, GROUP_ROLE)} — {len(nodes)} device{'s' * (len(nodes) != 1)}"
            text += f" · {len(bad)} need{'s' * (len(bad) == 1)} attention" if bad else ""
            if group.text(0) != text:
                group.setText(0, text)

    def _fit_first_column(self) -> None:
        # wide enough for the longest "id — name" (plus the indentation), at most 45 % of the tree
        widest = max((self.fontMetrics().horizontalAdvance(i.text(0)) for i in self._items.values()), default=0)
        want = min(widest + self.indentation() + 24, max(160, int(self.viewport().width() * 0.45)))
        if abs(self.columnWidth(0) - want) > 4:
            self.setColumnWidth(0, want)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_first_column()

    # ------------------------------------------------------------ reading back
    def state_of(self, device_id: str) -> str:
        """The state word shown for ``device_id``."""
        return self._items[device_id].text(1)

    def age_of(self, device_id: str) -> str:
        return self._items[device_id].text(2)

    def select(self, device_id: str) -> bool:
        item = self._items.get(device_id)
        if item is None:
            return False
        self.setCurrentItem(item)
        return True

    def selected(self) -> str | None:
        item = self.currentItem()
        return item.data(0, ID_ROLE) if item is not None else None

    def device_ids(self) -> list[str]:
        """In the order shown."""
        return [d for key, _ in GROUPS for d in self._members.get(key, [])]

    def _current_changed(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        device_id = item.data(0, ID_ROLE) if item is not None else None
        if device_id:
            self.device_selected.emit(device_id)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        device_id = item.data(0, ID_ROLE)
        if device_id:
            self.device_activated.emit(device_id)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Enter opens the device even when the platform does not map it to itemActivated
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected():
            self.device_activated.emit(self.selected())
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and not event.modifiers():
            # from device to device: the group headings are not stops
            ids = self.device_ids()
            here = self.selected()
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            i = ids.index(here) + step if here in ids else (0 if step > 0 else len(ids) - 1)
            if 0 <= i < len(ids):
                self.select(ids[i])
            event.accept()
            return
        super().keyPressEvent(event)


class StateLegend(QWidget):
    """What each mark means, drawn with the same painter as the tree's icons."""

    ENTRIES = (("ok", "ok"), ("pending", "waiting"), ("stale", "stale"), ("faulty", "faulty"),
               ("unreachable", "unreachable"), ("auth_failed", "login refused"), ("blocked", "blocked"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colours = dict(DEFAULT_COLOURS)
        self.setToolTip("\n".join(f"{word}: {_state_tip(state)}" for state, word in self.ENTRIES))
        self.setMinimumHeight(self.fontMetrics().height() * 2 + 10)

    def set_colours(self, colours: dict[str, str]) -> None:
        self._colours = {**DEFAULT_COLOURS, **colours}
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        fm = self.fontMetrics()
        h = fm.height()
        x, y = 4, 4
        normal = self.palette().color(self.foregroundRole())
        for state, word in self.ENTRIES:
            w = h + 4 + fm.horizontalAdvance(word) + 14
            if x + w > self.width() and x > 4:
                x, y = 4, y + h + 4
            colour = QColor(self._colours.get(state, "")) if state not in NORMAL else normal
            paint_state(p, QRectF(x, y, h, h), state, colour if colour.isValid() else normal)
            p.setPen(normal)
            p.drawText(x + h + 4, y + fm.ascent() + (h - fm.height()) // 2, word)
            x += w
        p.end()


def _state_tip(state: str) -> str:
    return {
        "ok": "answered its last poll",
        "pending": "not polled yet",
        "stale": "no fresh data for 3 poll periods: values shown are old",
        "unreachable": "not answering; retried with back-off; values shown are old",
        "auth_failed": "the device refused the credentials; polling stopped until they are fixed",
        "blocked": "the device's certificate changed; polling stopped until it is trusted again",
        "faulty": "answered with data that cannot be read or is implausible",
    }.get(state, state)


__all__ = ["DeviceNode", "DeviceTree", "GROUPS", "GROUP_OF_KIND", "STATE_WORDS", "StateLegend"]
