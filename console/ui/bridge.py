"""Engine -> GUI. The engine calls back on its own thread; the bridge only appends to a
deque there. A GUI timer (4 Hz) drains it and emits one coalesced update, so acquisition
rate never drives render rate (ScopeFoundry's display timer) and the GUI thread never waits."""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from console.engine.coordinator import Batch, DeviceStatus
from protocols.base import Reading


class EngineBridge(QObject):
    """Emits ``updated(latest, status)``: latest Reading per series key, DeviceStatus per device."""

    updated = Signal(dict, dict)

    def __init__(self, subscribe: Callable[[Callable[[Batch], None]], Callable[[], None]],
                 interval_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: collections.deque[Batch] = collections.deque()
        self._lock = threading.Lock()
        self.latest: dict[str, Reading] = {}
        self.status: dict[str, DeviceStatus] = {}
        self._unsubscribe = subscribe(self._on_batch)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def _on_batch(self, batch: Batch) -> None:  # engine thread
        self._pending.append(batch)

    def drain(self) -> None:
        changed = False
        while self._pending:
            batch = self._pending.popleft()
            for r in batch.readings:
                self.latest[r.series_key] = r
            self.status[batch.device_id] = batch.status
            changed = True
        if changed:
            self.updated.emit(self.latest, self.status)

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()
