"""The Devices page: the site as a tree on the left; on the right the selected device's page:
what it is (identity, address, state), every reading it gives (greyed with its age when not
live), its recent events, the history of the selected reading, and a "Probe address" button.

Everything is read from ``ctx.live`` each refresh; the store is asked only through
``ctx.history`` (events, the plot) and the probe runs in a worker thread with its own event
loop, so the GUI thread never waits on a device or the disk."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import Future
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.device_summary import summarise
from console.history import History
from console.identity_rows import identity_rows
from console.live import SeriesState
from console.ui import theme
from console.ui.context import ViewContext
from console.ui.worker import Worker
from widgets.device_tree import STATE_WORDS, DeviceNode, DeviceTree, StateLegend
from widgets.history_plot import HistoryPlot
from widgets.value_table import ValueRow, ValueTable

HISTORY_SPAN_S = 6 * 3600.0  # the plot: the last 6 h (raw samples, folded per pixel)
HEADLINE = ("power", "thermal_power", "temperature", "flow")  # preferred first series of a device
EVENTS_SHOWN = 50
EVENTS_REFRESH_S = 30.0
IDENTITY_SHOWN = 8  # identity fields on the page; all of them in its tooltip


class DevicesView(QWidget):
    title = "Devices"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        site = ctx.site
        self._selected = site.devices[0].id if site.devices else ""
        self._series: str | None = None  # key shown in the plot
        self._plotted_until = 0.0  # ts of the newest value drawn
        self._plot_title = ""
        self._events_key: tuple[str, int] | None = None  # (device, active events) last asked for
        self._events_asked = 0.0
        self._probe_pool: Worker | None = None
        self._probing: str | None = None

        self.tree = DeviceTree()
        self.tree.setMinimumWidth(320)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.identity = QLabel()
        self.identity.setTextFormat(Qt.TextFormat.RichText)
        self.identity.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.identity.setWordWrap(True)
        self.probe_button = QPushButton("&Probe address")
        self.probe_button.setToolTip("Read the device once, now, on its own connection (not the poller's), "
                                     "and say what answered")
        self.probe_result = QLabel("")
        self.probe_result.setWordWrap(True)
        self.values = ValueTable()
        self.values.setToolTip("Every reading of this device; greyed ones are not live (stale or the device "
                               "is not answering), with their age. Select one to plot its history.")
        self.events = QTableWidget(0, 4)
        self.events.setHorizontalHeaderLabels(("Time", "Severity", "Kind", "Message"))
        self.events.verticalHeader().setVisible(False)
        self.events.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.events.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.events.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.events.horizontalHeader().setStretchLastSection(True)
        self.events_note = QLabel("")
        self.plot = HistoryPlot()

        ident_box = QGroupBox("Identity")
        ib = QVBoxLayout(ident_box)
        ib.addWidget(self.identity)
        probe_box = QGroupBox("Address")
        pb = QFormLayout(probe_box)
        self.address = QLabel()
        self.address.setWordWrap(True)
        pb.addRow(self.address)
        pb.addRow(self.probe_button)
        pb.addRow(self.probe_result)
        top = QHBoxLayout()
        top.addWidget(ident_box, 3)
        top.addWidget(probe_box, 2)
        events_box = QWidget()
        el = QVBoxLayout(events_box)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(QLabel("<b>Recent events</b>"))
        el.addWidget(self.events, 1)
        el.addWidget(self.events_note)
        values_box = QWidget()
        vl = QVBoxLayout(values_box)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.addWidget(QLabel("<b>Readings</b>"))
        vl.addWidget(self.values, 1)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(values_box)
        middle.addWidget(events_box)
        middle.setSizes([470, 310])
        lower = QSplitter(Qt.Orientation.Vertical)
        lower.addWidget(middle)
        lower.addWidget(self.plot)
        lower.setSizes([330, 260])
        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(6, 0, 0, 0)
        pl.addWidget(self.header)
        pl.addLayout(top)
        pl.addWidget(lower, 1)
        self.legend = StateLegend()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.tree, 1)
        ll.addWidget(self.legend)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(page)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 780])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(split)
        self.setTabOrder(self.tree, self.values)
        self.setTabOrder(self.values, self.events)
        self.setTabOrder(self.events, self.probe_button)

        self.tree.device_selected.connect(self.select_device)
        self.tree.device_activated.connect(self._open)
        self.values.series_selected.connect(self.select_series)
        self.probe_button.clicked.connect(self.probe)
        self.apply_theme(theme.current())
        self.refresh()
        if self._selected:
            self.tree.select(self._selected)

    # ------------------------------------------------------------ the window's calls
    def apply_theme(self, name: str) -> None:
        dark = name == "dark"
        colours = {s: theme.state_colour(s, dark) for s in ("unreachable", "auth_failed", "blocked", "faulty", "stale")}
        self.tree.set_colours(colours)
        self.legend.set_colours(colours)
        self.values.set_alarm_colour(colours["unreachable"])

    def select(self, target: str | None) -> None:
        """``ctx.navigate("devices", target)``: a device id, or a series key (its device, that series)."""
        if not target:
            return
        device_id, _, rest = target.partition("/")
        if self.tree.select(device_id) and rest:
            self.values.select_key(target)

    def refresh(self) -> None:
        now = self.ctx.wall()
        rows = summarise(self.ctx.live, now)
        self.tree.set_devices([DeviceNode(r.device_id, r.name, r.kind, r.state, r.last_data, r.health)
                               for r in rows], now)
        if not self._selected:
            return
        summary = next(r for r in rows if r.device_id == self._selected)
        self._show_header(summary)
        series = self.ctx.live.series(self._selected)
        self.values.set_values([ValueRow(s.channel, s.quantity, s.value, s.unit, s.ts, not s.live, key=s.key,
                                         state=s.state, abnormal=_raised(s)) for s in series], now)
        if self._series is None or not any(s.key == self._series for s in series):
            first = _headline(series)
            if first is not None:
                self.values.select_key(first)  # emits series_selected -> select_series
            elif self._series is None:
                self.plot.clear("no readings from this device yet: nothing to plot")
                self.plot.plot.setVisible(False)  # empty axes with made-up ranges say nothing
        else:
            self._extend_live()
        key = (self._selected, len(self.ctx.live.active_events()))
        if key != self._events_key or time.monotonic() - self._events_asked > EVENTS_REFRESH_S:
            self._ask_events(key)

    # ------------------------------------------------------------ selection
    def select_device(self, device_id: str) -> None:
        if device_id == self._selected and self._series is not None:
            return
        self._selected = device_id
        self._series = None
        self._events_key = None
        self.probe_result.setText("")
        self.identity.setText("")
        self.refresh()

    def _open(self, device_id: str) -> None:
        """Enter on a device: its readings take the keyboard."""
        self.select_device(device_id)
        self.values.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.values.rowCount() and not self.values.selectionModel().selectedRows():
            self.values.selectRow(0)

    def _show_header(self, summary: Any) -> None:
        dev = self.ctx.site.device(self._selected)
        word = STATE_WORDS.get(summary.state, summary.state.replace("_", " "))  # the tree's words
        colour = theme.state_colour(summary.state, theme.current() == "dark")
        state = f"<span style='color:{colour}'><b>{word}</b></span>" if colour else f"<b>{word}</b>"
        self.header.setText(f"<span style='font-size:13pt'><b>{escape(dev.name or dev.id)}</b></span> · "
                            f"{dev.id} · {dev.kind.replace('_', ' ')}<br>{state} — {escape(summary.health)}")
        address = (f"{dev.protocol} {dev.address or 'local'}{' (TLS)' if dev.tls else ''} · polled every "
                   f"{dev.poll_interval:g} s, answer within {dev.timeout:g} s")
        if self.address.text() != address:
            self.address.setText(address)
        text, tip = _identity_text(getattr(self.ctx.live.device(self._selected), "identity", None), dev.protocol)
        if self.identity.text() != text:
            self.identity.setText(text)
            self.identity.setToolTip(tip)

    # ------------------------------------------------------------ history plot
    def select_series(self, key: str) -> None:
        """Show ``key``'s recent history (from the store, off the GUI thread), then live."""
        if key == self._series:
            return
        self._series = key
        self._plotted_until = 0.0
        self._plot_title = ""
        self.plot.plot.setVisible(True)
        if self.ctx.history is None:
            self.plot.clear(f"{key} — no history (no site database)")
            return
        self.plot.clear(f"{key} — reading history…")
        end = self.ctx.wall()
        pixels = max(100, min(self.plot.plot.width(), 4000))
        try:
            fut = self.ctx.history.query(key, end - HISTORY_SPAN_S, end, pixels=pixels)
        except (ValueError, RuntimeError) as e:
            self.plot.clear(f"{key} — history unavailable: {e}")
            return
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._show_history(key, f)))

    def _show_history(self, key: str, fut: Future[History]) -> None:  # GUI thread (bridge tick)
        if key != self._series:
            return  # the user moved on
        try:
            h = fut.result()
        except Exception as e:  # noqa: BLE001 - StoreError, a closed service: one line in the title
            self.plot.clear(f"{key} — history unavailable: {_one_line(e)}")
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
        s = self.ctx.live.get(self._series)
        if self._plot_title and s is not None:
            # a curve that stopped moving says why, like the value table does
            note = "" if s.live else f" · {s.state.replace('_', ' ')}: not updating"
            self.plot.title.setText(self._plot_title + note)
        if (s is not None and s.live and isinstance(s.value, (int, float)) and not isinstance(s.value, bool)
                and s.ts > self._plotted_until):
            self.plot.extend(s.ts, float(s.value))
            self._plotted_until = s.ts

    # ------------------------------------------------------------ recent events
    def _ask_events(self, key: tuple[str, int]) -> None:
        self._events_key = key
        self._events_asked = time.monotonic()
        if self.ctx.history is None:
            self.events_note.setText("no site database: events are not available")
            return
        device_id = key[0]
        try:
            fut = self.ctx.history.events(device_id=device_id, limit=EVENTS_SHOWN)
        except RuntimeError as e:
            self.events_note.setText(f"events unavailable: {e}")
            return
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._show_events(device_id, f)))

    def _show_events(self, device_id: str, fut: Future[list[Any]]) -> None:  # GUI thread
        if device_id != self._selected:
            return
        try:
            events = fut.result()
        except Exception as e:  # noqa: BLE001 - one line, never a traceback
            self.events.setRowCount(0)
            self.events_note.setText(f"events unavailable: {_one_line(e)}")
            return
        self.events.setRowCount(len(events))
        today = dt.datetime.now().date()
        for r, ev in enumerate(events):
            when = dt.datetime.fromtimestamp(ev.ts)
            stamp = when.strftime("%H:%M:%S") if when.date() == today else when.strftime("%Y-%m-%d %H:%M")
            sev = ev.severity + ("" if ev.acked_by is None else " (ack)")
            for c, text in enumerate((stamp, sev, ev.kind.replace("_", " "), ev.message)):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setToolTip(ev.message)
                colour = theme.state_colour(ev.severity, theme.current() == "dark")
                if c == 1 and colour and ev.acked_by is None:
                    item.setForeground(QBrush(QColor(colour)))
                self.events.setItem(r, c, item)
        self.events_note.setText(f"last {len(events)} events of {device_id}" if events
                                 else f"no events recorded for {device_id}")

    # ------------------------------------------------------------ probe
    def probe(self) -> None:
        """Read the selected device once on a connection of its own, in a worker thread."""
        if self._probing is not None:
            return
        dev = self.ctx.site.device(self._selected)
        self._probing = dev.id
        self.probe_button.setEnabled(False)
        self.probe_result.setText(f"probing {dev.protocol} {dev.address or 'local'} "
                                  f"(at most {dev.timeout:g} s)…")
        if self._probe_pool is None:
            self._probe_pool = Worker("heatrack-probe")
        demo = self.ctx.demo
        factory = getattr(demo, "source_factory", None)  # the demo's simulated NVML, else the real clients
        resolver = getattr(demo, "resolve", None)
        fut = self._probe_pool.submit(lambda: _probe(dev, factory, resolver))
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._show_probe(dev.id, f)))

    def _show_probe(self, device_id: str, fut: Future[str]) -> None:  # GUI thread
        self._probing = None
        self.probe_button.setEnabled(True)
        if device_id != self._selected:
            return
        try:
            text = fut.result()
        except Exception as e:  # noqa: BLE001 - one line, never a traceback
            text = f"probe failed: {_one_line(e)}"
        self.probe_result.setText(text)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Forget a probe in flight (its thread ends within the device's timeout)."""
        if self._probe_pool is not None:
            self._probe_pool.close()
            self._probe_pool = None


def _probe(dev: Any, factory: Any, resolver: Any) -> str:  # worker thread
    from console.probe import probe_once
    from console.site import device_spec
    from protocols.base import DeviceError

    start = time.monotonic()
    try:
        if resolver is None:
            from console.secrets import resolve as resolver
        creds = resolver(dev.credentials) if dev.credentials else None
        readings = asyncio.run(probe_once(device_spec(dev, creds), factory))
    except DeviceError as e:
        label = {"Unreachable": "unreachable", "AuthFailed": "credentials refused",
                 "CertificateChanged": "certificate changed", "BadData": "bad data"}.get(type(e).__name__, "failed")
        return f"{label}: {_one_line(e.what)} ({time.monotonic() - start:.1f} s)"
    except Exception as e:  # noqa: BLE001 - a credentials backend, a client stack: one line
        return f"probe failed: {_one_line(e)}"
    took = time.monotonic() - start
    n = len(readings)
    kinds = sorted({r.quantity for r in readings})
    return (f"answered in {took:.2f} s: {n} reading{'s' * (n != 1)}"
            + (f" ({', '.join(k.replace('_', ' ') for k in kinds[:6])}{'…' if len(kinds) > 6 else ''})"
               if kinds else ""))


def _identity_text(identity: Any, protocol: str) -> tuple[str, str]:
    """Rich text (two label/value pairs a line, at most IDENTITY_SHOWN) and a tooltip with all."""
    rows = identity_rows(identity, protocol) if identity is not None else []
    if not rows:
        return "<i>identity not reported</i>", "the device has not said what it is (yet)"
    shown = rows[:IDENTITY_SHOWN]
    cells = [f"<td>{escape(k)}:&nbsp;</td><td><b>{escape(v)}</b>&nbsp;&nbsp;&nbsp;</td>" for k, v in shown]
    lines = ["<tr>" + "".join(cells[i:i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
    more = f"<tr><td colspan=4><i>and {len(rows) - len(shown)} more (tooltip)</i></td></tr>" \
        if len(rows) > len(shown) else ""
    return (f"<table cellspacing=0 cellpadding=1>{''.join(lines)}{more}</table>",
            "\n".join(f"{k}: {v}" for k, v in rows))


ALARM_WORDS = frozenset({"active", "alarm", "fault", "tripped", "on_battery", "failed"})


def _raised(s: SeriesState) -> bool:
    """An alarm the device raises itself (a controller's ``alarm`` points, a UPS on battery)."""
    return isinstance(s.value, str) and s.quantity in ("alarm", "state") and s.value.lower() in ALARM_WORDS


def _headline(series: list[SeriesState]) -> str | None:
    numeric = [s for s in series if isinstance(s.value, (int, float)) or s.value is None]
    for q in HEADLINE:
        for s in numeric:
            if s.quantity == q:
                return s.key
    return numeric[0].key if numeric else (series[0].key if series else None)


def _one_line(e: object) -> str:
    return " ".join(str(e).split())


__all__ = ["DevicesView"]
