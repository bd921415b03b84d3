"""The one writer of live data: every poll's readings and every engine event (device
transitions, implausible data, injected demo faults) reach the store through here.

Why one place: the engine hands readings over and each coordinator raises events; had each
talked to the store itself, a stopped writer would be reported once per caller and per poll.
Here the first refusal of readings is reported once (``on_failure``) and later ones are
counted quietly; event failures keep issue 7's rule (``console.engine.events.record_event``:
a repeat after the writer stopped goes to the debug log). Listeners learn of each stored
event with its id (the live model keeps the active ones)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, Protocol

from protocols.base import Reading

log = logging.getLogger("heatrack.recorder")


class StoreLike(Protocol):
    """The part of console.store.Store the recorder writes through."""

    def add_readings(self, readings: Iterable[Reading]) -> None: ...

    def register_device(self, device_id: str, kind: str, protocol: str, address: str,
                        name: str = "") -> Any: ...

    def add_event(self, ts: float, severity: str, device_id: str, kind: str, message: str) -> Any: ...


class RecordedEvent:
    """An event as the store took it; ``id`` is None until (or unless) the store assigned one."""

    __slots__ = ("device_id", "id", "kind", "message", "severity", "ts")

    def __init__(self, id: int | None, ts: float, severity: str, device_id: str, kind: str,
                 message: str) -> None:
        self.id, self.ts, self.severity = id, ts, severity
        self.device_id, self.kind, self.message = device_id, kind, message

    def __repr__(self) -> str:
        return f"RecordedEvent({self.id!r}, {self.severity} {self.device_id} {self.kind})"


EventListener = Callable[[RecordedEvent], None]


def _report_first(e: Exception) -> None:
    log.error("cannot store readings (%s); later refusals are not repeated", e)


class Recorder:
    """Store-like (what the engine and its coordinators take) over the real store.

    ``on_failure(exc)`` is called once, on the first refused batch of readings (``heatrack log``
    prints one line and stops the engine); later batches are dropped and counted in
    ``refused``."""

    def __init__(self, store: StoreLike, *,
                 on_failure: Callable[[Exception], None] = _report_first) -> None:
        self.store = store
        self.on_failure = on_failure
        self.failed: Exception | None = None
        self.refused = 0
        self._listeners: list[EventListener] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ readings
    def add_readings(self, readings: Iterable[Reading]) -> None:
        if self.failed is not None:
            self.refused += 1
            return
        try:
            self.store.add_readings(readings)
        except Exception as e:  # noqa: BLE001 - StoreError, or whatever a store-like raises
            self.failed = e
            self.refused += 1
            try:
                self.on_failure(e)
            except Exception:
                log.exception("store failure handler failed")

    def flush(self, timeout: float | None = None) -> None:
        """Wait until what was recorded is on disk; raises the first refusal again if there was
        one (fast-forward's end check)."""
        if self.failed is not None:
            raise self.failed
        flush = getattr(self.store, "flush", None)
        if flush is not None:
            flush(timeout)

    def register_device(self, device_id: str, kind: str, protocol: str, address: str,
                        name: str = "") -> Any:
        return self.store.register_device(device_id, kind, protocol, address, name=name)

    # ------------------------------------------------------------ events
    def subscribe_events(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener(event)`` once the store has taken an event (writer thread, or the
        caller's thread for a store-like that answers at once)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, event: RecordedEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for cb in listeners:
            try:
                cb(event)
            except Exception:
                log.exception("event listener %r failed", cb)

    def add_event(self, ts: float, severity: str, device_id: str, kind: str, message: str) -> Any:
        """Queue the event; returns the store's answer (a Future of its id) so that
        ``record_event`` can report a failure. Raises what the store raises."""
        fut = self.store.add_event(ts, severity, device_id, kind, message)

        def stored(eid: Any) -> None:
            self._notify(RecordedEvent(eid if isinstance(eid, int) else None, ts, severity, device_id,
                                       kind, message))

        if isinstance(fut, Future):
            fut.add_done_callback(lambda f: None if f.cancelled() or f.exception() is not None
                                  else stored(f.result()))
        else:
            stored(fut)
        return fut

    def ack_event(self, event_id: int, by: str) -> Any:
        ack = getattr(self.store, "ack_event", None)
        if ack is None:
            raise RuntimeError("this store cannot acknowledge events")
        return ack(event_id, by)
