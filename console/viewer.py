"""A site watched through another heatrack's database: read-only, never a second writer.

When a database already has a writer (``Store`` refuses: "in use by another heatrack"), a second
window can still show the site. ``ReadOnlyLive`` is a ``LiveSite`` that a thread of its own
refreshes from a read-only store (``Store(readonly=True)``: no writer lock, reads beside the
writer under WAL) every few seconds: the latest values keep their true age, so they go stale on
screen when the writer stops polling or exits, and the unacknowledged events are the writer's.
Each device's status is derived from its values when asked: ``ok`` while its newest value is
fresh, ``stale`` (named with how long) once it is not. Qt-free.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.engine.coordinator import DeviceState, DeviceStatus, is_stale
from console.live import ACTIVE_SEVERITIES, Change, DeviceView, LiveSite, _Series, known_to_store
from console.site import Site

log = logging.getLogger("heatrack.viewer")

REFRESH_S = 3.0  # how often the store is read; the writer commits about once a second


class ReadOnlyLive(LiveSite):
    """A live model fed from the store another process writes. ``start()`` the refresh thread,
    ``close()`` it. ``error`` holds the last read's one-line failure ("" when reads work)."""

    def __init__(self, site: Site, db_path: str | Path, *, refresh_s: float = REFRESH_S,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 store_factory: Callable[[Path], Any] | None = None) -> None:
        super().__init__(site, clock=clock, wall=wall)
        self.path = Path(db_path)
        self.refresh_s = refresh_s
        self.error = ""
        self.reads = 0
        self._store_factory = store_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read_done = threading.Condition()
        self._newest: dict[str, float] = {}  # device -> wall time of its newest stored value

    # ------------------------------------------------------------ thread
    def start(self) -> ReadOnlyLive:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="heatrack-viewer", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def wait_read(self, after: int, timeout: float) -> bool:
        """Wait until more than ``after`` reads have completed (tests; never the GUI thread)."""
        with self._read_done:
            return self._read_done.wait_for(lambda: self.reads > after, timeout)

    def _open(self) -> Any:
        if self._store_factory is not None:
            return self._store_factory(self.path)
        from console.store import Store

        return Store(self.path, readonly=True)

    def _run(self) -> None:
        store = None
        try:
            while not self._stop.is_set():
                try:
                    if store is None:
                        store = self._open()
                    self.load(*known_to_store(store))
                    self.error = ""
                except Exception as e:  # noqa: BLE001 - a failed read is shown, and retried
                    self.error = " ".join(str(e).split()) or type(e).__name__
                    log.warning("read-only view of %s: %s", self.path, self.error)
                    if store is not None:
                        store.close()
                        store = None
                    self._publish(Change(None))
                with self._read_done:
                    self.reads += 1
                    self._read_done.notify_all()
                self._stop.wait(self.refresh_s)
        finally:
            if store is not None:
                store.close()

    # ------------------------------------------------------------ feeding
    def load(self, latest: list[Any], events: list[Any]) -> None:
        """Replace what is known with the store's latest values and unacknowledged events. A
        value's freshness is its true age (reading time vs now), not when it was read here."""
        now, wall = self._clock(), self._wall()
        with self._lock:
            for r in latest:
                age = max(0.0, wall - r.ts)
                self._series[r.series_key] = _Series(r, now - age if r.value is not None else None)
            newest: dict[str, float] = {}
            for r in (s.reading for s in self._series.values() if s.reading.value is not None):
                newest[r.device_id] = max(newest.get(r.device_id, 0.0), r.ts)
            self._newest = newest
            self._events = {e.id: e for e in events if e.id is not None and e.severity in ACTIVE_SEVERITIES}
        self._publish(Change(None))

    # ------------------------------------------------------------ reading
    def _derived(self, dev_id: str, address: str, wall: float) -> DeviceStatus | None:
        """A device's status from its newest stored value, decided at the time of asking (as the
        series' staleness is): ok while fresh, stale once no value is newer than 3 periods."""
        last = self._newest.get(dev_id)
        if last is None:
            return None
        if not is_stale(wall - last, self._interval.get(dev_id, 0.0)):
            return DeviceStatus(dev_id, address, DeviceState.OK, last_success=last)
        return DeviceStatus(dev_id, address, DeviceState.STALE, last_success=last,
                            message=f"no new values in the database for {wall - last:.0f} s")

    def device(self, device_id: str) -> DeviceView:
        dev = self.site.device(device_id)
        with self._lock:
            return DeviceView(dev, self._derived(dev.id, dev.address, self._wall()))

    def devices(self) -> list[DeviceView]:
        wall = self._wall()
        with self._lock:
            return [DeviceView(d, self._derived(d.id, d.address, wall)) for d in self.site.devices]

    def reporting(self) -> int:
        return sum(1 for v in self.devices() if v.status is not None and v.status.available)


__all__ = ["REFRESH_S", "ReadOnlyLive"]
