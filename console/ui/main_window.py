"""The console's main window: devices on the left; the selected device's live values and the
recent history of the selected value on the right; a status line. Everything it shows is read
from the live model (values, ages, staleness) or the history service (the plot, which is there
after a restart because it comes from the store). Schematics and guided runs dock in here as
they land."""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from console.history import History, HistoryService
from console.live import LiveSite, SeriesState
from console.site import Site
from console.ui.bridge import LiveBridge
from widgets.device_table import DeviceRow, DeviceTable
from widgets.history_plot import HistoryPlot
from widgets.value_table import ValueRow, ValueTable

HISTORY_SPAN_S = 6 * 3600.0  # the device view's plot: the last 6 h (raw samples, folded per pixel)
HEADLINE = ("power", "thermal_power", "temperature", "flow")  # preferred first series of a device


class MainWindow(QMainWindow):
    def __init__(self, site: Site, live: LiveSite, *, db_path: str, demo: bool = False,
                 history: HistoryService | None = None, interval_ms: int = 250,
                 wall: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.site = site
        self.live = live
        self.history = history
        self._wall = wall
        self.setWindowTitle(f"heatrack — {site.site.name}" + (" (demo)" if demo else ""))
        self.resize(1280, 760)
        self._selected = site.devices[0].id
        self._series: str | None = None  # key shown in the plot
        self._plotted_until = 0.0  # ts of the newest value drawn
        self._plot_title = ""  # the plot's title once its history is drawn

        banner = QLabel(self._banner_text(demo))
        banner.setTextFormat(Qt.TextFormat.RichText)
        banner.setContentsMargins(8, 6, 8, 6)
        self.devices = DeviceTable()
        self.values = ValueTable()
        self.plot = HistoryPlot()
        self.value_title = QLabel()
        self.value_title.setContentsMargins(4, 4, 4, 4)
        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        lay = QVBoxLayout(top)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.value_title)
        lay.addWidget(self.values)
        right.addWidget(top)
        right.addWidget(self.plot)
        right.setSizes([420, 300])
        split = QSplitter()
        split.addWidget(self.devices)
        split.addWidget(right)
        split.setSizes([720, 560])
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

        self.bridge = LiveBridge(live, interval_ms=interval_ms, parent=self)
        self.bridge.changed.connect(self.refresh)
        self.devices.device_selected.connect(self._select)
        self.values.series_selected.connect(self.select_series)
        self.devices.set_devices([self._row(d.id) for d in site.devices])
        self.devices.selectRow(0)
        # Ages ("12 s ago") and staleness keep moving even when no poll arrives.
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(1000)
        self._age_timer.timeout.connect(self.refresh)
        self._age_timer.start()
        self.refresh()

    def _banner_text(self, demo: bool) -> str:
        s = self.site.site
        where = f" · {s.location}" if s.location else ""
        note = " · <i>simulated equipment — nothing here touches real hardware</i>" if demo else ""
        return f"<b>{s.name}</b>{where} · {len(self.site.devices)} devices{note}"

    def _row(self, device_id: str) -> DeviceRow:
        view = self.live.device(device_id)
        dev, st = view.device, view.status
        return DeviceRow(device_id, dev.name, dev.kind, dev.address, view.state,
                         st.message if st else "waiting for the first poll",
                         st.last_success if st else None, st.readings if st else 0)

    def refresh(self) -> None:
        now = self._wall()
        self.devices.set_devices([self._row(d.id) for d in self.site.devices], now)
        series = self.live.series(self._selected)
        rows = [ValueRow(s.channel, s.quantity, s.value, s.unit, s.ts, not s.live, key=s.key,
                         state=s.state) for s in series]
        dev = self.site.device(self._selected)
        self.value_title.setText(f"<b>{dev.id}</b> {dev.name} — {len(rows)} values")
        self.values.set_values(rows, now)
        if self._series is None or not any(s.key == self._series for s in series):
            first = self._headline(series)
            if first is not None:
                self.values.select_key(first)  # emits series_selected -> select_series
        else:
            self._extend_live()
        ok = self.live.reporting()
        alarms = len(self.live.active_events())
        extra = f" · {alarms} active alarm{'s' * (alarms != 1)}" if alarms else ""
        self.statusBar().showMessage(f"{ok} of {len(self.site.devices)} devices reporting{extra}")

    @staticmethod
    def _headline(series: list[SeriesState]) -> str | None:
        numeric = [s for s in series if isinstance(s.value, (int, float)) or s.value is None]
        for q in HEADLINE:
            for s in numeric:
                if s.quantity == q:
                    return s.key
        return numeric[0].key if numeric else (series[0].key if series else None)

    def _select(self, device_id: str) -> None:
        self._selected = device_id
        self._series = None
        self.refresh()

    # ------------------------------------------------------------ history plot
    def select_series(self, key: str) -> None:
        """Show ``key``'s recent history (from the store, off the GUI thread), then live."""
        if key == self._series:
            return
        self._series = key
        self._plotted_until = 0.0
        self._plot_title = ""
        if self.history is None:
            self.plot.clear(f"{key} — no history (no site database)")
            return
        self.plot.clear(f"{key} — reading history…")
        end = self._wall()
        pixels = max(100, min(self.plot.plot.width(), 4000))
        try:
            fut = self.history.query(key, end - HISTORY_SPAN_S, end, pixels=pixels)
        except (ValueError, RuntimeError) as e:
            self.plot.clear(f"{key} — history unavailable: {e}")
            return
        fut.add_done_callback(lambda f: self.bridge.post(lambda: self._show_history(key, f)))

    def _show_history(self, key: str, fut: Future[History]) -> None:  # GUI thread (bridge tick)
        if key != self._series:
            return  # the user moved on
        try:
            h = fut.result()
        except Exception as e:  # noqa: BLE001 - StoreError, a closed service: one line in the title
            self.plot.clear(f"{key} — history unavailable: {e}")
            return
        b = h.buckets
        span = f"last {HISTORY_SPAN_S / 3600:g} h, {h.resolution}"
        title = f"{key} — {span}, {sum(x.n for x in b)} samples" if b else f"{key} — no history yet ({span})"
        self._plot_title = title
        self.plot.set_history(title, [x.ts for x in b], [x.mean for x in b], [x.min for x in b],
                              [x.max for x in b], h.unit)
        self._plotted_until = b[-1].ts if b else 0.0
        self._extend_live()

    def _extend_live(self) -> None:
        if self._series is None:
            return
        s = self.live.get(self._series)
        if self._plot_title and s is not None:
            # a curve that stopped moving says why, like the value table does
            note = "" if s.live else f" · {s.state.replace('_', ' ')}: not updating"
            self.plot.title.setText(self._plot_title + note)
        if (s is not None and s.live and isinstance(s.value, (int, float)) and not isinstance(s.value, bool)
                and s.ts > self._plotted_until):
            self.plot.extend(s.ts, float(s.value))
            self._plotted_until = s.ts

    def closeEvent(self, event) -> None:
        self.bridge.close()
        super().closeEvent(event)
