"""The console's main window: devices on the left, the selected device's live values on
the right, a status line. Schematics, graphs and guided runs dock in here as they land."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from console.engine.coordinator import DeviceStatus
from console.site import Site
from protocols.base import Reading
from widgets.device_table import DeviceRow, DeviceTable
from widgets.value_table import ValueRow, ValueTable


class MainWindow(QMainWindow):
    def __init__(self, site: Site, *, db_path: str, demo: bool = False) -> None:
        super().__init__()
        self.site = site
        self.setWindowTitle(f"heatrack — {site.site.name}" + (" (demo)" if demo else ""))
        self.resize(1280, 760)
        self._latest: dict[str, Reading] = {}
        self._status: dict[str, DeviceStatus] = {}
        self._selected = site.devices[0].id

        banner = QLabel(self._banner_text(demo))
        banner.setTextFormat(Qt.TextFormat.RichText)
        banner.setContentsMargins(8, 6, 8, 6)
        self.devices = DeviceTable()
        self.values = ValueTable()
        self.value_title = QLabel()
        self.value_title.setContentsMargins(4, 4, 4, 4)
        right = QWidget()
        lay = QVBoxLayout(right)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.value_title)
        lay.addWidget(self.values)
        split = QSplitter()
        split.addWidget(self.devices)
        split.addWidget(right)
        split.setSizes([800, 480])
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(banner)
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(f"Logging to {db_path}")

        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.menuBar().addMenu("&File").addAction(quit_action)

        self.devices.device_selected.connect(self._select)
        self.devices.set_devices([self._row(d.id) for d in site.devices])
        self.devices.selectRow(0)
        # Ages ("12 s ago") keep moving even when no poll arrives.
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(1000)
        self._age_timer.timeout.connect(self.refresh)
        self._age_timer.start()

    def _banner_text(self, demo: bool) -> str:
        s = self.site.site
        where = f" · {s.location}" if s.location else ""
        note = " · <i>simulated equipment — nothing here touches real hardware</i>" if demo else ""
        return f"<b>{s.name}</b>{where} · {len(self.site.devices)} devices{note}"

    def _row(self, device_id: str) -> DeviceRow:
        dev = self.site.device(device_id)
        st = self._status.get(device_id)
        return DeviceRow(device_id, dev.name, dev.kind, dev.address, st.state.value if st else "pending",
                         st.message if st else "waiting for the first poll",
                         st.last_success if st else None, st.readings if st else 0)

    def on_update(self, latest: dict[str, Reading], status: dict[str, DeviceStatus]) -> None:
        self._latest = latest
        self._status = status
        self.refresh()

    def refresh(self) -> None:
        now = time.time()
        self.devices.set_devices([self._row(d.id) for d in self.site.devices], now)
        st = self._status.get(self._selected)
        stale = set(st.stale_series) if st else set()
        rows = [ValueRow(r.channel, r.quantity, r.value, r.unit, r.ts, r.series_key in stale or
                         (st is not None and not st.available))
                for r in self._latest.values() if r.device_id == self._selected]
        dev = self.site.device(self._selected)
        self.value_title.setText(f"<b>{dev.id}</b> {dev.name} — {len(rows)} values")
        self.values.set_values(rows, now)
        ok = sum(1 for s in self._status.values() if s.available)
        self.statusBar().showMessage(f"{ok} of {len(self.site.devices)} devices reporting")

    def _select(self, device_id: str) -> None:
        self._selected = device_id
        self.refresh()
