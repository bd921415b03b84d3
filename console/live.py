"""The live site: what is true now, in one place, without Qt.

Per series the latest value, unit, age and state; per device its status and identity; the
active (unacknowledged, not merely informative) events. The engine feeds it batches, the
recorder feeds it events; views, Control and (later) rules read it or subscribe with plain
callbacks. Whether a series is stale is decided here and nowhere else (the coordinator's
``is_stale`` rule), so the window, the bridge and a report never disagree about it.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from console.engine.coordinator import Batch, DeviceState, DeviceStatus, is_stale
from console.recorder import RecordedEvent
from console.site import Device, Site
from protocols.base import Identity, Reading

log = logging.getLogger("heatrack.live")

# series states beside the device states that explain them
OK = "ok"
STALE = "stale"  # no fresh value for STALE_PERIODS poll periods (or only known from the store)
NO_VALUE = "no_value"  # the device answered but said it cannot measure this now
ACTIVE_SEVERITIES = frozenset({"warning", "alarm", "critical"})  # "info" is history, not a call to act
MAX_ACTIVE = 1000  # unacknowledged events held (a device flapping for a season); the store keeps all


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesState:
    """One series as the live model sees it. ``state`` is ok, stale, no_value, or the device's
    own failure state (unreachable, auth_failed, blocked, faulty) when it is not answering."""

    key: str
    device_id: str
    channel: str
    quantity: str
    value: float | str | None
    unit: str
    ts: float  # wall-clock time of the reading
    age: float  # seconds since ts (wall clock), never negative
    state: str

    @property
    def live(self) -> bool:
        """True only when the value may be shown as current."""
        return self.state == OK


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceView:
    """A device's identity from the site file and its latest status from the engine."""

    device: Device
    status: DeviceStatus | None  # None until its first poll

    @property
    def state(self) -> str:
        return self.status.state.value if self.status is not None else DeviceState.PENDING.value

    @property
    def identity(self) -> Identity | None:
        """What the device said it is (model, serial, firmware), None until it has said."""
        return self.status.identity if self.status is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """What a subscriber is told: the device that changed (None for an event-only change),
    the readings that arrived, and the event that arrived (if any)."""

    device_id: str | None
    readings: tuple[Reading, ...] = ()
    event: RecordedEvent | None = None


Subscriber = Callable[[Change], None]


@dataclasses.dataclass(slots=True)
class _Series:
    reading: Reading
    fresh_at: float | None  # monotonic arrival of this answer; None when only known from the store


class LiveSite:
    """Thread-safe: fed on the engine (and store writer) threads, read from any thread.

    ``clock`` is monotonic (arrival times, staleness), ``wall`` the wall clock (ages)."""

    def __init__(self, site: Site, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.site = site
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._status: dict[str, DeviceStatus] = {}
        self._interval = {d.id: d.poll_interval for d in site.devices}
        self._events: dict[int, RecordedEvent] = {}
        self._unnumbered: list[RecordedEvent] = []  # the store gave no id: shown, not ackable
        self._subscribers: list[Subscriber] = []

    # ------------------------------------------------------------ feeding
    def seed(self, latest: Iterable[Reading], events: Iterable[RecordedEvent] = ()) -> None:
        """What the store knew before this run: shown as stale (never as live) until polled."""
        with self._lock:
            for r in latest:
                if r.series_key not in self._series:
                    self._series[r.series_key] = _Series(r, None)
            for e in events:
                if e.id is not None and e.severity in ACTIVE_SEVERITIES:
                    self._events[e.id] = e

    def on_batch(self, batch: Batch) -> None:
        """Engine subscriber (engine thread)."""
        now = self._clock()
        with self._lock:
            self._status[batch.device_id] = batch.status
            for r in batch.readings:
                self._series[r.series_key] = _Series(r, now)
        self._publish(Change(batch.device_id, batch.readings))

    def on_event(self, event: RecordedEvent) -> None:
        """Recorder listener (store writer thread)."""
        if event.severity not in ACTIVE_SEVERITIES:
            return
        with self._lock:
            if event.id is None:
                self._unnumbered.append(event)
                del self._unnumbered[:-100]
            else:
                self._events[event.id] = event
                while len(self._events) > MAX_ACTIVE:
                    del self._events[min(self._events)]  # the oldest id
        self._publish(Change(None, (), event))

    def acknowledged(self, event_id: int) -> None:
        """Forget an event once the store has recorded its acknowledgement."""
        with self._lock:
            self._events.pop(event_id, None)
        self._publish(Change(None))

    # ------------------------------------------------------------ subscriptions
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(change)`` after every change, on the thread that made it (engine or
        store writer): keep it short, or hand the work over (the Qt bridge only sets a flag)."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _publish(self, change: Change) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for cb in subs:
            try:
                cb(change)
            except Exception:  # a broken view must not stop the polling
                log.exception("live subscriber %r failed", cb)

    # ------------------------------------------------------------ reading
    def _state_of(self, s: _Series, status: DeviceStatus | None, now: float) -> str:
        r = s.reading
        if status is not None and status.state not in (DeviceState.OK, DeviceState.STALE, DeviceState.PENDING):
            return status.state.value
        if s.fresh_at is None or is_stale(now - s.fresh_at, self._interval.get(r.device_id, 0.0)):
            return STALE  # only known from the store, or the device stopped mentioning it
        return NO_VALUE if r.value is None else OK

    def series(self, device_id: str | None = None) -> list[SeriesState]:
        """Every known series (of one device), sorted by key, with its state decided now."""
        now, wall = self._clock(), self._wall()
        with self._lock:
            items = [(s, self._status.get(s.reading.device_id)) for k, s in sorted(self._series.items())
                     if device_id is None or s.reading.device_id == device_id]
        return [self._view(s, st, now, wall) for s, st in items]

    def get(self, key: str) -> SeriesState | None:
        """One series by key, without listing its device's others."""
        now, wall = self._clock(), self._wall()
        with self._lock:
            s = self._series.get(key)
            st = self._status.get(s.reading.device_id) if s is not None else None
        return None if s is None else self._view(s, st, now, wall)

    def _view(self, s: _Series, status: DeviceStatus | None, now: float, wall: float) -> SeriesState:
        r = s.reading
        return SeriesState(r.series_key, r.device_id, r.channel, r.quantity, r.value, r.unit, r.ts,
                           max(0.0, wall - r.ts), self._state_of(s, status, now))

    def latest(self, key: str) -> Reading | None:
        """The latest reading of ``key`` whatever its state (Control's "before" value)."""
        with self._lock:
            s = self._series.get(key)
        return s.reading if s is not None else None

    def device(self, device_id: str) -> DeviceView:
        with self._lock:
            st = self._status.get(device_id)
        return DeviceView(self.site.device(device_id), st)

    def devices(self) -> list[DeviceView]:
        with self._lock:
            status = dict(self._status)
        return [DeviceView(d, status.get(d.id)) for d in self.site.devices]

    def active_events(self) -> list[RecordedEvent]:
        """Unacknowledged warnings, alarms and critical events, newest first."""
        with self._lock:
            events = list(self._events.values()) + list(self._unnumbered)
        return sorted(events, key=lambda e: e.ts, reverse=True)

    def reporting(self) -> int:
        """How many devices answered their last poll."""
        with self._lock:
            return sum(1 for s in self._status.values() if s.available)


def known_to_store(store: Any) -> tuple[list[Reading], list[RecordedEvent]]:
    """A store's latest values and unacknowledged events: what a restarted site shows (stale)
    until it is polled."""
    latest = [Reading(v.ts, v.series.device_id, v.series.channel, v.series.quantity, v.value, v.unit)
              for v in store.latest().values()]
    events = [RecordedEvent(e.id, e.ts, e.severity, e.device_id or "", e.kind, e.message)
              for e in store.events(unacked_only=True, limit=200)]
    return latest, events


def seed_from_store(live: LiveSite, store: Any) -> None:
    """Seed ``live`` from a store's latest values and unacknowledged events (after a restart)."""
    live.seed(*known_to_store(store))
