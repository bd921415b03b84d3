"""One coordinator per device: polls its Source on its own interval and keeps its status.

Modelled on Home Assistant's DataUpdateCoordinator (notes/peers-and-style.md §3/§4): typed
failures map to a small state machine, a line is logged (and a store event written) only when
the state changes, unreachable devices back off exponentially, an auth failure stops polling
until someone asks again. Whether each *series* is fresh is the live model's business
(``console.live``), decided with this module's ``is_stale`` rule; the coordinator only says
whether the *device* has answered lately. Clock and sleep are injectable so tests never sleep.
"""
from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from console.engine.events import EventSink, record_event
from console.engine.plausibility import PlausibilityGuard
from protocols.base import (
    AuthFailed,
    BadData,
    CertificateChanged,
    DeviceError,
    Identity,
    Reading,
    Source,
    Unreachable,
)

log = logging.getLogger("heatrack.engine")

T = TypeVar("T")

STALE_PERIODS = 3  # a series with no fresh value for this many poll periods is stale
MAX_BACKOFF_S = 300.0
JITTER = 0.1  # +-10 % on backed-off delays, so a site's devices do not retry in lock step
REFRESH_COOLDOWN_S = 2.0
CLOSE_TIMEOUT_S = 2.0


def is_stale(age_s: float, interval_s: float) -> bool:
    """The one staleness rule (coordinator status, live model, window): no fresh value for
    more than STALE_PERIODS poll periods."""
    return age_s > STALE_PERIODS * interval_s


class DeviceState(str, enum.Enum):
    PENDING = "pending"  # not polled yet
    OK = "ok"
    UNREACHABLE = "unreachable"  # retried with backoff
    AUTH_FAILED = "auth_failed"  # polling stopped until refresh()
    BLOCKED = "blocked"  # pinned certificate changed: stopped until re-trusted + refresh()
    FAULTY = "faulty"  # answered with garbage; polled on the normal interval
    STALE = "stale"  # derived: state ok but no success for STALE_PERIODS periods

    def __str__(self) -> str:
        return self.value


STOPPED_STATES = frozenset({DeviceState.AUTH_FAILED, DeviceState.BLOCKED})
# severity of the store event written on entering a state
SEVERITY = {
    DeviceState.OK: "info",
    DeviceState.UNREACHABLE: "alarm",
    DeviceState.AUTH_FAILED: "alarm",
    DeviceState.BLOCKED: "critical",
    DeviceState.FAULTY: "warning",
}


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceStatus:
    """An immutable snapshot of one device, safe to hand to any thread."""

    device_id: str
    address: str
    state: DeviceState
    message: str = ""  # why it is in this state ("" when ok)
    last_success: float | None = None  # wall-clock ts of the last good poll
    last_error: str | None = None
    last_error_ts: float | None = None
    consecutive_failures: int = 0
    next_poll: float | None = None  # wall-clock ts; None when polling is stopped
    poll_duration: float | None = None  # seconds the last poll took
    polls: int = 0
    failures: int = 0
    readings: int = 0  # readings delivered since start
    implausible: int = 0  # readings dropped as physically impossible since start
    implausible_series: tuple[str, ...] = ()  # series whose values are implausible now
    identity: Identity | None = None  # what the device says it is; None until it has said

    @property
    def available(self) -> bool:
        return self.state is DeviceState.OK


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    """What one poll produced: the readings (empty on failure) and the status after it."""

    device_id: str
    readings: tuple[Reading, ...]
    status: DeviceStatus


Listener = Callable[[Batch], None]


def classify(exc: BaseException) -> DeviceState:
    """The state a poll failure leads to."""
    if isinstance(exc, CertificateChanged):
        return DeviceState.BLOCKED
    if isinstance(exc, AuthFailed):
        return DeviceState.AUTH_FAILED
    if isinstance(exc, Unreachable):
        return DeviceState.UNREACHABLE
    return DeviceState.FAULTY  # BadData, and anything unexpected: never crash the engine


class Coordinator:
    """Poll one device forever (``run``), or once (``poll_once``), and track its health.

    ``opener`` builds the device's Source; it is called lazily and again after an auth failure
    (so fixed credentials are picked up) and may raise a DeviceError itself.
    """

    def __init__(
        self,
        device_id: str,
        address: str,
        opener: Callable[[], Source],
        *,
        interval: float,
        timeout: float,
        events: EventSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        max_backoff: float = MAX_BACKOFF_S,
        refresh_cooldown: float = REFRESH_COOLDOWN_S,
    ) -> None:
        self.device_id = device_id
        self.address = address
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.refresh_cooldown = refresh_cooldown
        self._opener = opener
        self._events = events
        self._clock, self._wall, self._sleep, self._rng = clock, wall, sleep, rng
        self._source: Source | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # guards the fields status() reads from other threads
        self._io = asyncio.Lock()  # one request at a time per device: polls and actions
        self._state = DeviceState.PENDING
        self._message = ""
        self._last_success_mono: float | None = None
        self._last_success: float | None = None
        self._last_error: str | None = None
        self._last_error_ts: float | None = None
        self._failures_in_row = 0
        self._failures = 0
        self._polls = 0
        self._readings = 0
        self._poll_duration: float | None = None
        self._next_due: float | None = None  # monotonic
        self._last_start: float | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._resume = False  # a refresh asked to poll a stopped (auth-failed) device again
        self._plausible = PlausibilityGuard(device_id, events, wall=wall)
        self._identity: Identity | None = None
        self._identify_due = True  # after the first good poll, and again after each failure

    # ------------------------------------------------------------ listeners
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(batch)`` after every poll; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, batch: Batch) -> None:
        for cb in list(self._listeners):
            try:
                cb(batch)
            except Exception:  # a broken view must not stop the polling
                log.exception("%s: listener %r failed", self.device_id, cb)

    # ------------------------------------------------------------ status
    @property
    def state(self) -> DeviceState:
        return self._state

    def status(self) -> DeviceStatus:
        """A consistent snapshot; callable from any thread."""
        now = self._clock()
        with self._lock:
            state = self._state
            if (state is DeviceState.OK and self._last_success_mono is not None
                    and is_stale(now - self._last_success_mono, self.interval)):
                state = DeviceState.STALE
            next_poll = None
            if self._next_due is not None and self._state not in STOPPED_STATES and not self._stopping:
                next_poll = self._wall() + max(0.0, self._next_due - now)
            return DeviceStatus(
                device_id=self.device_id, address=self.address, state=state, message=self._message,
                last_success=self._last_success, last_error=self._last_error,
                last_error_ts=self._last_error_ts, consecutive_failures=self._failures_in_row,
                next_poll=next_poll, poll_duration=self._poll_duration, polls=self._polls,
                failures=self._failures, readings=self._readings,
                implausible=self._plausible.dropped, implausible_series=self._plausible.series,
                identity=self._identity,
            )

    # ------------------------------------------------------------ polling
    def _open(self) -> Source:
        if self._source is None:
            self._source = self._opener()
        return self._source

    async def _close_source(self) -> None:
        src, self._source = self._source, None
        if src is None:
            return
        try:
            await asyncio.wait_for(src.close(), CLOSE_TIMEOUT_S)
        except Exception as e:  # closing is best effort; the poll result already counts
            log.debug("%s: close failed: %s", self.device_id, e)

    async def poll_once(self) -> Batch:
        """Poll now (bounded by ``timeout``), update the state, notify listeners."""
        async with self._io:
            start = self._clock()
            self._last_start = start
            readings: list[Reading] = []
            error: BaseException | None = None
            try:
                source = self._open()
                readings = list(await asyncio.wait_for(source.poll(), self.timeout))
            except TimeoutError:
                error = Unreachable(self.device_id, self.address,
                                    f"no complete answer within {self.timeout:g} s")
            except DeviceError as e:
                error = e
            except Exception as e:
                log.exception("%s: unexpected error while polling", self.device_id)
                error = BadData(self.device_id, self.address, f"unexpected error: {type(e).__name__}: {e}")
            readings = self._plausible.screen(readings)  # no store, view or Control sees 1e308 °C
            end = self._clock()
            if error is not None and classify(error) in STOPPED_STATES:
                await self._close_source()  # reopen later with fresh credentials
            self._record(start, end, readings, error)
            await self._identify_if_due(error)
        batch = Batch(self.device_id, tuple(readings), self.status())
        self._notify(batch)
        return batch

    async def _identify_if_due(self, error: BaseException | None) -> None:
        """Ask the device what it is once per connection (after the first good poll, and after
        the first good poll that follows a failure), bounded by ``timeout``. A failure here
        never marks the device: the identity stays as it was (unknown at first)."""
        if error is not None:
            self._identify_due = True
            return
        identify = getattr(self._source, "identify", None)
        if not self._identify_due or identify is None:
            return
        self._identify_due = False
        try:
            identity = await asyncio.wait_for(identify(), self.timeout)
        except Exception as e:  # noqa: BLE001 - identity is a courtesy, never a device failure
            log.debug("%s: identity not read: %s", self.device_id, e)
            return
        if isinstance(identity, Identity):
            with self._lock:
                self._identity = identity

    def _record(self, start: float, end: float, readings: list[Reading], error: BaseException | None) -> None:
        old = self._state
        with self._lock:
            self._polls += 1
            self._poll_duration = end - start
            if error is None:
                new, message = DeviceState.OK, ""
                self._failures_in_row = 0
                self._last_success_mono = end
                self._last_success = self._wall()
                self._readings += len(readings)
            else:
                new = classify(error)
                message = str(error)
                self._failures_in_row += 1
                self._failures += 1
                self._last_error = message
                self._last_error_ts = self._wall()
            self._state, self._message = new, message
            self._next_due = self._schedule(start, end)
        if new is not old:
            self._transition(old, new, message)

    def _schedule(self, start: float, end: float) -> float | None:
        if self._state in STOPPED_STATES:
            return None
        if self._state is DeviceState.UNREACHABLE:
            return end + self.backoff(self._failures_in_row)
        nxt = start + self.interval  # fixed cadence, no drift ...
        return nxt if nxt > end else end + self.interval  # ... unless the poll overran

    def backoff(self, failures: int) -> float:
        """Delay after ``failures`` unreachable polls in a row: the interval, then doubling
        (interval x 2^(n-1)) up to max_backoff, with +-JITTER."""
        # 2.0 ** n overflows a float past n = 1023 (days of a device off at the cap): clamp n
        base = min(self.interval * 2.0 ** min(max(0, failures - 1), 60), self.max_backoff)
        if failures <= 1:
            return base
        return min(base * (1 + JITTER * (2 * self._rng() - 1)), self.max_backoff)

    def _transition(self, old: DeviceState, new: DeviceState, message: str) -> None:
        if new is DeviceState.OK:
            if old is DeviceState.PENDING:
                log.debug("%s: first poll ok", self.device_id)
                return
            text = f"{self.device_id} recovered (was {old.value})"
            log.info("%s", text)
        else:
            text = f"{self.device_id} {new.value}: {message}"
            if new in STOPPED_STATES:
                text += " — polling stopped until credentials/trust are fixed and it is refreshed"
            log.warning("%s", text)
        record_event(self._events, self._wall(), SEVERITY[new], self.device_id, f"device_{new.value}", text)

    # ------------------------------------------------------------ loop
    def request_refresh(self) -> None:
        """Poll soon: now, or once the cooldown since the last poll has passed. Repeated
        requests coalesce. Also restarts polling after an auth failure. Loop thread only."""
        now = self._clock()
        due = now if self._last_start is None else max(now, self._last_start + self.refresh_cooldown)
        with self._lock:
            if self._next_due is None or due < self._next_due or self._state in STOPPED_STATES:
                self._next_due = due
            self._resume = True
        if self._wake is not None:
            self._wake.set()

    def rearm(self) -> None:
        """Allow ``run`` again after a ``stop()`` (the engine restarting). Loop thread only."""
        self._stopping = False

    def stop(self) -> None:
        """Ask ``run`` to finish after the current poll. Loop thread only."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def _wait(self, delay: float | None) -> None:
        """Sleep ``delay`` (None: forever) or until woken."""
        assert self._wake is not None
        if self._wake.is_set():
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        tasks: set[asyncio.Future[Any]] = {waiter}
        if delay is not None:
            tasks.add(asyncio.ensure_future(self._sleep(delay)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()

    async def run(self) -> None:
        """Poll on schedule until ``stop()``; closes the source on the way out."""
        self._wake = asyncio.Event()
        if self._next_due is None and self._state is DeviceState.PENDING:
            self._next_due = self._clock()
        try:
            while not self._stopping:
                self._wake.clear()
                if self._state in STOPPED_STATES and not self._resume:
                    await self._wait(None)
                    continue
                due = self._next_due if self._next_due is not None else self._clock()
                delay = due - self._clock()
                if delay > 0:
                    await self._wait(delay)
                    continue  # re-evaluate: stopped, rescheduled by a refresh, or due now
                self._resume = False
                await self.poll_once()
        finally:
            await self._close_source()

    async def run_action(self, fn: Callable[[Source], Awaitable[T]]) -> T:
        """Run ``fn(source)`` between polls (never concurrently with one), bounded by
        ``timeout`` like a poll (a hung write would hold the device's polls forever), then refresh."""
        async with self._io:
            source = self._open()
            try:
                return await asyncio.wait_for(fn(source), self.timeout)
            except TimeoutError:
                raise Unreachable(self.device_id, self.address,
                                  f"action: no complete answer within {self.timeout:g} s") from None
            finally:
                self.request_refresh()


def summarize(statuses: Sequence[DeviceStatus]) -> dict[str, int]:
    """Count devices per state (for a one-line site summary)."""
    out: dict[str, int] = {}
    for s in statuses:
        out[s.state.value] = out.get(s.state.value, 0) + 1
    return out
