"""The live site model: values, ages and states decided in one place, plain-callback
subscriptions, active events. Qt-free; the clock is injected, nothing sleeps."""
from __future__ import annotations

from typing import Any

from console.engine.coordinator import STALE_PERIODS, Batch, DeviceState, DeviceStatus
from console.live import LiveSite
from console.recorder import RecordedEvent
from console.site import load_site
from protocols.base import Reading
from tests.support import REPO

SITE = load_site(REPO / "resources" / "sites" / "example.toml")
WALL = 1_767_225_600.0


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def ok(dev: str) -> DeviceStatus:
    return DeviceStatus(dev, "addr", DeviceState.OK, last_success=WALL)


def model() -> tuple[LiveSite, Clock, Clock]:
    mono, wall = Clock(), Clock(WALL)
    return LiveSite(SITE, clock=mono, wall=wall), mono, wall


def test_series_state_ok_then_stale_then_the_devices_failure() -> None:
    live, mono, wall = model()
    interval = SITE.device("srv1").poll_interval
    live.on_batch(Batch("srv1", (Reading(WALL, "srv1", "inlet", "temperature", 22.0, "°C"),), ok("srv1")))
    wall.t += 4
    (s,) = live.series("srv1")
    assert (s.key, s.value, s.unit, s.state, s.age, s.live) == ("srv1/inlet/temperature", 22.0, "°C", "ok", 4, True)
    mono.t += STALE_PERIODS * interval  # exactly at the limit: still ok
    assert live.get("srv1/inlet/temperature").state == "ok"
    mono.t += 0.001
    assert live.get("srv1/inlet/temperature").state == "stale"
    # the device stops answering: its series say why, not just "stale"
    live.on_batch(Batch("srv1", (), DeviceStatus("srv1", "addr", DeviceState.UNREACHABLE, message="timeout")))
    s = live.get("srv1/inlet/temperature")
    assert s is not None and s.state == "unreachable" and not s.live and s.value == 22.0
    assert live.device("srv1").state == "unreachable" and live.device("srv1").device.name
    assert live.reporting() == 0


def test_seeded_values_are_stale_until_polled_and_no_value_is_not_ok() -> None:
    live, _, _ = model()
    live.seed([Reading(WALL - 600, "srv1", "inlet", "temperature", 20.0, "°C")])
    assert live.get("srv1/inlet/temperature").state == "stale"
    assert live.device("srv1").state == "pending"
    live.on_batch(Batch("srv1", (Reading(WALL, "srv1", "inlet", "temperature", None, "°C"),), ok("srv1")))
    assert live.get("srv1/inlet/temperature").state == "no_value"
    assert live.latest("srv1/inlet/temperature").value is None


def test_subscribers_get_plain_callbacks_and_a_broken_one_does_not_stop_the_others() -> None:
    live, _, _ = model()
    got: list[Any] = []

    def broken(change: Any) -> None:
        raise RuntimeError("view bug")

    live.subscribe(broken)
    unsubscribe = live.subscribe(got.append)
    r = Reading(WALL, "ups1", "battery", "charge", 100.0, "%")
    live.on_batch(Batch("ups1", (r,), ok("ups1")))
    assert [(c.device_id, c.readings) for c in got] == [("ups1", (r,))]
    unsubscribe()
    live.on_batch(Batch("ups1", (r,), ok("ups1")))
    assert len(got) == 1


def test_active_events_are_unacked_warnings_and_worse() -> None:
    live, _, _ = model()
    live.on_event(RecordedEvent(1, WALL, "info", "srv1", "device_ok", "srv1 recovered"))
    live.on_event(RecordedEvent(2, WALL, "alarm", "ups1", "device_unreachable", "ups1 unreachable"))
    live.on_event(RecordedEvent(3, WALL + 1, "warning", "heat1", "faulty_data", "heat1 implausible"))
    assert [e.id for e in live.active_events()] == [3, 2]
    live.acknowledged(2)
    assert [e.id for e in live.active_events()] == [3]


def test_active_events_are_bounded_and_the_oldest_go_first() -> None:
    from console.live import MAX_ACTIVE

    live, _, _ = model()
    for i in range(1, MAX_ACTIVE + 51):
        live.on_event(RecordedEvent(i, WALL + i, "alarm", "ups1", "device_unreachable", "flap"))
    ids = [e.id for e in live.active_events()]
    assert len(ids) == MAX_ACTIVE and min(ids) == 51 and ids[0] == MAX_ACTIVE + 50
