"""The home user's summary (console/home.py): the sums and the words, on the demo site fed
through the real clients, with hand-computed savings."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from console.engine.coordinator import Batch, DeviceState, DeviceStatus
from console.home import (
    ALARM_MESSAGES,
    LEVEL_ATTENTION,
    LEVEL_FAULT,
    LEVEL_OK,
    PeriodEnergy,
    age_words,
    co2_avoided_kg,
    displaced_cost,
    energy_keys,
    money,
    period_energy,
    period_line,
    savings_words,
    season_start,
    summarize,
    today_start,
)
from console.integral import Integral
from console.live import LiveSite
from console.site import Tariffs
from protocols.base import Reading
from tests.fakes.views import DemoFeeder, demo_site_model

GBP_GAS = Tariffs(currency="GBP", electricity_price_per_kwh=0.245, displaced_fuel="gas", fuel_price_per_kwh=0.063,
                  displaced_efficiency=0.85, co2_grid_kg_per_kwh=0.207, co2_fuel_kg_per_kwh=0.183)


class Clock:
    """Monotonic and wall clocks that move only when told."""

    def __init__(self) -> None:
        self.t = 1000.0

    def mono(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1.7e9 + self.t


def fed(*faults: str, minutes: int = 10) -> tuple[LiveSite, DemoFeeder, Clock]:
    clock = Clock()
    live = LiveSite(demo_site_model(), clock=clock.mono, wall=clock.wall)
    feeder = DemoFeeder(live, wall=clock.wall)
    feeder.step(3600)
    for f in faults:
        feeder.model.inject(f)
    for _ in range(minutes):
        clock.t += 5
        feeder.step(60)
    return live, feeder, clock


def push(live: LiveSite, clock: Clock, device: str, channel: str, quantity: str, value: float | str,
         unit: str) -> None:
    now = clock.wall()
    live.on_batch(Batch(device, (Reading(now, device, channel, quantity, value, unit),),
                        DeviceStatus(device, "127.0.0.1:1", DeviceState.OK, last_success=now)))


# ---------------------------------------------------------------- money and words
def test_savings_hand_computed() -> None:
    # 31 kWh of heat instead of a gas boiler at 85 %: 31 / 0.85 = 36.47 kWh of gas
    assert displaced_cost(31.0, GBP_GAS) == pytest.approx(31 / 0.85 * 0.063)  # £2.2976
    assert co2_avoided_kg(31.0, GBP_GAS) == pytest.approx(31 / 0.85 * 0.183)  # 6.674 kg
    assert savings_words(31.0, GBP_GAS) == "about £2.30 of gas not burned"
    p = PeriodEnergy("today", 0, 1, 31.0, 40.0)
    assert period_line(p, GBP_GAS) == "Today: 31.0 kWh of heat, about £2.30 of gas not burned"
    heat_pump = GBP_GAS.model_copy(update={"displaced_fuel": "heat_pump", "displaced_efficiency": 2.8,
                                           "fuel_price_per_kwh": 0.28, "currency": "EUR"})
    # 1,400 kWh from a heat pump with SPF 2.8: 500 kWh of electricity at €0.28; over 100, whole units
    assert savings_words(1400.0, heat_pump) == "about €140 of heat-pump electricity not bought"


def test_money_and_ages_as_a_person_writes_them() -> None:
    assert money(2.8, "GBP") == "£2.80" and money(140.4, "EUR") == "€140" and money(2.8, "czk") == "CZK 2.80"
    assert money(1234.5, "USD") == "$1,234"
    assert [age_words(s) for s in (0, 12, 300, 7200, 3 * 86400)] == ["0 s", "12 s", "5 min", "2 h", "3 days"]


def test_periods_start_at_local_midnight_and_on_1_september() -> None:
    london = ZoneInfo("Europe/London")
    now = dt.datetime(2026, 11, 30, 7, 30, tzinfo=london).timestamp()
    assert dt.datetime.fromtimestamp(today_start(now, london), london) == dt.datetime(2026, 11, 30, tzinfo=london)
    assert dt.datetime.fromtimestamp(season_start(now, london), london) == dt.datetime(2026, 9, 1, tzinfo=london)
    spring = dt.datetime(2026, 3, 1, 0, 30, tzinfo=london).timestamp()
    assert dt.datetime.fromtimestamp(season_start(spring, london), london) == dt.datetime(2025, 9, 1, tzinfo=london)


def test_period_energy_is_loop_heat_minus_dump_and_none_without_data() -> None:
    def integral(key: str, kwh: float, samples: int = 100) -> Integral:
        return Integral(key, kwh, 3600.0, samples, "raw")

    totals = {"h/loop/thermal_power": integral("h/loop/thermal_power", 30.0),
              "h/dump/thermal_power": integral("h/dump/thermal_power", 4.5),
              "s1/chassis/power": integral("s1/chassis/power", 20.0),
              "s2/chassis/power": integral("s2/chassis/power", 22.0)}
    p = period_energy("today", 0, 3600, totals, ["h/loop/thermal_power"], ["h/dump/thermal_power"],
                      ["s1/chassis/power", "s2/chassis/power"])
    assert (p.heat_kwh, p.electricity_kwh, p.covered_s) == (25.5, 42.0, 3600.0)
    empty = {k: integral(k, 0.0, samples=0) for k in totals}
    p = period_energy("today", 0, 3600, empty, ["h/loop/thermal_power"], [], ["s1/chassis/power"])
    assert p.heat_kwh is None and p.electricity_kwh is None


def test_energy_keys_of_the_demo_site() -> None:
    live, _, _ = fed()
    heat, dump, elec = energy_keys(live.site, live.series())
    assert heat == ["heat1/loop/thermal_power"] and dump == ["heat1/dump/thermal_power"]
    assert elec == ["srv1/chassis/power", "srv2/chassis/power", "srv3/chassis/power"]


# ---------------------------------------------------------------- the summary
def test_running_normally_in_words() -> None:
    live, _, _ = fed()
    s = summarize(live.site, live, [PeriodEnergy("today", 0, 1, 31.0, 40.0)])
    compute = sum(float(x.value) for x in live.series() if x.key.endswith("chassis/power"))  # type: ignore[arg-type]
    tank = live.get("heat1/tank_top/temperature").value  # type: ignore[union-attr]
    assert s.level == LEVEL_OK and s.needs_you == "" and not s.concerns
    assert s.headline == f"Running normally · {compute:.0f} W of compute warming the tank · tank {tank:.0f} °C"
    tiles = {t.name: t for t in s.tiles}
    assert tiles["compute"].value == f"{compute:.0f}" and tiles["compute"].detail == "3 of 3 servers running"
    assert tiles["today"].value == "31.0" and tiles["today"].detail == (
        "about €3.79 of gas not burned · 6.9 kg of CO₂ avoided")  # 31/.9*.11, 31/.9*.2
    assert tiles["season"].value == "—" and tiles["room"].detail.startswith("comfortable")
    assert (s.reporting, s.devices) == (7, 7)


def test_pump_failure_is_one_clear_line() -> None:
    live, _, _ = fed("pump-failure")
    s = summarize(live.site, live)
    assert s.level == LEVEL_FAULT
    assert s.needs_you == ("The heating pump has stopped — the servers are slowing down to stay safe. "
                           "Call your installer.")
    assert [c.kind for c in s.concerns] == ["pump_fault", "low_flow"]
    assert "no heat reaching the water" in s.headline
    heat = next(t for t in s.tiles if t.name == "heat")
    assert heat.level == LEVEL_FAULT and heat.detail.startswith("water not flowing")


@pytest.mark.parametrize(("fault", "level", "needle"), [
    ("ups-on-battery", LEVEL_FAULT, "The mains power is off — the servers are running on the backup battery ("),
    ("outlet-tripped", LEVEL_ATTENTION, "Server Render node 2 has no power"),
])
def test_power_troubles_in_words(fault: str, level: str, needle: str) -> None:
    live, _, _ = fed(fault)
    s = summarize(live.site, live)
    assert s.level == level and s.needs_you.startswith(needle), s.needs_you


@pytest.mark.parametrize(("kind", "level"), [("valve_fault", LEVEL_ATTENTION), ("sensor_fault", LEVEL_ATTENTION),
                                             ("overtemp", LEVEL_FAULT)])
def test_each_controller_alarm_has_its_sentence(kind: str, level: str) -> None:
    live, _, clock = fed()
    push(live, clock, "heat1", kind, "alarm", "active", "")
    s = summarize(live.site, live)
    assert (s.level, s.needs_you) == (level, ALARM_MESSAGES[kind])


def test_a_silent_heat_controller_is_named_with_its_age() -> None:
    live, _, clock = fed()
    clock.t += 300  # five minutes without a poll of heat1; every other device answers again
    now = clock.wall()
    for dev in live.site.devices:
        if dev.id != "heat1":
            again = tuple(Reading(now, s.device_id, s.channel, s.quantity, s.value, s.unit)
                          for s in live.series(dev.id))
            live.on_batch(Batch(dev.id, again, DeviceStatus(dev.id, "127.0.0.1:1", DeviceState.OK, last_success=now)))
    s = summarize(live.site, live)
    assert s.needs_you == "No news from the heat controller for 5 min — check it is switched on and connected."
    tank = next(t for t in s.tiles if t.name == "tank")
    assert tank.stale and tank.detail == "last heard 5 min ago"
    assert "°C" not in s.headline  # no confident old tank figure
    assert (s.reporting, s.devices) == (6, 7)


def test_a_silent_site_is_one_line() -> None:
    live, _, clock = fed()
    clock.t += 300
    s = summarize(live.site, live)
    assert s.headline == "No news from the site" and s.reporting == 0
    assert [c.text for c in s.concerns] == [
        "No news from any device for 5 min — check that the network and the servers are on."]
    compute = next(t for t in s.tiles if t.name == "compute")
    assert compute.stale and compute.detail == "last heard 5 min ago"


def test_an_unreachable_device_and_its_missing_power() -> None:
    live, _, _ = fed("bmc-unreachable")
    s = summarize(live.site, live)
    assert s.needs_you.startswith("No news from server Training node for under a minute")
    compute = next(t for t in s.tiles if t.name == "compute")
    assert compute.detail == "2 of 3 servers running · 1 not reporting" and compute.level == LEVEL_ATTENTION


@pytest.mark.parametrize(("channel", "value", "kind"), [
    ("room", 17.0, "room_cold"), ("room", 26.0, "room_warm"),
    ("tank_top", 80.0, "tank_hot"), ("supply", 72.0, "loop_hot"),
])
def test_limits_and_comfort(channel: str, value: float, kind: str) -> None:
    live, _, clock = fed()
    push(live, clock, "heat1", channel, "temperature", value, "°C")
    s = summarize(live.site, live)
    assert s.concerns[0].kind == kind
    text = s.concerns[0].text
    assert f"{value:.0f} °C" in text
    if kind == "room_cold":
        assert text == "The room is 17 °C, below your comfort band (19–24 °C)."
        assert next(t for t in s.tiles if t.name == "room").detail.startswith("a bit cool")


def test_an_unknown_controller_alarm_is_still_said() -> None:
    live, _, clock = fed()
    push(live, clock, "heat1", "frost", "alarm", "active", "")
    s = summarize(live.site, live)
    assert s.needs_you == "The heat controller reports a problem (frost). Call your installer."


def test_every_alarm_message_is_one_plain_sentence_or_two() -> None:
    for kind, text in ALARM_MESSAGES.items():
        assert "\n" not in text and text[0].isupper() or text.startswith("{") or text.startswith("heatrack"), kind
        assert not any(w in text for w in ("thermal_power", "Modbus", "SNMP", "_")), kind


def test_an_unacknowledged_alarm_event_of_another_kind_is_said() -> None:
    from console.recorder import RecordedEvent

    live, _, clock = fed()
    live.on_event(RecordedEvent(7, clock.wall(), "critical", "ups1", "battery_replace", "Battery needs replacing"))
    live.on_event(RecordedEvent(8, clock.wall(), "alarm", "srv1", "device_unreachable", "srv1 unreachable"))
    s = summarize(live.site, live)
    # the device event is history once the device answers again; the other one is said, once
    assert [c.text for c in s.concerns] == ["The UPS raised an alarm: Battery needs replacing. "
                                            "Call your installer if you are unsure."]
    assert s.level == LEVEL_FAULT


def test_a_site_that_has_not_reported_yet_says_so_plainly() -> None:
    from console.site import load_site
    from tests.support import REPO

    site = load_site(REPO / "resources" / "sites" / "example.toml")
    live = LiveSite(site)
    s = summarize(site, live)
    assert (s.level, s.headline, s.needs_you, s.reporting) == (LEVEL_OK, "Waiting for the servers to report", "", 0)
    assert {t.name: (t.value, t.detail) for t in s.tiles} == {
        "compute": ("—", "no server has reported yet"), "heat": ("—", "no heat meter reading yet"),
        "tank": ("—", "no tank reading yet"), "room": ("—", "no room reading yet"),
        "today": ("—", "not counted yet"), "season": ("—", "not counted yet")}
    assert energy_keys(site, live.series()) == ([], [], [])
