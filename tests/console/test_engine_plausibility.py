"""Implausible readings are not facts: the guard drops them with one event per series turning
bad and one on recovery; the coordinator hands only plausible readings to the store, the live
subscribers and the freshness of series; end to end into a real Store, rollups stay finite."""
from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from console.engine import Engine
from console.engine.coordinator import STALE_PERIODS
from console.engine.plausibility import PlausibilityGuard
from console.store import Store
from protocols.base import DeviceSpec, Reading
from tests.fakes.engine import FakeEvents, make, reading, watched
from tests.fakes.sites import three_device_site
from tests.support import wait_until


def r(channel: str, value: Any, quantity: str = "temperature", unit: str = "°C", dev: str = "d1") -> Reading:
    return Reading(1000.0, dev, channel, quantity, value, unit)


# ---------------------------------------------------------------- the guard
def test_implausible_values_are_dropped_and_the_rest_kept() -> None:
    g = PlausibilityGuard("d1", FakeEvents())
    poll = [r("inlet", 21.5), r("cpu", 1e308), r("gpu", -2.7e8), r("psu", -500.0, "power", "W"),
            r("chassis", 9.9e300, "power", "W"), r("fan", math.nan, "fan_speed", "RPM"),
            r("tank_top", 3263.9), r("valve", 326.39, "valve_position", "%"),
            r("loop", 3.3895e38, "flow", "L/min"), r("none", None), r("pump", "on", "state", "")]
    kept = g.screen(poll)
    assert [x.channel for x in kept] == ["inlet", "none", "pump"]
    assert g.dropped == 8
    assert g.series == tuple(sorted(x.series_key for x in poll if x.channel not in ("inlet", "none", "pump")))


def test_one_event_when_a_series_turns_implausible_and_one_when_it_recovers() -> None:
    events = FakeEvents()
    g = PlausibilityGuard("d1", events, recover_after=3)
    for _ in range(10):
        g.screen([r("tank_top", 3263.9), r("inlet", 21.0)])
    [(_, severity, dev, kind, message)] = events.events
    assert (severity, dev, kind) == ("warning", "d1", "faulty_data")
    assert "d1/tank_top/temperature" in message and "3263.9 °C" in message and "implausible" in message
    assert g.dropped == 10
    g.screen([r("tank_top", 55.0)])
    g.screen([r("tank_top", 3263.9)])  # flickers: not recovered, no new event
    g.screen([r("tank_top", 55.0)])
    g.screen([r("tank_top", 55.5)])
    assert len(events.events) == 1 and g.series == ("d1/tank_top/temperature",)
    kept = g.screen([r("tank_top", 56.0)])
    assert [k.value for k in kept] == [56.0]  # plausible values were kept all along
    assert [e[1:4] for e in events.events] == [("warning", "d1", "faulty_data"),
                                                ("info", "d1", "faulty_data_cleared")]
    assert "d1/tank_top/temperature reads plausibly again (56 °C) after 11 implausible" in events.events[1][4]
    assert g.series == ()
    g.screen([r("tank_top", 3263.9)])  # a new episode is a new event
    assert len(events.events) == 3


def test_no_reading_neither_counts_as_bad_nor_as_recovery() -> None:
    events = FakeEvents()
    g = PlausibilityGuard("d1", events, recover_after=2)
    g.screen([r("t", 1e308)])
    for _ in range(5):
        assert g.screen([r("t", None)]) == [r("t", None)]
    assert g.series == ("d1/t/temperature",) and g.dropped == 1 and len(events.events) == 1


def test_a_burst_of_bad_series_is_capped_per_poll(caplog: pytest.LogCaptureFixture) -> None:
    events = FakeEvents()
    g = PlausibilityGuard("d1", events, max_events=5)
    g.screen([r(f"s{i}", 1e308) for i in range(40)])
    assert len(events.events) == 6
    assert "35 more series turned implausible" in events.events[-1][4]
    assert len([x for x in caplog.records if x.levelname == "WARNING"]) == 6
    assert len(g.series) == 40


def test_memory_is_bounded_when_a_device_invents_series_names() -> None:
    g = PlausibilityGuard("d1", None, max_tracked=50)
    for i in range(500):
        g.screen([r(f"s{i}", 1e308), r("stuck", 1e308)])
    assert len(g.series) <= 50 and "d1/stuck/temperature" in g.series and g.dropped == 1000


def test_hostile_names_and_values_make_bounded_printable_messages() -> None:
    events = FakeEvents()
    g = PlausibilityGuard("d1", events)

    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    g.screen([r("x\n" * 500, 1e308), r("w", Weird()), r("s", "a" * 10_000, "alarm", "")])
    assert len(events.events) == 3
    for e in events.events:
        assert e[4].isprintable() and len(e[4]) < 500


def test_a_failing_event_sink_does_not_stop_the_screen() -> None:
    class Broken:
        def add_event(self, *a: Any) -> None:
            raise RuntimeError("store closed")

    g = PlausibilityGuard("d1", Broken())
    assert g.screen([r("t", 1e308), r("u", 20.0)]) == [r("u", 20.0)]


# ---------------------------------------------------------------- through the coordinator
def test_the_coordinator_hands_on_only_plausible_readings() -> None:
    bad = reading("d1", "exhaust", 1e308)
    c, clock, _, events = make([[reading("d1", "inlet", 21.5), bad]])
    live = watched(c, clock)
    got: list[Reading] = []
    c.add_listener(lambda b: got.extend(b.readings))

    async def go() -> None:
        for _ in range(STALE_PERIODS + 2):
            await c.poll_once()
            clock.t += c.interval

    asyncio.run(go())
    assert got and all(x.channel == "inlet" for x in got)
    status = c.status()
    assert status.implausible == STALE_PERIODS + 2 and status.implausible_series == (bad.series_key,)
    assert [e[3] for e in events.events] == ["faulty_data"]
    assert live.get(bad.series_key) is None  # never fresh: nothing old to show as stale


def test_a_series_turning_implausible_goes_stale() -> None:
    good, bad = reading("d1", "exhaust", 35.0), reading("d1", "exhaust", 3263.9)
    c, clock, _, _ = make([[good]] + [[bad]] * 10)
    live = watched(c, clock)

    async def go() -> list[bool]:
        out = []
        for _ in range(STALE_PERIODS + 3):
            await c.poll_once()
            s = live.get(good.series_key)
            out.append(s is not None and s.state == "stale")
            clock.t += c.interval
        return out

    seen = asyncio.run(go())
    assert seen[0] is False and seen[-1] is True  # shown stale, never as 3263.9 °C
    s = live.get(good.series_key)
    assert s is not None and s.value == 35.0


# ---------------------------------------------------------------- end to end, real store
class _Garbage:
    """A device answering the values issue 7 found logged as facts, and good ones besides."""

    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self.polls = 0

    async def poll(self) -> list[Reading]:
        self.polls += 1
        ts = 1_700_000_000.0 + self.polls  # all in one minute and one hour bucket
        d = self.spec.id
        if d != "srv1":
            return []
        return [Reading(ts, d, "cpu0", "temperature", 1e308, "°C"),
                Reading(ts, d, "gpu0", "temperature", -2.7e8, "°C"),
                Reading(ts, d, "psu1", "power", -500.0, "W"),
                Reading(ts, d, "chassis", "power", 9.9e300, "W"),
                Reading(ts, d, "tank_top", "temperature", 3263.9, "°C"),
                Reading(ts, d, "valve", "valve_position", 326.39, "%"),
                Reading(ts, d, "loop", "flow", 3.3895e38, "L/min"),
                Reading(ts, d, "inlet", "temperature", 21.0 + self.polls % 3, "°C")]

    async def close(self) -> None:
        pass


def test_end_to_end_rollups_stay_finite_and_the_event_is_stored(tmp_path: Path) -> None:
    site = three_device_site()  # srv1 answers garbage; ups1 and heat1 answer nothing
    store = Store(tmp_path / "p.db", commit_interval=0.02)
    sources: list[_Garbage] = []
    seen: list[Reading] = []

    def factory(spec: DeviceSpec) -> _Garbage:
        sources.append(_Garbage(spec))
        return sources[-1]

    engine = Engine(site, store, source_factory=factory, coordinator_options={"refresh_cooldown": 0})
    engine.subscribe(lambda b: seen.extend(b.readings))
    engine.start()
    try:
        wait_until(lambda: any(s.spec.id == "srv1" and s.polls >= 6 for s in sources), 20, "six polls")
    finally:
        engine.stop()
    store.flush()
    try:
        assert seen and {x.channel for x in seen} == {"inlet"}  # live subscribers
        assert engine.status()["srv1"].implausible >= 6 * 7
        with sqlite3.connect(tmp_path / "p.db") as db:
            for table in ("samples", "rollup_1m", "rollup_1h"):
                cols = "value" if table == "samples" else "sum, min, max"
                for row in db.execute(f"SELECT {cols} FROM {table}"):
                    assert all(v is None or math.isfinite(v) for v in row), (table, row)
            channels = {ch for (ch,) in db.execute("SELECT DISTINCT channel FROM series")}
        assert channels == {"inlet"}
        assert [p.mean for p in store.range("srv1/inlet/temperature", 1_699_999_000, 1_700_004_000, "1h")]
        faulty = [e for e in store.events() if e.kind == "faulty_data"]
        assert len(faulty) == 7  # one per series, not one per poll
        messages = " | ".join(e.message for e in faulty)
        for text in ("srv1/cpu0/temperature: 1e+308 °C", "srv1/gpu0/temperature: -2.7e+08 °C",
                     "srv1/psu1/power: -500 W", "srv1/chassis/power: 9.9e+300 W",
                     "srv1/tank_top/temperature: 3263.9 °C", "srv1/valve/valve_position: 326.39 %",
                     "srv1/loop/flow: 3.3895e+38 L/min"):
            assert text in messages
        assert all(e.device_id == "srv1" and e.severity == "warning" for e in faulty)
    finally:
        store.close()


# ---------------------------------------------------------------- a real Modbus peer
def test_a_modbus_controller_whose_registers_all_read_0x7f7f() -> None:
    """pymodbus serving the heatrack-default map with every measurement register at 0x7F7F
    (a PLC's "no value"): the client decodes 3263.9 °C, 326.39 %, 3.4e38 L/min; none of it
    leaves the coordinator, and each series gets its event."""
    from console.engine.coordinator import Coordinator
    from protocols.modbus.client import ModbusSource
    from protocols.modbus.profile import decode, load_profile
    from protocols.modbus.server import HeatControllerServer

    profile = load_profile("heatrack-default")
    garbage = {p.name: decode(p, [0x7F7F] * p.count) for p in profile.points.values()
               if p.table in ("input", "holding") and p.type != "string" and not p.bits}
    server = HeatControllerServer(profile, lambda: garbage, lambda name, value: None)
    events = FakeEvents()

    async def go() -> tuple[dict[str, list[int]], list[Reading]]:
        port = await server.start()
        src = ModbusSource(DeviceSpec("heat1", "heat_controller", "modbus", f"127.0.0.1:{port}",
                                      profile="heatrack-default", timeout_s=2.0))
        try:
            raw = await src.read_raw()
            c = Coordinator("heat1", src.spec.address, lambda: src, interval=10.0, timeout=5.0, events=events)
            return raw, list((await c.poll_once()).readings)
        finally:
            await src.close()
            await server.stop()

    raw, readings = asyncio.run(go())
    assert raw["tank_top_temp"] == [0x7F7F] and raw["valve_position"] == [0x7F7F]
    assert raw["flow"] == [0x7F7F, 0x7F7F]
    keys = {x.series_key for x in readings}
    for gone in ("heat1/tank_top/temperature", "heat1/valve/valve_position", "heat1/loop/flow",
                 "heat1/supply/temperature", "heat1/loop/thermal_power", "heat1/tank_max/setpoint"):
        assert gone not in keys
    for x in readings:
        assert isinstance(x.value, str) or x.value is None or abs(x.value) < 1e9, x
    messages = " | ".join(e[4] for e in events.events if e[3] == "faulty_data")
    for text in ("heat1/tank_top/temperature: 3263.9 °C", "heat1/valve/valve_position: 326.39 %",
                 "heat1/loop/flow: 3.39615e+38 L/min"):
        assert text in messages
