"""Recording an engine event (a device transition, implausible data) without ever failing the
poll that raised it. When the store's writer has stopped, every later event fails the same way;
the cause was already reported once (``heatrack log`` prints one line and ends), so those
repeats go to the debug log instead of a line per event on the user's terminal."""
from __future__ import annotations

import logging
from typing import Any, Protocol

from console.store.store import WriterStopped

log = logging.getLogger("heatrack.engine")


class EventSink(Protocol):
    def add_event(self, ts: float, severity: str, device_id: str, kind: str, message: str) -> Any: ...


def _report(device_id: str, exc: BaseException) -> None:
    level = logging.DEBUG if isinstance(exc, WriterStopped) else logging.ERROR
    log.log(level, "%s: event not stored: %s", device_id, exc)


def record_event(sink: EventSink | None, ts: float, severity: str, device_id: str, kind: str,
                 message: str) -> None:
    """Queue one event; a failure now or when its Future resolves is logged, never raised."""
    if sink is None:
        return
    try:
        fut = sink.add_event(ts, severity, device_id, kind, message)
    except Exception as e:  # a store-like that refuses outright
        _report(device_id, e)
        return
    add = getattr(fut, "add_done_callback", None)
    if add is None:
        return

    def done(f: Any) -> None:
        if not f.cancelled() and f.exception() is not None:
            _report(device_id, f.exception())

    add(done)
