"""The demo site's physics: energy balance, faults, control writes, determinism, ranges."""
from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path

import pytest

from console.demo import FAULTS, DemoConfig, DemoSite
from console.demo.compute import THR_HW_SLOW, THR_SW_POWER, THR_SW_THERMAL
from console.demo.model import HEAT_WRITABLE, default_servers
from console.demo.readout import SiteReadout
from console.demo.workload import WorkloadSpec
from protocols.base import QUANTITY_UNITS, Reading

HOUR = 3600
DAY = 86400
POINTS = {
    "supply_temp", "return_temp", "tank_top_temp", "tank_mid_temp", "tank_bottom_temp",
    "outdoor_temp", "room_temp", "flow", "thermal_power", "thermal_energy", "dump_power",
    "valve_position", "valve_setpoint", "bypass_position", "bypass_command", "pump_on",
    "supply_setpoint", "tank_max_temp", "pump_fault", "overtemp", "low_flow", "sensor_fault",
    "valve_fault",
}
PROFILE = Path(__file__).resolve().parents[2] / "resources/profiles/heat/heatrack-default.toml"


def full_load_config(**kw) -> DemoConfig:
    """Every server and GPU busy all the time: faults show their effect fast."""
    busy = WorkloadSpec(base_util=1.0, diurnal_util=0.0, jobs_per_h=0.01, jitter=0.0)
    servers = tuple(dataclasses.replace(s, workload=busy) for s in default_servers())
    return DemoConfig(servers=servers, **kw)


def run(site: DemoSite, seconds: float, dt: float = 60.0) -> None:
    for _ in range(int(seconds / dt)):
        site.step(dt)


@pytest.fixture(scope="module")
def week() -> list[dict]:
    """Views sampled every 10 simulated minutes over a week (shared by range tests)."""
    site = DemoSite(seed=3)
    out = []
    for _ in range(7 * 144):
        run(site, 600)
        out.append(site.views())
    return out


# ------------------------------------------------------------------ energy
def test_energy_balance_over_a_day_closes_within_one_percent() -> None:
    site = DemoSite(seed=5)
    run(site, DAY)
    b = site.energy_balance()
    assert b["it_kwh"] > 5.0  # a real day of load, not an idle model
    assert b["loop_kwh"] > 0.2 * b["it_kwh"] and b["room_kwh"] > 0.1 * b["it_kwh"]
    heat = b["loop_kwh"] + b["room_kwh"]
    assert abs(b["it_kwh"] - heat) / b["it_kwh"] < 0.01
    # with the heat held in the servers' coolant the books close to rounding
    assert abs(b["it_kwh"] - heat - b["stored_kwh"]) < 1e-6 * b["it_kwh"]


def test_counters_integrate_consistently() -> None:
    site = DemoSite(seed=2)
    run(site, 6 * HOUR)
    v = site.views()
    pdu = v["pdu1"]
    for srv in site.config.servers:
        sv = v[srv.id]
        outlet = pdu.outlets[srv.outlet - 1]
        assert outlet.energy_kwh == pytest.approx(sv.energy_kwh, rel=1e-9)
        assert sum(p.energy_kwh for p in sv.psus) == pytest.approx(sv.energy_kwh, rel=1e-9)
        assert sv.chassis_power_w == pytest.approx(sum(p.input_w for p in sv.psus))
        for g in sv.gpus:  # about 6 h of at least idle power, at most the limit
            assert 6 * HOUR * 0.5 * 30 < g.energy_j < 6 * HOUR * g.power_limit_max_w
    assert pdu.energy_kwh == pytest.approx(sum(o.energy_kwh for o in pdu.outlets))
    assert v["heat1"].points["thermal_energy"] == pytest.approx(site.energy_balance()["loop_kwh"])
    assert pdu.power_w == pytest.approx(sum(v[s.id].chassis_power_w for s in site.config.servers))


def test_heat_plant_books_close() -> None:
    """Loop heat = tank charge + dump; tank change = charge - radiators - hot water - losses."""
    site = DemoSite(seed=6)
    pl = site.plant
    tank0 = pl.tank_energy_j()
    loop0, charge0, dump0 = pl.thermal_energy_j, pl.charge_energy_j, pl.dump_energy_j
    used0 = pl.rad_energy_j + pl.dhw_energy_j + pl.tank_loss_j
    site.heat_write("heat1", "bypass_command", 30)  # make the dump carry some of it
    run(site, DAY)
    loop = pl.thermal_energy_j - loop0
    charge, dump = pl.charge_energy_j - charge0, pl.dump_energy_j - dump0
    assert dump > 0.05 * loop and charge > 0.05 * loop
    assert charge + dump == pytest.approx(loop, rel=1e-9)
    used = pl.rad_energy_j + pl.dhw_energy_j + pl.tank_loss_j - used0
    assert pl.dhw_energy_j > 0 and pl.tank_loss_j > 0
    assert pl.tank_energy_j() - tank0 == pytest.approx(charge - used, rel=1e-6, abs=1e3)


def test_demo_site_implements_demo_control() -> None:
    import inspect

    from protocols.demo_views import DemoControl
    site = DemoSite()
    methods = [(n, f) for n, f in inspect.getmembers(DemoControl, inspect.isfunction)
               if not n.startswith("_")]
    assert len(methods) == 5
    for name, fn in methods:
        assert list(inspect.signature(getattr(site, name)).parameters) == \
            list(inspect.signature(fn).parameters)[1:], name


def test_thermal_power_is_flow_times_delta_t() -> None:
    site = DemoSite(seed=4)
    run(site, 3 * HOUR)
    p = site.heat_view().points
    q = p["flow"] / 60.0 * 0.99 * 4180.0 * (site.plant.t_hot - site.plant.t_ret)
    assert p["thermal_power"] == pytest.approx(q, rel=1e-6)


# ------------------------------------------------------------------ time and determinism
def test_same_seed_same_history_other_seed_differs() -> None:
    a, b, c = DemoSite(seed=7), DemoSite(seed=7), DemoSite(seed=8)
    for s in (a, b, c):
        run(s, 12 * HOUR)
    assert a.views() == b.views()
    assert a.views() != c.views()


def test_large_steps_are_substepped_and_agree_with_small_ones() -> None:
    coarse, fine = DemoSite(seed=9), DemoSite(seed=9)
    run(coarse, DAY, dt=600)  # ten 60 s sub-steps each
    run(fine, DAY, dt=15)
    assert coarse.t == pytest.approx(fine.t)
    bc, bf = coarse.energy_balance(), fine.energy_balance()
    assert bc["it_kwh"] == pytest.approx(bf["it_kwh"], rel=0.03)
    assert bc["loop_kwh"] == pytest.approx(bf["loop_kwh"], rel=0.05)
    assert abs(coarse.plant.t_top - fine.plant.t_top) < 3.0
    with pytest.raises(ValueError):
        coarse.step(0)
    with pytest.raises(ValueError):
        coarse.step(float("nan"))


def test_now_is_start_plus_simulated_time() -> None:
    site = DemoSite()
    t0 = site.now
    site.step(120)
    assert site.now - t0 == pytest.approx(120)
    assert all(r.ts == site.now for r in SiteReadout(site).read())


# ------------------------------------------------------------------ faults
def test_fault_names_are_exactly_the_documented_ones() -> None:
    assert set(FAULTS) == {"pump-failure", "valve-stuck", "tank-sensor-stuck", "bmc-unreachable",
                           "ups-on-battery", "outlet-tripped", "no-heat-demand"}
    site = DemoSite()
    with pytest.raises(ValueError):
        site.inject("meteor-strike")
    site.inject("valve-stuck")
    assert site.active_faults == {"valve-stuck"}
    site.clear("valve-stuck")
    assert not site.active_faults


def test_pump_failure_stops_flow_heats_servers_and_throttles_gpus() -> None:
    site = DemoSite(full_load_config(), seed=1)
    run(site, 2 * HOUR)
    before = site.server_view("srv1")
    assert before.coolant_flow_lpm > 0 and not site.heat_view().points["pump_fault"]
    site.inject("pump-failure")
    run(site, 2 * HOUR)
    after = site.server_view("srv1")
    p = site.heat_view().points
    assert p["flow"] == 0 and after.coolant_flow_lpm == 0
    assert p["pump_fault"] and p["low_flow"]
    assert after.coolant_return_c > before.coolant_return_c + 15
    assert max(g.temperature_c for g in after.gpus) > max(g.temperature_c for g in before.gpus)
    assert all(g.throttle_reasons & (THR_SW_THERMAL | THR_HW_SLOW) for g in after.gpus)
    assert after.chassis_power_w < 0.8 * before.chassis_power_w  # throttled
    assert after.fans_rpm[0] > before.fans_rpm[0]
    assert p["supply_temp"] > site.plant.t_ret  # the stagnant hot line warms up
    site.clear("pump-failure")
    run(site, HOUR)
    assert site.heat_view().points["flow"] > 0 and not site.heat_view().points["pump_fault"]


def test_tank_sensor_stuck_keeps_reporting_while_truth_moves() -> None:
    site = DemoSite(full_load_config(), seed=1)
    site.inject("no-heat-demand")  # nothing draws: the true tank temperature climbs
    run(site, HOUR)
    site.inject("tank-sensor-stuck")
    site.step(60)
    stuck = site.heat_view().points["tank_top_temp"]
    true0 = site.plant.t_top
    run(site, 10 * 60)
    assert not site.heat_view().points["sensor_fault"]  # not noticed yet
    run(site, 2 * HOUR)
    p = site.heat_view().points
    assert p["tank_top_temp"] == stuck
    assert abs(site.plant.t_top - true0) > 1.0
    assert p["sensor_fault"]
    logged = [r.value for r in SiteReadout(site).read() if r.series_key == "heat1/tank_top/temperature"]
    assert logged == [pytest.approx(stuck, abs=0.051)]  # as the 0.1 °C register reports it
    site.clear("tank-sensor-stuck")
    site.step(60)
    assert abs(site.heat_view().points["tank_top_temp"] - site.plant.t_top) < 0.2


def test_bmc_unreachable_hides_the_server_but_it_keeps_running() -> None:
    site = DemoSite(seed=1)
    run(site, HOUR)
    site.inject("bmc-unreachable")
    run(site, HOUR)
    target = site.config.fault_server
    v = site.server_view(target)
    assert not v.reachable and v.powered and v.chassis_power_w > 50
    assert not any(r.device_id == target for r in SiteReadout(site).read())
    assert all(site.server_view(s.id).reachable for s in site.config.servers if s.id != target)


def test_outlet_tripped_removes_power_and_heat() -> None:
    site = DemoSite(full_load_config(), seed=1)
    run(site, HOUR)
    n = site.config.fault_outlet
    srv = next(s.id for s in site.config.servers if s.outlet == n)
    e0 = site.server_view(srv).energy_kwh
    site.inject("outlet-tripped")
    run(site, HOUR)
    v = site.server_view(srv)
    o = site.pdu_view().outlets[n - 1]
    assert not v.powered and v.reachable and v.chassis_power_w == 0
    assert all(g.power_w == 0 for g in v.gpus) and v.energy_kwh == pytest.approx(e0, abs=0.05)
    assert not o.on and o.power_w == 0 and o.current_a == 0
    assert v.coolant_return_c < v.coolant_supply_c + 0.5  # no heat from it any more
    site.clear("outlet-tripped")
    run(site, 600)
    assert site.server_view(srv).powered and site.pdu_view().outlets[n - 1].on


def test_ups_on_battery_discharges_by_load_and_recharges() -> None:
    site = DemoSite(full_load_config(), seed=1)
    run(site, HOUR)
    site.inject("ups-on-battery")
    run(site, 120)
    u1 = site.ups_view()
    assert u1.on_battery and "OnBattery" in u1.alarms and u1.input_voltage_v == 0
    assert u1.seconds_on_battery == pytest.approx(120, abs=1)
    assert u1.battery_charge_pct < 100
    run(site, 120)
    u2 = site.ups_view()
    drop_per_s = (u1.battery_charge_pct - u2.battery_charge_pct) / 120
    assert drop_per_s > 0
    # runtime agrees with the discharge rate within the high-load derating
    assert u2.runtime_s == pytest.approx(u2.battery_charge_pct / drop_per_s, rel=0.35)
    assert u2.output_power_w == pytest.approx(site.pdu_view().power_w, rel=0.1)
    # light load lasts longer
    light = DemoSite(seed=1)
    light.inject("ups-on-battery")
    run(light, 120)
    assert light.ups_view().runtime_s > u2.runtime_s
    # run it flat: the output goes off and the servers lose power
    run(site, 3 * HOUR)
    u3 = site.ups_view()
    assert u3.battery_charge_pct == 0 and u3.low_battery and "UpsOutputOff" in u3.alarms
    assert not site.server_view("srv1").powered and site.pdu_view().power_w == 0
    site.clear("ups-on-battery")
    run(site, HOUR)
    u4 = site.ups_view()
    assert not u4.on_battery and u4.seconds_on_battery == 0 and 0 < u4.battery_charge_pct < 100
    assert site.server_view("srv1").powered


def test_no_heat_demand_fills_the_tank_and_opens_the_dump_at_the_limit() -> None:
    site = DemoSite(full_load_config(), seed=1)
    site.heat_write("heat1", "tank_max_temp", 50.0)
    site.inject("no-heat-demand")
    tops, opened_at = [], None
    for _ in range(24 * 12):
        run(site, 300)
        p = site.heat_view().points
        tops.append(site.plant.t_top)
        if opened_at is None and p["bypass_position"] > 20:
            opened_at = p["tank_top_temp"]
    p = site.heat_view().points
    assert p["valve_position"] == 0 and site.plant.q_rad == 0 and site.plant.q_dhw == 0
    assert opened_at is not None and opened_at > 47.0  # it opened near the limit
    assert p["dump_power"] > 500 and p["bypass_position"] > 20
    assert max(tops) < 50.0 + 4.0  # and held the tank there


def test_valve_stuck_ignores_commands_and_raises_valve_fault() -> None:
    site = DemoSite(seed=1)
    run(site, 600)
    pos = site.heat_view().points["valve_position"]
    site.inject("valve-stuck")
    target = 0.0 if pos > 50 else 100.0
    site.heat_write("heat1", "valve_setpoint", target)
    run(site, 600)
    p = site.heat_view().points
    assert p["valve_setpoint"] == target and p["valve_position"] == pos and p["valve_fault"]
    site.clear("valve-stuck")
    run(site, 600)
    p = site.heat_view().points
    assert p["valve_position"] == target and not p["valve_fault"]


# ------------------------------------------------------------------ control writes
def test_chassis_power_limit_caps_input_and_bounds_are_enforced() -> None:
    site = DemoSite(full_load_config(), seed=1)
    run(site, 600)
    free = site.server_view("srv1").chassis_power_w
    limit = round(free * 0.6)
    site.set_power_limit("srv1", limit)
    run(site, 120)
    v = site.server_view("srv1")
    assert v.power_limit_w == limit and v.chassis_power_w <= limit + 0.5
    assert all(g.throttle_reasons & THR_SW_POWER for g in v.gpus)
    site.set_power_limit("srv1", None)
    run(site, 120)
    assert site.server_view("srv1").power_limit_w is None
    assert site.server_view("srv1").chassis_power_w > limit
    for bad in (v.power_limit_min_w - 1, v.power_limit_max_w + 1, float("nan")):
        with pytest.raises(ValueError):
            site.set_power_limit("srv1", bad)
    with pytest.raises(ValueError):
        site.set_power_limit("nope", 500)


def test_gpu_power_limit_on_servers_and_the_gpu_host() -> None:
    site = DemoSite(full_load_config(), seed=1)
    g = site.server_view("srv1").gpus[0]
    site.set_gpu_power_limit("srv1", 0, g.power_limit_min_w + 50)
    site.set_gpu_power_limit("gpuhost", 1, 150)
    run(site, 120)
    g0 = site.server_view("srv1").gpus[0]
    assert g0.power_limit_w == g.power_limit_min_w + 50 and g0.power_w <= g0.power_limit_w
    assert site.gpu_host_view().gpus[1].power_limit_w == 150
    assert site.gpu_host_view().gpus[1].power_w <= 150
    with pytest.raises(ValueError):
        site.set_gpu_power_limit("srv1", 0, g.power_limit_max_w + 1)
    with pytest.raises(ValueError):
        site.set_gpu_power_limit("srv1", 9, 200)
    with pytest.raises(ValueError):
        site.set_gpu_power_limit("gpuhost", 0, 10)


def test_outlet_commands() -> None:
    site = DemoSite(seed=1)
    site.set_outlet("pdu1", 1, "off")
    site.step(10)
    assert not site.server_view("srv1").powered and not site.pdu_view().outlets[0].on
    site.set_outlet("pdu1", 1, "on")
    site.step(10)
    assert site.server_view("srv1").powered
    site.set_outlet("pdu1", 3, "reboot")
    site.step(2)
    assert not site.server_view("srv3").powered
    site.step(10)
    assert site.server_view("srv3").powered
    for args in (("pdu1", 0, "on"), ("pdu1", 9, "on"), ("pdu1", 1, "explode"), ("pdu9", 1, "on")):
        with pytest.raises(ValueError):
            site.set_outlet(*args)


def test_ups_self_test_runs_and_passes() -> None:
    site = DemoSite(seed=1)
    site.ups_self_test("ups1")
    site.step(1)
    assert site.ups_view().self_test_result == "in_progress"
    assert "TestInProgress" in site.ups_view().alarms
    site.step(30)
    assert site.ups_view().self_test_result == "pass"
    with pytest.raises(ValueError):
        site.ups_self_test("ups9")
    site.inject("ups-on-battery")
    site.step(1)
    with pytest.raises(ValueError):
        site.ups_self_test("ups1")


def test_heat_writes_are_obeyed() -> None:
    site = DemoSite(full_load_config(), seed=1)
    run(site, 600)
    site.heat_write("heat1", "pump_on", False)
    run(site, 120)
    p = site.heat_view().points
    assert p["pump_on"] is False and p["flow"] == 0 and p["low_flow"] and not p["pump_fault"]
    site.heat_write("heat1", "pump_on", True)
    site.heat_write("heat1", "bypass_command", 100)
    run(site, 300)
    p = site.heat_view().points
    assert p["flow"] > 0 and p["bypass_command"] == 100 and p["bypass_position"] == 100
    assert p["dump_power"] > 0
    site.heat_write("heat1", "supply_setpoint", 42.5)
    site.heat_write("heat1", "tank_max_temp", 70)
    p = site.heat_view().points
    assert p["supply_setpoint"] == 42.5 and p["tank_max_temp"] == 70
    site.heat_write("heat1", "valve_setpoint", 37)
    run(site, 300)
    assert site.heat_view().points["valve_position"] == 37  # manual: the thermostat stays off


@pytest.mark.parametrize(("point", "value"), [
    ("valve_setpoint", -1), ("valve_setpoint", 101), ("bypass_command", 100.5),
    ("supply_setpoint", 29.9), ("supply_setpoint", 70.1), ("tank_max_temp", 39),
    ("tank_max_temp", 86), ("pump_on", 2), ("pump_on", "yes"), ("supply_setpoint", float("nan")),
    ("supply_setpoint", True), ("supply_temp", 40), ("flow", 3), ("no_such_point", 1),
])
def test_heat_write_rejects_bad_points_and_values(point: str, value: object) -> None:
    site = DemoSite()
    before = site.heat_view().points
    with pytest.raises(ValueError):
        site.heat_write("heat1", point, value)  # type: ignore[arg-type]
    assert site.heat_view().points == before


def test_heat_write_unknown_controller() -> None:
    with pytest.raises(ValueError):
        DemoSite().heat_write("heat9", "pump_on", True)


# ------------------------------------------------------------------ views and readings
def test_heat_points_match_the_profile_names() -> None:
    site = DemoSite()
    assert set(site.heat_view().points) == POINTS
    assert set(HEAT_WRITABLE) <= POINTS
    if not PROFILE.exists():  # the default heat-controller profile, when it has landed
        return
    pts = tomllib.loads(PROFILE.read_text())["points"]
    bits = {n for p in pts.values() for n in p.get("bits", {}).values()}
    served = {n for n, p in pts.items() if not p.get("bits") and not p.get("identity")}
    assert served | bits == POINTS
    for name, p in pts.items():
        if p.get("writable"):
            lo_hi = HEAT_WRITABLE[name]
            assert lo_hi is None or lo_hi == (p["min"], p["max"]), name


def test_views_stay_plausible_over_a_week(week: list[dict]) -> None:
    last_energy: dict[str, float] = {}
    for v in week:
        for sid in ("srv1", "srv2", "srv3"):
            s = v[sid]
            assert 10 < s.inlet_c < 35 and s.inlet_c <= s.exhaust_c < 60
            assert 0 < s.chassis_power_w < s.power_limit_max_w
            assert all(15 < c < 100 for c in s.cpu_temps_c)
            assert 0 <= s.liquid_fraction <= 1 and 0 < s.coolant_flow_lpm <= 9.0
            assert 15 < s.coolant_supply_c < 60 and 15 < s.coolant_return_c < 75
            for g in s.gpus:
                assert 15 < g.temperature_c < 90
                assert 0 <= g.power_w <= g.power_limit_w + 1e-9
                assert 0 <= g.utilization_pct <= 100 and 0 <= g.memory_used_b <= g.memory_total_b
            assert s.energy_kwh >= last_energy.get(sid, 0.0)
            last_energy[sid] = s.energy_kwh
        h = v["heat1"].points
        assert -25 < h["outdoor_temp"] < 35 and 17 < h["room_temp"] < 28
        assert 10 < h["tank_bottom_temp"] <= h["tank_mid_temp"] + 0.2
        assert h["tank_mid_temp"] <= h["tank_top_temp"] + 0.2 and h["tank_top_temp"] < 70
        assert 0 <= h["flow"] <= 9.0 and h["thermal_power"] > -200 and h["dump_power"] >= -1
        assert not any(h[a] for a in ("pump_fault", "overtemp", "low_flow", "sensor_fault",
                                      "valve_fault"))
        u = v["ups1"]
        assert not u.on_battery and 99 <= u.battery_charge_pct <= 100 and u.runtime_s > 300
        assert 0 < u.output_load_pct < 100
        for g in v["gpuhost"].gpus:
            assert 15 < g.temperature_c < 90 and 30 <= g.fan_pct <= 100
    powers = [v["srv1"].chassis_power_w for v in week]
    assert min(powers) < 250 and max(powers) > 600  # idle nights and busy jobs both happen


def test_readings_use_the_canonical_vocabulary() -> None:
    site = DemoSite(seed=1)
    run(site, HOUR)
    rs = SiteReadout(site).read(ts=1234.0)
    assert all(isinstance(r, Reading) and r.ts == 1234.0 for r in rs)
    devices = {r.device_id for r in rs}
    assert devices == {"srv1", "srv2", "srv3", "ups1", "pdu1", "heat1", "gpuhost"}
    for r in rs:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", r.channel), r
        expected = QUANTITY_UNITS[r.quantity]
        assert r.unit == expected or (r.quantity == "fan_speed" and r.unit == "%"), r
        assert r.value is None or isinstance(r.value, str) or math.isfinite(r.value), r
    keys = {r.series_key for r in rs}
    for k in ("srv1/inlet/temperature", "srv1/exhaust/temperature", "srv1/cpu1/temperature",
              "srv1/gpu0/power", "srv1/psu1/power", "srv1/supply/flow", "srv1/chassis/power", "srv1/chassis/energy",
              "ups1/battery/charge", "ups1/battery/runtime", "ups1/input/voltage",
              "ups1/output/power", "ups1/ups/state", "pdu1/total/power", "pdu1/outlet3/energy",
              "heat1/supply/temperature", "heat1/return/temperature", "heat1/tank_top/temperature",
              "heat1/loop/flow", "heat1/loop/thermal_power", "heat1/pump/state",
              "heat1/pump_fault/alarm", "ups1/time_on_battery/runtime", "ups1/battery/state",
              "gpuhost/gpu1/temperature"):
        assert k in keys, k
    # values come from the model state, as the devices encode it (0.1 °C registers)
    v = site.server_view("srv2")
    got = {r.series_key: r.value for r in rs}
    assert got["srv2/chassis/power"] == v.chassis_power_w
    assert got["heat1/tank_top/temperature"] == pytest.approx(site.heat_view().points["tank_top_temp"], abs=0.051)
    assert got["srv2/chassis/power_limit"] is None  # no limit set: the BMC says so, a series without a value
