"""The Events page: what needs someone now (active events, from the live model) above what
happened (the site database's events, through the history service, filterable).

Acknowledging asks who (the name is remembered) and goes through ``ctx.ack`` (the session's
recorder: off the GUI thread); the live model drops the event once the store has taken the
acknowledgement, so the active list shrinks by itself at the next tick. Without ``ctx.ack``, or
when another heatrack writes the database, the button is greyed and the page says why."""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.device_alarms import DeviceAlarm, reported_alarms
from console.ui.context import ViewContext
from console.ui.who import AskName
from widgets import severity as sev
from widgets.event_table import EventRow, EventTable

log = logging.getLogger("heatrack.ui.events")

HISTORY_LIMIT = 1000  # newest events read for the lower table
SEVERITY_FILTERS = (("all severities", 0), ("warning and above", 1), ("alarm and above", 2), ("critical only", 3))
_RANK = {"info": 0, "warning": 1, "alarm": 2, "critical": 3}


def ack_unavailable(ctx: ViewContext) -> str | None:
    """Why events cannot be acknowledged in this window, or None."""
    if ctx.read_only:
        return "Read-only: another heatrack writes this site's database; acknowledge there."
    if ctx.ack is None:
        return "Acknowledging is not possible in this window (no writable site database)."
    return None


def active_summary(events: list[Any]) -> str:
    if not events:
        return "Active: none — nothing needs attention"
    alarms = sum(1 for e in events if e.severity in ("alarm", "critical"))
    text = f"Active: {len(events)} unacknowledged"
    if alarms:
        text += f" · {alarms} alarm{'s' if alarms != 1 else ''}"
    return text


class EventsView(QWidget):
    title = "Events"

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._active_ids: tuple[int | None, ...] | None = None
        self._loaded_for: tuple[Any, ...] | None = None
        self._loading = False
        self._reload_again = False
        self._history_rows: list[EventRow] = []
        self._dialog: AskName | None = None

        # --- active
        self.active_label = QLabel()
        self.active_label.setObjectName("heading")
        font = self.active_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.active_label.setFont(font)
        self.active = EventTable()
        self.active.setToolTip("Unacknowledged warnings, alarms and critical events, newest first")
        self.active.acknowledge_requested.connect(self.ask_acknowledge)
        self.active.selection_changed.connect(self._update_buttons)
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setToolTip("Record that you have seen the selected events (Ctrl+K); asks your name")
        self.ack_button.clicked.connect(lambda: self.ask_acknowledge(self.active.selected_ids()))
        self.ack_why = QLabel()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.reported = QLabel()
        self.reported.setWordWrap(True)
        self.reported.setToolTip("Alarms the equipment reports in its own readings now (the heat controller's "
                                 "pump fault, low flow, ...; a UPS's alarm). They clear when the device clears "
                                 "them; they are not acknowledged here.")

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.active_label)
        head.addStretch(1)
        head.addWidget(self.ack_why)
        head.addWidget(self.ack_button)
        tl.addLayout(head)
        tl.addWidget(self.reported)
        tl.addWidget(self.active)
        tl.addWidget(self.status)

        # --- history
        self.severity = QComboBox()
        for text, rank in SEVERITY_FILTERS:
            self.severity.addItem(text, rank)
        self.severity.setToolTip("Show events of at least this severity")
        self.device = QComboBox()
        self.device.addItem("all devices", None)
        for d in ctx.site.devices:
            self.device.addItem(f"{d.id} — {d.name}" if getattr(d, "name", "") else d.id, d.id)
        self.device.setToolTip("Show the events of one device")
        self.unacked = QCheckBox("unacknowledged only")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the events again from the site database")
        self.reload_button.clicked.connect(self.reload_history)
        for w in (self.severity, self.device):
            w.currentIndexChanged.connect(self._filters_changed)
        self.unacked.toggled.connect(self._filters_changed)
        self.history_label = QLabel()
        self.history = EventTable()
        self.history.acknowledge_requested.connect(self.ask_acknowledge)

        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("History:"))
        filters.addWidget(self.severity)
        filters.addWidget(self.device)
        filters.addWidget(self.unacked)
        filters.addStretch(1)
        filters.addWidget(self.history_label)
        filters.addWidget(self.reload_button)
        bl.addLayout(filters)
        bl.addWidget(self.history)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        why = ack_unavailable(ctx)
        self.ack_why.setText(why or "")
        self.ack_why.setVisible(why is not None)
        self.ack_button.setToolTip(why or self.ack_button.toolTip())
        ctx.bridge.changed.connect(self.refresh)
        self.refresh()
        self.reload_history()

    # ------------------------------------------------------------ live
    def refresh(self) -> None:
        """Active events from the live model (cheap); the history is re-read when they change."""
        events = self.ctx.live.active_events()
        rows = [EventRow(e.id, e.ts, e.severity, e.device_id, e.kind, e.message) for e in events]
        now = self.ctx.wall()
        self.active.set_events(rows, now)
        self.active_label.setText(active_summary(events))
        self._show_reported(reported_alarms(self.ctx.live))
        ids = tuple(e.id for e in events)
        if self._active_ids is not None and ids != self._active_ids:
            self.reload_history()
        self._active_ids = ids
        self._update_buttons()

    def _show_reported(self, alarms: list[DeviceAlarm]) -> None:
        if not alarms:
            text = "Equipment reports no alarm now."
        else:
            text = "Equipment reports now: " + " · ".join(f"▲ {a.label()}" for a in alarms)
        if text != self.reported.text():
            self.reported.setText(text)
            current = any(a.current for a in alarms)
            self.reported.setStyleSheet(f"color: {sev.COLOURS['alarm']}; font-weight: bold;" if current else "")

    def _update_buttons(self) -> None:
        self.ack_button.setEnabled(ack_unavailable(self.ctx) is None and bool(self.active.selected_ids()))

    # ------------------------------------------------------------ history
    def _filters(self) -> tuple[Any, ...]:
        return (self.severity.currentData(), self.device.currentData(), self.unacked.isChecked())

    def _filters_changed(self) -> None:
        loaded_device = self._loaded_for[1] if self._loaded_for is not None else None
        if self.device.currentData() != loaded_device:
            self.reload_history()  # the store is asked per device
        self._show_history(self.ctx.wall())

    def reload_history(self) -> None:
        """Ask the history service for the newest events (of the chosen device); never waits."""
        if self.ctx.history is None:
            self.history_label.setText("No site database: history unavailable")
            return
        if self._loading:
            self._reload_again = True
            return
        filters = self._filters()
        try:
            fut = self.ctx.history.events(device_id=filters[1], limit=HISTORY_LIMIT)
        except RuntimeError as e:  # closed while the window closes
            self.history_label.setText(f"History unavailable: {e}")
            return
        self._loading, self._reload_again = True, False
        self.history_label.setText("reading…")
        fut.add_done_callback(lambda f: self.ctx.bridge.post(lambda: self._history_done(f, filters)))

    def _history_done(self, fut: Future[Any], filters: tuple[Any, ...]) -> None:
        self._loading = False
        try:
            events = fut.result()
        except Exception as e:  # noqa: BLE001 - a StoreError names the cause in one line
            self.history_label.setText(f"History unavailable: {e}")
            return
        self._loaded_for = filters
        self._history_rows = [EventRow(e.id, e.ts, e.severity, e.device_id or "", e.kind, e.message,
                                       e.acked_by, e.acked_at) for e in events]
        self._show_history(self.ctx.wall())
        if self._reload_again:
            self.reload_history()

    def _show_history(self, now: float) -> None:
        if self._loaded_for is None:
            return
        least, device, unacked = self._filters()
        rows = [r for r in self._history_rows
                if _RANK.get(r.severity, 0) >= least and (device is None or r.device_id == device)
                and (not unacked or r.acked_at is None)]
        self.history.set_events(rows, now)
        more = " (the newest)" if len(self._history_rows) >= HISTORY_LIMIT else ""
        self.history_label.setText(f"{len(rows):,} of {len(self._history_rows):,} events{more}")

    # ------------------------------------------------------------ acknowledging
    def ask_acknowledge(self, ids: list[int]) -> AskName | None:
        """Ask who acknowledges ``ids``; the dialog is returned (tests fill it in)."""
        why = ack_unavailable(self.ctx)
        if why is not None:
            self.status.setText(why)
            return None
        if not ids:
            self.status.setText("Select the events to acknowledge first.")
            return None
        n = len(ids)
        dialog = AskName("Acknowledge events",
                         f"Acknowledge {n} event{'s' if n != 1 else ''}: who has seen "
                         f"{'them' if n != 1 else 'it'} and is dealing with it?", self)
        dialog.named.connect(lambda who: self.acknowledge(ids, who))
        self._dialog = dialog
        dialog.open()
        return dialog

    def acknowledge(self, ids: list[int], who: str) -> None:
        """Record the acknowledgement of each id by ``who`` (off the GUI thread)."""
        ack = self.ctx.ack
        if ack is None or self.ctx.read_only:
            return
        self.status.setText(f"Acknowledging {len(ids)} event{'s' if len(ids) != 1 else ''}…")
        results: dict[int, str] = {}

        def one_done(eid: int, fut: Future[Any]) -> None:  # any thread
            try:
                ok = fut.result()
                results[eid] = "" if ok else "already acknowledged"
            except Exception as e:  # noqa: BLE001 - the store's one-line reason
                results[eid] = str(e).splitlines()[0] if str(e) else type(e).__name__
            if len(results) == len(ids):
                self.ctx.bridge.post(lambda: self._acked(dict(results), who))

        for eid in ids:
            try:
                fut = ack(eid, who)
            except Exception as e:  # noqa: BLE001 - a stopped writer refuses at once
                f: Future[Any] = Future()
                f.set_exception(e)
                fut = f
            fut.add_done_callback(lambda f, eid=eid: one_done(eid, f))

    def _acked(self, results: dict[int, str], who: str) -> None:
        failed = {k: v for k, v in results.items() if v}
        done = len(results) - len(failed)
        text = f"{done} event{'s' if done != 1 else ''} acknowledged by {who} at {time.strftime('%H:%M:%S')}"
        if failed:
            eid, why = next(iter(failed.items()))
            text += f"; {len(failed)} not: event {eid}: {why}"
        self.status.setText(text)
        self.refresh()
        self.reload_history()


__all__ = ["EventsView", "ack_unavailable"]
