"""The heat path as a plant: built from any site, bound to the series the devices really report,
and turned into what each element shows (fresh, stale with age, unreachable, abnormal, no sensor)."""
from __future__ import annotations

import itertools

import pytest

from console.live import LiveSite, SeriesState
from console.plant import ABNORMAL, NONE, OK, STALE, UNREACHABLE, build_plant, plant_state, value_text
from console.plant_layout import layout
from console.site import load_site, parse_site
from tests.fakes.sites import device, site_toml
from tests.fakes.views import DemoFeeder, demo_site_model
from tests.support import REPO

EXAMPLE = REPO / "resources" / "sites" / "example.toml"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def minimal_site(tank: str = "{ volume_l = 100 }", consumers: str = '[{ name = "radiators", kind = "space_heating" }]'):
    text = site_toml([device("srv1", "server", "redfish", 1), device("heat1", "heat_meter", "modbus", 2)])
    text = text.replace("tank = { volume_l = 100 }", f"tank = {tank}")
    text = text.replace('consumers = [{ name = "radiators", kind = "space_heating" }]', f"consumers = {consumers}")
    return parse_site(text)


def fed(faults: tuple[str, ...] = (), steps: int = 6, **live_kw):
    live = LiveSite(demo_site_model(), **live_kw)
    feeder = DemoFeeder(live, wall=live_kw.get("wall", __import__("time").time))
    feeder.step(600)
    for f in faults:
        feeder.model.inject(f)
    for _ in range(steps):
        feeder.step(60)
    return live, feeder


def state_of(live: LiveSite):
    plant = build_plant(live.site)
    return plant, plant_state(plant, live.series(), {d.device.id: d.state for d in live.devices()})


def test_demo_plant_has_every_part_bound_to_series_the_demo_reports() -> None:
    live, _ = fed()
    plant, st = state_of(live)
    ids = {e.id for e in plant.elements}
    assert {"server:srv1", "server:srv2", "server:srv3", "loop_supply", "loop_return", "pump", "bypass_valve",
            "dump", "exchanger", "tank", "tank_layer:0", "tank_layer:1", "tank_layer:2", "valve",
            "consumer:0", "consumer:1"} <= ids
    known = {s.key for s in live.series()}
    for el in plant.elements:
        if el.id == "consumer:1":  # hot water: the demo controller has no sensor for it
            assert st.elements[el.id].state == NONE and st.elements[el.id].reason == "no sensor"
            continue
        if el.bindings:
            assert any(k in known for b in el.bindings for k in b.keys), el.id
        assert st.elements[el.id].state == OK, (el.id, st.elements[el.id])
    srv = st.elements["server:srv1"]
    assert any("°C" in line for line in srv.lines) and any("L/min" in line for line in srv.lines)
    assert any(line.startswith("2 GPU") for line in srv.lines)
    assert st.elements["tank_layer:0"].lines[0].startswith("top ") and st.elements["tank_layer:0"].temp is not None
    assert st.pipes["hot"].state == OK and st.pipes["hot"].flow > 0
    assert 0 < st.pipes["server_hot:srv1"].flow < st.pipes["hot"].flow  # a branch carries its own meter's flow
    assert st.pipes["bypass"].flow == 0  # the bypass valve is closed in winter


def test_example_and_minimal_sites_build_and_show_no_sensor_quietly() -> None:
    for site in (load_site(EXAMPLE), minimal_site()):
        plant = build_plant(site)
        st = plant_state(plant, [], {})
        assert {e.id for e in plant.elements} >= {"pump", "exchanger", "tank", "tank_layer:0", "consumer:0"}
        for el in plant.elements:
            es = st.elements[el.id]
            assert es.state == NONE and es.lines == ()
            assert es.reason == ("no sensor" if el.bindings and el.kind != "tank" else "")  # layers say it
        assert all(p.state == "none" and p.flow == 0 for p in st.pipes.values())
    example = build_plant(load_site(EXAMPLE))
    assert example.element("server:gpuhost").kind == "gpu_host"
    minimal = build_plant(minimal_site())
    assert not minimal.has_valve  # a heat meter has no mixing valve to draw
    assert minimal.element("tank_layer:0").bindings == ()


def test_tank_sensors_may_name_channels_or_whole_keys() -> None:
    site = minimal_site(tank='{ volume_l = 200, sensors = ["t_high", "meter2/low", "heat1/tank_x/temperature"] }')
    keys = [b.keys[0] for e in build_plant(site).elements if e.kind == "tank_layer" for b in e.bindings]
    assert keys == ["heat1/t_high/temperature", "meter2/low/temperature", "heat1/tank_x/temperature"]


def test_consumers_are_bound_by_kind_and_name() -> None:
    site = minimal_site(consumers='[{ name = "Pool", kind = "pool" }, { name = "workshop", kind = "process" }]')
    plant = build_plant(site)
    pool = plant.element("consumer:0")
    assert pool.variant == "pool" and "heat1/pool/temperature" in pool.bindings[0].keys
    s = SeriesState("heat1/pool/temperature", "heat1", "pool", "temperature", 27.5, "°C", 0.0, 1.0, "ok")
    st = plant_state(plant, [s], {"heat1": "ok"})
    assert st.elements["consumer:0"].lines == ("27.5 °C",) and st.elements["consumer:0"].state == OK
    assert st.elements["consumer:1"].state == NONE


def test_stale_values_are_greyed_with_their_age() -> None:
    clock, wall = Clock(1000.0), Clock(1.7e9)
    live, _ = fed(clock=clock, wall=wall)
    clock.t += 3 * 60 + 30  # no poll for 3.5 minutes: > 3 poll periods of every device
    wall.t += 3 * 60 + 30
    _, st = state_of(live)
    srv = st.elements["server:srv1"]
    assert srv.state == STALE and srv.reason == "stale · 4 min old"
    assert all(line.endswith("· 4 min old") for line in srv.lines[:3])
    assert st.elements["tank_layer:0"].temp is None  # no confident fill colour
    assert st.pipes["hot"].state == STALE and st.pipes["hot"].flow == 0  # stale flow stops the animation


def test_unreachable_device_is_marked_unreachable() -> None:
    live, _ = fed(("bmc-unreachable",))
    _, st = state_of(live)
    assert st.elements["server:srv3"].state == UNREACHABLE and st.elements["server:srv3"].reason == "unreachable"
    assert st.pipes["server_hot:srv3"].state == UNREACHABLE and st.pipes["server_hot:srv3"].flow == 0
    assert st.elements["server:srv1"].state == OK


def test_pump_failure_shows_a_tripped_pump_and_stops_the_flow() -> None:
    live, _ = fed(("pump-failure",))
    _, st = state_of(live)
    pump = st.elements["pump"]
    assert pump.state == ABNORMAL and pump.reason.split("\n") == ["PUMP TRIPPED", "LOW FLOW"]
    assert all(p.flow == 0 for p in st.pipes.values())


def _s(key: str, value, unit: str = "°C", state: str = "ok", age: float = 1.0) -> SeriesState:
    dev, channel, quantity = key.split("/")
    return SeriesState(key, dev, channel, quantity, value, unit, 0.0, age, state)


def test_over_temperature_and_stuck_valve_stand_out() -> None:
    plant = build_plant(demo_site_model())
    series = [_s("heat1/tank_top/temperature", 80.0), _s("srv1/inlet/temperature", 36.5),
              _s("heat1/supply/temperature", 72.0), _s("heat1/valve_fault/alarm", "active", ""),
              _s("heat1/valve/valve_position", 40.0, "%"), _s("heat1/overtemp/alarm", "active", "")]
    st = plant_state(plant, series, {})
    assert st.elements["tank_layer:0"].state == ABNORMAL and st.elements["tank_layer:0"].reason == "OVER 75 °C"
    assert st.elements["tank"].reason == "TANK OVER 75 °C"
    assert st.elements["server:srv1"].reason == "INLET OVER 35 °C"
    assert st.elements["loop_supply"].reason.split("\n") == ["LOOP OVER 70 °C", "OVER-TEMPERATURE"]
    assert st.elements["valve"].state == ABNORMAL and st.elements["valve"].reason == "VALVE STUCK"


def test_pump_off_while_servers_run_is_abnormal_but_a_stale_alarm_is_not_asserted() -> None:
    plant = build_plant(demo_site_model())
    running = [_s("srv1/chassis/power", 400.0, "W"), _s("heat1/pump/state", "off", "")]
    assert plant_state(plant, running, {}).elements["pump"].reason == "PUMP OFF (servers running)"
    idle = [_s("srv1/chassis/power", 10.0, "W"), _s("heat1/pump/state", "off", "")]
    assert plant_state(plant, idle, {}).elements["pump"].state == OK
    old = [_s("heat1/pump_fault/alarm", "active", "", state="stale", age=600.0)]
    pump = plant_state(plant, old, {}).elements["pump"]
    assert pump.state == STALE and pump.reason == "stale · 10 min old"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (176.02, "W", "176 W"), (2345.0, "W", "2.35 kW"), (32.681, "°C", "32.7 °C"), (2.2887, "L/min", "2.29 L/min"),
    (77.32, "%", "77 %"), ("on", "", "on"), (None, "W", "—"), (float("nan"), "°C", "—")])
def test_values_read_with_units(value, unit: str, text: str) -> None:
    assert value_text(value, unit) == text


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("site", ["demo", "example", "minimal", "big"])
def test_layout_keeps_every_part_apart_and_inside(site: str) -> None:
    if site == "demo":
        s = demo_site_model()
    elif site == "example":
        s = load_site(EXAMPLE)
    elif site == "minimal":
        s = minimal_site()
    else:
        devs = [device(f"srv{i}", "server", "redfish", i) for i in range(1, 9)]
        devs.append(device("heat1", "heat_controller", "modbus", 20))
        text = site_toml(devs).replace('servers = ["srv1"]', "servers = [" + ", ".join(
            f'"srv{i}"' for i in range(1, 9)) + "]").replace(
            "tank = { volume_l = 100 }", 'tank = { volume_l = 900, sensors = ["a", "b", "c", "d", "e", "f"] }'
        ).replace('consumers = [{ name = "radiators", kind = "space_heating" }]', "consumers = [" + ", ".join(
            f'{{ name = "c{i}", kind = "{k}" }}' for i, k in enumerate(["space_heating", "hot_water", "pool",
                                                                       "process"])) + "]")
        s = parse_site(text)
    plant = build_plant(s)
    geo = layout(plant)
    for eid, (x, y, w, h) in geo.rects.items():
        assert 0 <= x and x + w <= geo.width and 0 <= y and y + h <= geo.height, eid
    for pid, pts in geo.pipes.items():
        assert all(0 <= px <= geo.width and 0 <= py <= geo.height for px, py in pts), pid
    boxes = {eid: r for eid, r in geo.rects.items() if plant.element(eid).kind not in ("tank_layer", "tank")}
    for (a, ra), (b, rb) in itertools.combinations(boxes.items(), 2):
        assert not _overlap(ra, rb), (a, b)
    legend = geo.legend
    assert all(not _overlap(r, legend) for r in geo.rects.values())
    assert {e.id for e in plant.elements if e.id not in geo.rects} == set()


def test_a_device_not_polled_yet_is_waiting_not_missing_a_sensor() -> None:
    plant = build_plant(demo_site_model())
    st = plant_state(plant, [], {"heat1": "pending", "srv1": "ok"})
    assert st.elements["pump"].reason == "waiting for data"
    assert st.elements["server:srv1"].reason == "no sensor"
