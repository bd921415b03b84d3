"""Live model -> GUI. The live model calls back on the engine (or store writer) thread; the
bridge only raises a flag there. A GUI timer (4 Hz) emits one ``changed`` when the flag is up,
so acquisition rate never drives render rate (ScopeFoundry's display timer) and the GUI thread
never waits. Work finished on other threads (history queries) is handed over with ``post``
and run by the same timer on the GUI thread. The bridge decides nothing: values, ages and
staleness are read from the live model."""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from console.live import Change, LiveSite


class LiveBridge(QObject):
    """Emits ``changed()`` at most every ``interval_ms`` when the live model changed."""

    changed = Signal()

    def __init__(self, live: LiveSite, interval_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self._dirty = threading.Event()
        self._posted: collections.deque[Callable[[], None]] = collections.deque()
        self._unsubscribe = live.subscribe(self._on_change)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def _on_change(self, change: Change) -> None:  # engine / writer thread
        self._dirty.set()

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the GUI thread at the next tick; callable from any thread."""
        self._posted.append(fn)

    def drain(self) -> None:
        while self._posted:
            self._posted.popleft()()
        if self._dirty.is_set():
            self._dirty.clear()
            self.changed.emit()

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()
        self._posted.clear()
