"""Scripted fake sources, events and a fake clock for the coordinator and engine tests (no sleeps)."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable
from typing import Any

from console.engine.coordinator import Coordinator
from console.live import LiveSite
from console.site import parse_site
from protocols.base import DeviceSpec, Reading, Unreachable

ADDR = "127.0.0.1:1"


class FakeClock:
    """Monotonic clock whose sleep advances time instantly and records the delay."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1.7e9 + self.t

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.t += delay
        await asyncio.sleep(0)


class ManualClock(FakeClock):
    """Sleeps block until the test advances time past their deadline."""

    def __init__(self, t: float = 1000.0) -> None:
        super().__init__(t)
        self._tick: asyncio.Event | None = None

    def advance(self, dt: float) -> None:
        self.t += dt
        if self._tick is not None:
            self._tick.set()

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        deadline = self.t + delay
        while self.t < deadline:
            self._tick = self._tick or asyncio.Event()
            self._tick.clear()
            await self._tick.wait()


def reading(dev: str, channel: str, value: float | None = 20.0, quantity: str = "temperature") -> Reading:
    return Reading(0.0, dev, channel, quantity, value, "°C")


Outcome = list[Reading] | BaseException


class FakeSource:
    """Returns (or raises) the scripted outcomes in turn; the last one repeats."""

    def __init__(self, spec: DeviceSpec, script: Iterable[Outcome]) -> None:
        self.spec = spec
        self.script = list(script)
        self.polls = 0
        self.closed = False

    async def poll(self) -> list[Reading]:
        out = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        await asyncio.sleep(0)
        if isinstance(out, BaseException):
            raise out
        return list(out)

    async def close(self) -> None:
        self.closed = True


class FakeEvents:
    def __init__(self) -> None:
        self.events: list[tuple[float, str, str, str, str]] = []

    def add_event(self, ts: float, severity: str, device_id: str, kind: str,
                  message: str) -> concurrent.futures.Future[int]:
        self.events.append((ts, severity, device_id, kind, message))
        f: concurrent.futures.Future[int] = concurrent.futures.Future()
        f.set_result(len(self.events))
        return f


def make(script: Iterable[Outcome], *, interval: float = 10.0, rng: float = 0.5,
         **kw: Any) -> tuple[Coordinator, FakeClock, list[FakeSource], FakeEvents]:
    clock = FakeClock()
    sources: list[FakeSource] = []
    events = FakeEvents()
    script = list(script)

    def opener() -> FakeSource:
        sources.append(FakeSource(DeviceSpec("d1", "server", "redfish", ADDR), script))
        return sources[-1]

    c = Coordinator("d1", ADDR, opener, interval=interval, timeout=kw.pop("timeout", 3.0),
                    events=events, clock=clock, wall=clock.wall, sleep=clock.sleep,
                    rng=lambda: rng, **kw)
    return c, clock, sources, events


def unreachable(what: str = "connection refused") -> Unreachable:
    return Unreachable("d1", ADDR, what)


def watched(c: Coordinator, clock: FakeClock) -> LiveSite:
    """A live model of one device ``d1`` polled every ``c.interval`` s, fed by ``c`` on the
    same fake clock: where series staleness is decided (the coordinator does not track it)."""
    from tests.fakes.sites import site_toml

    text = site_toml([f'[[devices]]\nid = "d1"\nkind = "server"\nprotocol = "redfish"\n'
                      f'address = "{ADDR}"\npoll_interval = "{c.interval:g}s"\n',
                      '[[devices]]\nid = "heat1"\nkind = "heat_controller"\nprotocol = "modbus"\n'
                      'address = "127.0.0.1:1502"\n'])
    site = parse_site(text.replace('servers = ["srv1"]', 'servers = ["d1"]'), "<d1>")
    live = LiveSite(site, clock=clock, wall=clock.wall)
    c.add_listener(live.on_batch)
    return live
