"""Screen each poll's readings: a physically impossible value is not a fact and is dropped
before the store, the live views and Control ever see it (protocols/plausibility.py has the
ranges, docs/quantities.md the reasons).

Dropping alone would hide a broken sensor, so each series that turns implausible gets one
``faulty_data`` warning event (device, channel, quantity and the value) and one
``faulty_data_cleared`` event when it reads plausibly again — not one per poll. A series counts
as recovered only after ``RECOVER_AFTER`` plausible values in a row, so a register that flickers
between garbage and good values does not flood the event list.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from console.engine.events import EventSink, record_event
from protocols.base import Reading
from protocols.plausibility import problem
from protocols.safe_text import printable, shown

log = logging.getLogger("heatrack.engine")

RECOVER_AFTER = 3  # plausible values in a row before a series counts as recovered
MAX_EVENTS_PER_POLL = 20  # per device; the rest of a burst goes into one summary event
MAX_TRACKED = 1000  # implausible series remembered per device (a device inventing names)
_MAX_TEXT = 120


def _text(value: Any) -> str:
    """A value or name for a message: floats as %g, names as they are, the rest as a repr;
    bounded and printable (a device chooses its channel names)."""
    if isinstance(value, float):
        return printable(f"{value:g}", _MAX_TEXT)
    if isinstance(value, str) and value.isidentifier():
        return printable(value, _MAX_TEXT)
    return shown(value, _MAX_TEXT)


@dataclasses.dataclass(slots=True)
class _Bad:
    first: Reading
    why: str
    dropped: int = 1
    good_in_row: int = 0
    seen_poll: int = 0


class PlausibilityGuard:
    """One per device, used on the engine loop; ``dropped`` and ``series`` from any thread."""

    def __init__(self, device_id: str, events: EventSink | None = None, *,
                 wall: Callable[[], float] = time.time, recover_after: int = RECOVER_AFTER,
                 max_events: int = MAX_EVENTS_PER_POLL, max_tracked: int = MAX_TRACKED) -> None:
        self.device_id = device_id
        self._events = events
        self._wall = wall
        self._recover_after = recover_after
        self._max_events = max_events
        self._max_tracked = max_tracked
        self._bad: dict[str, _Bad] = {}
        self._polls = 0
        self._lock = threading.Lock()
        self.dropped = 0  # readings dropped since start
        self.series: tuple[str, ...] = ()  # series implausible now

    def screen(self, readings: Iterable[Reading]) -> list[Reading]:
        """The plausible readings of one poll; never raises (a bug here must not stop polling,
        so it falls back to dropping what is not finite, which the store could not sum)."""
        readings = list(readings)
        try:
            return self._screen(readings)
        except Exception:
            log.exception("%s: plausibility check failed; keeping the finite readings", self.device_id)
            return [r for r in readings if not isinstance(r.value, float) or math.isfinite(r.value)]

    def _screen(self, readings: list[Reading]) -> list[Reading]:
        keep: list[Reading] = []
        turned: list[_Bad] = []
        recovered: list[tuple[_Bad, Reading]] = []
        with self._lock:
            self._polls += 1
            for r in readings:
                why = problem(r.quantity, r.unit, r.value)
                bad = self._bad.get(r.series_key)
                if why is None:
                    keep.append(r)
                    if bad is not None and r.value is not None:
                        bad.good_in_row += 1
                        if bad.good_in_row >= self._recover_after:
                            del self._bad[r.series_key]
                            recovered.append((bad, r))
                    continue
                self.dropped += 1
                if bad is None:
                    bad = self._bad[r.series_key] = _Bad(r, why)
                    turned.append(bad)
                else:
                    bad.dropped += 1
                    bad.good_in_row = 0
                bad.seen_poll = self._polls
            self._forget_vanished()
            if turned or recovered:
                self.series = tuple(sorted(self._bad))
        self._report(turned, recovered)
        return keep

    def _forget_vanished(self) -> None:
        """Bound memory: past ``max_tracked``, forget the series not seen longest."""
        excess = len(self._bad) - self._max_tracked
        if excess <= 0:
            return
        old = sorted((b.seen_poll, k) for k, b in self._bad.items() if b.seen_poll < self._polls)
        for _, key in old[:excess]:
            del self._bad[key]
        self.series = tuple(sorted(self._bad))

    def _report(self, turned: list[_Bad], recovered: list[tuple[_Bad, Reading]]) -> None:
        budget = self._max_events
        for bad in turned[:budget]:
            r = bad.first
            unit = f" {r.unit}" if r.unit else ""
            text = (f"{r.device_id}/{_text(r.channel)}/{r.quantity}: {_text(r.value)}{unit} is implausible "
                    f"({bad.why}); its readings are dropped until it reads plausibly again")
            log.warning("%s", text)
            self._event("warning", "faulty_data", text)
        if len(turned) > budget:
            rest = turned[budget:]
            names = ", ".join(_text(b.first.channel) for b in rest[:5]) + (", ..." if len(rest) > 5 else "")
            text = f"{self.device_id}: {len(rest)} more series turned implausible ({names}); dropped"
            log.warning("%s", text)
            self._event("warning", "faulty_data", text)
        for bad, r in recovered[:budget]:
            unit = f" {r.unit}" if r.unit else ""
            text = (f"{r.device_id}/{_text(r.channel)}/{r.quantity} reads plausibly again "
                    f"({_text(r.value)}{unit}) after {bad.dropped} implausible reading(s)")
            log.info("%s", text)
            self._event("info", "faulty_data_cleared", text)
        if len(recovered) > budget:
            text = f"{self.device_id}: {len(recovered) - budget} more series read plausibly again"
            log.info("%s", text)
            self._event("info", "faulty_data_cleared", text)

    def _event(self, severity: str, kind: str, message: str) -> None:
        record_event(self._events, self._wall(), severity, self.device_id, kind, message)
